/// Bearer tokens of the HTTP service, kept in the ledger's own database.
///
/// Only a token's SHA-256 hash is stored: the token itself is shown once, when it is made,
/// and cannot be read back. A revoked token stays listed (with the moment it was revoked)
/// so that the record of who could write is never lost.
public protocol AccessTokenStore: AnyObject {
    /// Adds a token; its `id` is unique (a short public name to list and revoke it by).
    func add(_ token: AccessTokenRecord, hash: [UInt8]) throws
    /// Every token, revoked ones included, oldest first.
    func list() throws -> [AccessTokenRecord]
    /// Tokens that are not revoked, with their hashes: what a server checks requests against.
    func active() throws -> [(hash: [UInt8], token: AccessTokenRecord)]
    /// Marks a token revoked at `moment`; false when no token has that id or it was revoked already.
    func revoke(id: String, at moment: String) throws -> Bool
}

/// One token as stored (never the token's text).
public struct AccessTokenRecord: Sendable, Equatable {
    public var id: String
    public var role: String
    public var label: String?
    public var createdAt: String
    public var revokedAt: String?

    public init(id: String, role: String, label: String?, createdAt: String, revokedAt: String? = nil) {
        self.id = id
        self.role = role
        self.label = label
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}
