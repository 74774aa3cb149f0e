import Foundation
import LedgerCore
import LedgerSQLite
import LedgerStorage

/// Opens a ledger's event store from where it lives. This is the one place that knows the
/// storage backends; everything else works with `EventStore` and `ProjectionStore`.
///
/// A file path is a SQLite ledger (the embedded default). Other backends are registered by
/// the programs that link them (`clientledger-postgres` and `clientledger-server` register
/// PostgreSQL), so that a program without them does not build their dependencies.
public enum LedgerStores {
    private static let registry = BackendRegistry()

    /// Makes `backend` open the locations it accepts (before SQLite, which takes the rest).
    public static func register(_ backend: any LedgerBackend) {
        registry.add(backend)
    }

    /// Whether `location` is a PostgreSQL URL (`postgres://` or `postgresql://`).
    public static func isPostgresURL(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    /// Whether some backend of this program opens `location`.
    public static func accepts(_ location: String) -> Bool {
        !isPostgresURL(location) || registry.backend(for: location) != nil
    }

    /// An existing ledger. Read-only opens never write anything (not even a migration).
    public static func open(_ location: String, readOnly: Bool, clock: any LedgerClock = SystemClock()) throws -> any EventStore {
        if let backend = try backend(for: location) { return try backend.open(location, readOnly: readOnly, clock: clock) }
        return try SQLiteEventStore(path: location, readOnly: readOnly, clock: clock)
    }

    /// A new ledger, or the existing one upgraded to the current schema; and whether it is new.
    public static func create(_ location: String, clock: any LedgerClock = SystemClock()) throws -> (store: any EventStore, created: Bool) {
        if let backend = try backend(for: location) { return try backend.create(location, clock: clock) }
        let (store, created) = try SQLiteEventStore.create(at: location, clock: clock)
        return (store, created)
    }

    private static func backend(for location: String) throws -> (any LedgerBackend)? {
        if let backend = registry.backend(for: location) { return backend }
        if isPostgresURL(location) {
            throw StorageError.cannotOpen(
                location: location, reason: "this program has no PostgreSQL backend (clientledger-postgres and clientledger-server have it)")
        }
        return nil
    }
}

/// The registered backends, behind a lock (programs register theirs before any command runs).
private final class BackendRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var backends: [any LedgerBackend] = []

    func add(_ backend: any LedgerBackend) {
        lock.lock()
        defer { lock.unlock() }
        backends.append(backend)
    }

    func backend(for location: String) -> (any LedgerBackend)? {
        lock.lock()
        defer { lock.unlock() }
        return backends.first { $0.accepts(location) }
    }
}
