import LedgerCLI

// The embedded program: ledgers in SQLite files. A postgres:// ledger is handed to
// clientledger-postgres (built beside this program).
ClientLedger.main()
