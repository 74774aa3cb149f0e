import LedgerStorage
import NIOCore
import PostgresNIO

/// `AccessTokenStore` in the ledger's PostgreSQL schema. The table is made on the first
/// token; reading a ledger without it finds no token.
final class PostgresAccessTokenStore: AccessTokenStore {
    let store: PostgresEventStore
    private var session: Session { store.session }

    init(store: PostgresEventStore) {
        self.store = store
    }

    private func installed() throws -> Bool {
        try PostgresMigrator.applied(on: session).contains(PostgresSchema.accessTokens.name)
    }

    func add(_ token: AccessTokenRecord, hash: [UInt8]) throws {
        guard !store.isReadOnly else { throw StorageError.readOnly(location: store.location) }
        try PostgresMigrator.migrate([PostgresSchema.accessTokens], on: session, at: store.clock.now())
        var binds = try PostgresBindings(token.id, ByteBuffer(bytes: hash), token.role, token.createdAt)
        binds.append(token.label)
        try session.execute(
            "INSERT INTO access_tokens(id, hash, role, created_at, label, revoked_at) VALUES ($1, $2, $3, $4, $5, NULL)", binds)
    }

    func list() throws -> [AccessTokenRecord] {
        guard try installed() else { return [] }
        return try session.query("SELECT id, role, label, created_at, revoked_at FROM access_tokens ORDER BY created_at, id").map { row in
            let c = row.makeRandomAccess()
            return AccessTokenRecord(
                id: try c.string(0), role: try c.string(1), label: try c.optionalString(2), createdAt: try c.string(3),
                revokedAt: try c.optionalString(4))
        }
    }

    func active() throws -> [(hash: [UInt8], token: AccessTokenRecord)] {
        guard try installed() else { return [] }
        return try session.query("SELECT hash, id, role, label, created_at FROM access_tokens WHERE revoked_at IS NULL").map { row in
            let c = row.makeRandomAccess()
            return (try c.bytes(0), AccessTokenRecord(
                id: try c.string(1), role: try c.string(2), label: try c.optionalString(3), createdAt: try c.string(4)))
        }
    }

    func revoke(id: String, at moment: String) throws -> Bool {
        guard !store.isReadOnly else { throw StorageError.readOnly(location: store.location) }
        guard try installed() else { return false }
        return try session.execute(
            "UPDATE access_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", try PostgresBindings(moment, id)) == 1
    }
}
