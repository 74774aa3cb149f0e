import LedgerCore
import LedgerStorage

/// The table of the HTTP service's bearer tokens (hashes only), in the ledger's file.
enum AccessTokenSchema {
    static let migration = Migration(
        name: "0201_access_tokens",
        sql: """
            CREATE TABLE access_tokens(
                id TEXT PRIMARY KEY,
                hash BLOB NOT NULL UNIQUE,
                role TEXT NOT NULL,
                label TEXT,
                created_at TEXT NOT NULL,
                revoked_at TEXT)
            """)

    static let migrations = [migration]
}

/// `AccessTokenStore` on the event store's connection. The table is created on the first
/// write (`tokens create`); reading a ledger without it finds no token.
final class SQLiteAccessTokenStore: AccessTokenStore {
    let store: SQLiteEventStore
    private var connection: Connection { store.connection }

    init(store: SQLiteEventStore) {
        self.store = store
    }

    private func installed() throws -> Bool {
        try store.mapped { try connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE name = 'access_tokens'") == 1 }
    }

    func add(_ token: AccessTokenRecord, hash: [UInt8]) throws {
        guard !store.isReadOnly else { throw StorageError.readOnly(location: store.path) }
        try store.mapped {
            try Migrator(AccessTokenSchema.migrations).migrate(connection, at: store.clock.now())
            try connection.write {
                let insert = try connection.prepare(
                    "INSERT INTO access_tokens(id, hash, role, label, created_at, revoked_at) VALUES(?, ?, ?, ?, ?, NULL)")
                insert.bind(token.id, at: 1)
                insert.bind(hash, at: 2)
                insert.bind(token.role, at: 3)
                insert.bind(token.label, at: 4)
                insert.bind(token.createdAt, at: 5)
                try insert.run()
            }
        }
    }

    func list() throws -> [AccessTokenRecord] {
        guard try installed() else { return [] }
        return try store.mapped {
            let statement = try connection.prepare(
                "SELECT id, role, label, created_at, revoked_at FROM access_tokens ORDER BY created_at, id")
            var tokens: [AccessTokenRecord] = []
            while try statement.step() {
                tokens.append(AccessTokenRecord(
                    id: statement.string(at: 0), role: statement.string(at: 1), label: statement.optionalString(at: 2),
                    createdAt: statement.string(at: 3), revokedAt: statement.optionalString(at: 4)))
            }
            return tokens
        }
    }

    func active() throws -> [(hash: [UInt8], token: AccessTokenRecord)] {
        guard try installed() else { return [] }
        return try store.mapped {
            let statement = try connection.prepare(
                "SELECT hash, id, role, label, created_at FROM access_tokens WHERE revoked_at IS NULL")
            var tokens: [(hash: [UInt8], token: AccessTokenRecord)] = []
            while try statement.step() {
                tokens.append((statement.blob(at: 0), AccessTokenRecord(
                    id: statement.string(at: 1), role: statement.string(at: 2), label: statement.optionalString(at: 3),
                    createdAt: statement.string(at: 4))))
            }
            return tokens
        }
    }

    func revoke(id: String, at moment: String) throws -> Bool {
        guard !store.isReadOnly else { throw StorageError.readOnly(location: store.path) }
        guard try installed() else { return false }
        return try store.mapped {
            try connection.write {
                let update = try connection.prepare("UPDATE access_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                update.bind(moment, at: 1)
                update.bind(id, at: 2)
                try update.run()
                return try connection.scalarInt("SELECT changes()") == 1
            }
        }
    }
}

extension SQLiteEventStore: AccessTokenKeeping {
    /// The HTTP service's tokens kept in this ledger's file.
    public func accessTokenStore() -> any AccessTokenStore {
        SQLiteAccessTokenStore(store: self)
    }
}
