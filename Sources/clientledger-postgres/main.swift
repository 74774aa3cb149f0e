import LedgerApplication
import LedgerCLI
import LedgerPostgres

// The same commands as clientledger, with PostgreSQL ledgers (postgres:// URLs) as well as
// SQLite files.
LedgerStores.register(PostgresBackend())
ClientLedger.main()
