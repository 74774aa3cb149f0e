import LedgerCore

/// One named, ordered schema change. A shipped migration is never edited: a change to the
/// schema is a new migration at the end of the list.
public struct Migration: Sendable {
    public let name: String
    /// The SQL it runs, or (for a change SQL alone cannot make) the code it runs.
    public let sql: String
    let body: (@Sendable (Connection) throws -> Void)?

    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
        self.body = nil
    }

    /// A migration that runs code inside its transaction (after `sql`).
    init(name: String, sql: String = "", body: @escaping @Sendable (Connection) throws -> Void) {
        self.name = name
        self.sql = sql
        self.body = body
    }
}

/// Applies migrations in order, each in its own transaction, and records them in
/// `schema_migrations` so that every database says which schema it has.
public struct Migrator: Sendable {
    public let migrations: [Migration]

    public init(_ migrations: [Migration]) {
        self.migrations = migrations
    }

    /// Names of the migrations already recorded in the database, in the order applied.
    public func applied(in connection: Connection) throws -> [String] {
        let exists = try connection.scalarInt(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
        guard exists > 0 else { return [] }
        let statement = try connection.prepare("SELECT name FROM schema_migrations ORDER BY id")
        var names: [String] = []
        while try statement.step() { names.append(statement.string(at: 0)) }
        return names
    }

    /// Migrations not yet applied.
    public func pending(in connection: Connection) throws -> [Migration] {
        let done = Set(try applied(in: connection))
        return migrations.filter { !done.contains($0.name) }
    }

    /// Applies every pending migration; returns the names applied now.
    @discardableResult
    public func migrate(_ connection: Connection, at moment: Timestamp) throws -> [String] {
        try connection.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations(
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                applied_at TEXT NOT NULL)
            """)
        var appliedNow: [String] = []
        for migration in try pending(in: connection) {
            try connection.write {
                // Re-check inside the lock: another process may have migrated meanwhile.
                let already = try connection.scalarInt(
                    "SELECT count(*) FROM schema_migrations WHERE name = ?", [migration.name])
                guard already == 0 else { return }
                if !migration.sql.isEmpty { try connection.execute(migration.sql) }
                try migration.body?(connection)
                let record = try connection.prepare("INSERT INTO schema_migrations(name, applied_at) VALUES(?, ?)")
                record.bind(migration.name, at: 1)
                record.bind(moment.iso8601, at: 2)
                try record.run()
                appliedNow.append(migration.name)
            }
        }
        return appliedNow
    }
}
