import LedgerCore

/// A database a ledger can live in, as the application opens it: one per storage adapter.
/// The embedded SQLite backend takes file paths; others take URLs (`postgres://…`).
public protocol LedgerBackend: Sendable {
    /// Whether `location` names a ledger of this backend.
    func accepts(_ location: String) -> Bool
    /// An existing ledger. Read-only opens never write anything (not even a migration).
    func open(_ location: String, readOnly: Bool, clock: any LedgerClock) throws -> any EventStore
    /// A new ledger, or the existing one upgraded to the current schema; and whether it is new.
    func create(_ location: String, clock: any LedgerClock) throws -> (store: any EventStore, created: Bool)
}

/// A store that also keeps the HTTP service's access tokens in its database.
public protocol AccessTokenKeeping {
    func accessTokenStore() -> any AccessTokenStore
}
