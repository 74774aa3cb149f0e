import LedgerCore
import LedgerStorage

/// The roles a bearer token of the HTTP service can carry. Each route names the roles it
/// admits (docs/service.md); `admin` is admitted everywhere.
public enum AccessRole: String, Sendable, CaseIterable, Codable {
    /// Posts events (order management, CRM, risk systems).
    case ingest
    /// Reads client state, membership, eligibility, the log and its live feed, without names.
    case read
    /// Everything `read` can, with personal fields, plus history and the audit.
    case compliance
    /// Retention metrics, eligibility by product, campaigns.
    case marketing
    /// Every route.
    case admin
}

/// Making, listing and revoking the service's bearer tokens; the same use case for the CLI
/// (`clientledger tokens …`) and for the server, which checks requests against the hashes.
public enum AccessTokens {
    /// A new token's text, shown once: `clt_` and 40 hex digits (160 random bits).
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<20).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "clt_" + bytes.hexString
    }

    /// The stored form of a token: SHA-256 of its text.
    public static func hash(_ secret: String) -> [UInt8] {
        HashChain.sha256(Array(secret.utf8))
    }

    /// The token store of the ledger at `location`.
    public static func store(_ location: String, readOnly: Bool, clock: any LedgerClock = SystemClock()) throws -> any AccessTokenStore {
        guard let store = try LedgerStores.open(location, readOnly: readOnly, clock: clock) as? any AccessTokenKeeping else {
            throw StorageError.backend("this ledger's backend keeps no access tokens")
        }
        return store.accessTokenStore()
    }

    /// Makes a token with `role`; returns its record and its text (never stored).
    public static func create(
        in store: any AccessTokenStore, role: AccessRole, label: String?, at moment: Timestamp
    ) throws -> (record: AccessTokenRecord, secret: String) {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<6).map { _ in UInt8.random(in: 0...255, using: &generator) }.hexString
        let secret = newSecret()
        let record = AccessTokenRecord(id: id, role: role.rawValue, label: label, createdAt: moment.iso8601)
        try store.add(record, hash: hash(secret))
        return (record, secret)
    }
}

/// A token as `tokens list --format json` shows it.
public struct AccessTokenView: Encodable, Sendable {
    public var id, role: String
    @NullEncoded public var label: String?
    public var createdAt: String
    @NullEncoded public var revokedAt: String?

    public init(_ record: AccessTokenRecord) {
        id = record.id
        role = record.role
        label = record.label
        createdAt = record.createdAt
        revokedAt = record.revokedAt
    }
}
