import LedgerCore
import LedgerSQLite
import LedgerStorage

/// Opens a ledger's event store from where it lives. This is the one place that knows the
/// storage adapters; everything else works with `EventStore` and `ProjectionStore`.
public enum LedgerStores {
    /// An existing ledger. Read-only opens never write anything (not even a migration).
    public static func open(_ location: String, readOnly: Bool, clock: any LedgerClock = SystemClock()) throws -> any EventStore {
        try SQLiteEventStore(path: location, readOnly: readOnly, clock: clock)
    }

    /// A new ledger, or the existing one upgraded to the current schema; and whether it is new.
    public static func create(_ location: String, clock: any LedgerClock = SystemClock()) throws -> (store: any EventStore, created: Bool) {
        let (store, created) = try SQLiteEventStore.create(at: location, clock: clock)
        return (store, created)
    }
}
