import Foundation
import Hummingbird
import LedgerApplication
import LedgerStorage

/// Checks a request's bearer token and role before anything else runs: the token list is
/// held in memory (re-read from the ledger's token table every `refreshInterval`), so a
/// request without the right role is refused without touching the ledger.
public final class AccessGate: @unchecked Sendable {
    private let lock = NSLock()
    private var tokens: [[UInt8]: AccessTokenRecord] = [:]
    let location: String

    init(location: String) {
        self.location = location
    }

    /// Re-reads the active tokens (hashes and roles) from the ledger's token table.
    public func reload() throws {
        let active = try AccessTokens.store(location, readOnly: true).active()
        var byHash: [[UInt8]: AccessTokenRecord] = [:]
        for (hash, token) in active { byHash[hash] = token }
        lock.lock()
        tokens = byHash
        lock.unlock()
    }

    /// The caller's role when it is one of `roles` (or admin); 401 without a valid token,
    /// 403 with a token whose role is not admitted.
    func authorize(_ request: Request, admits roles: Set<AccessRole>) throws -> AccessRole {
        guard let header = request.headers[.authorization] else {
            throw Problem.unauthorized("this route needs a bearer token (Authorization: Bearer …; make one with `clientledger tokens create --role R`)")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Problem.unauthorized("the Authorization header must be `Bearer <token>`")
        }
        let hash = AccessTokens.hash(String(parts[1]).trimmingCharacters(in: .whitespaces))
        lock.lock()
        let token = tokens[hash]
        lock.unlock()
        guard let token, let role = AccessRole(rawValue: token.role) else {
            throw Problem.unauthorized("the bearer token is unknown or revoked")
        }
        guard role == .admin || roles.contains(role) else {
            let needed = roles.map(\.rawValue).sorted().joined(separator: ", ")
            throw Problem.forbidden("token \(token.id) has role \(role.rawValue); this route needs one of: \(needed), admin")
        }
        return role
    }
}

extension AccessRole {
    /// Whether this role may see personal fields (names).
    var seesPersonalFields: Bool { self == .compliance || self == .admin }
}
