import LedgerDomain
import LedgerStore

/// One client's membership row.
public struct MembershipRow: Sendable, Equatable, Codable {
    public var client: String
    public var tier: String
    public var tierSince: String?
    /// The tier the rules the projection was built with give (differs from `tier` when a
    /// reconcile or an evaluation is due).
    public var rulesTier: String
    public var pointsAvailable: Int64
    public var pointsExpiring90d: Int64
    public var pointsLifetime: Int64
    public var pointsQualifying: Int64
    public var netAssets: String
    public var offboarded: Bool
    public var asOf: String
    public var tierHistory: [TierChange]?
}

/// One client × product eligibility row.
public struct EligibilityRow: Sendable, Equatable, Codable {
    public var client: String
    public var product: String
    public var eligible: Bool
    public var failedChecks: [String]
    public var riskValidUntil: String?
}

extension ProjectionEngine {
    /// Membership rows: one client, or every client (optionally of one tier).
    public func membership(client: String? = nil, tier: Tier? = nil, withHistory: Bool = false) throws -> [MembershipRow] {
        guard isInstalled else { throw ProjectionError.notBuilt }
        var sql = """
            SELECT client, tier, tier_since, rules_tier, points_available, points_expiring_90d, points_lifetime,
                   points_qualifying, net_assets_cents, offboarded, as_of FROM membership
            """
        var clauses: [String] = []
        var bindings: [String] = []
        if let client { clauses.append("client = ?"); bindings.append(client) }
        if let tier { clauses.append("tier = ?"); bindings.append(tier.rawValue) }
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        sql += " ORDER BY client"
        let statement = try log.connection.prepare(sql)
        for (index, value) in bindings.enumerated() { statement.bind(value, at: Int32(index + 1)) }
        var rows: [MembershipRow] = []
        while try statement.step() {
            rows.append(MembershipRow(
                client: statement.string(at: 0), tier: statement.string(at: 1), tierSince: statement.optionalString(at: 2),
                rulesTier: statement.string(at: 3), pointsAvailable: statement.int64(at: 4),
                pointsExpiring90d: statement.int64(at: 5), pointsLifetime: statement.int64(at: 6),
                pointsQualifying: statement.int64(at: 7), netAssets: Money(cents: statement.int64(at: 8)).decimalText,
                offboarded: statement.int64(at: 9) != 0, asOf: statement.string(at: 10)))
        }
        if withHistory {
            let history = try log.connection.prepare(
                "SELECT at, from_tier, to_tier, reason FROM membership_tier_history WHERE client = ? ORDER BY seq")
            for index in rows.indices {
                history.reset()
                history.bind(rows[index].client, at: 1)
                var changes: [TierChange] = []
                while try history.step() {
                    guard let at = Timestamp(iso8601: history.string(at: 0)), let from = Tier(rawValue: history.string(at: 1)),
                        let to = Tier(rawValue: history.string(at: 2)), let reason = TierChangeReason(rawValue: history.string(at: 3))
                    else { continue }
                    changes.append(TierChange(at: at, from: from, to: to, reason: reason))
                }
                rows[index].tierHistory = changes
            }
        }
        return rows
    }

    /// Eligibility rows of one client, or of one product. A risk assessment that has expired
    /// since the rows were written is reported as a failed check now.
    public func eligibility(client: String? = nil, product: String? = nil, now: Timestamp = .now()) throws -> [EligibilityRow] {
        guard isInstalled else { throw ProjectionError.notBuilt }
        var sql = "SELECT client, product, eligible, failed_checks, risk_valid_until FROM eligibility"
        var bindings: [String] = []
        if let client { sql += " WHERE client = ?"; bindings.append(client) }
        else if let product { sql += " WHERE product = ?"; bindings.append(product) }
        sql += " ORDER BY client, product"
        let statement = try log.connection.prepare(sql)
        for (index, value) in bindings.enumerated() { statement.bind(value, at: Int32(index + 1)) }
        var rows: [EligibilityRow] = []
        let nowText = now.iso8601
        while try statement.step() {
            var failed: [String] = []
            if case .array(let items)? = try? JSONParser.parse(statement.string(at: 3)) {
                for case .string(let item) in items { failed.append(item) }
            }
            let validUntil = statement.optionalString(at: 4)
            if let validUntil, validUntil <= nowText, !failed.contains(EligibilityCheck.riskAssessmentExpired.rawValue) {
                failed.insert(EligibilityCheck.riskAssessmentExpired.rawValue, at: 0)
            }
            rows.append(EligibilityRow(
                client: statement.string(at: 0), product: statement.string(at: 1), eligible: failed.isEmpty,
                failedChecks: failed, riskValidUntil: validUntil))
        }
        return rows
    }
}
