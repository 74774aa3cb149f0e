import LedgerCore
import LedgerDomain
import LedgerStorage

/// One client's membership row.
public struct MembershipRow: Sendable, Equatable, Codable {
    public var clientId: String
    public var tier: String
    @NullEncoded public var tierSince: String?
    /// The tier the rules the projection was built with give (differs from `tier` when a
    /// reconcile or an evaluation is due).
    public var rulesTier: String
    public var pointsAvailable: Int64
    public var pointsExpiring90d: Int64
    public var pointsLifetime: Int64
    public var pointsQualifying: Int64
    public var netAssets: Money
    public var offboarded: Bool
    public var asOf: String
    /// The recorded tier changes, when asked for (one client); null otherwise.
    @NullEncoded public var tierHistory: [TierChange]?
}

/// One client × product eligibility row.
public struct EligibilityRow: Sendable, Equatable, Codable {
    public var clientId: String
    public var productId: String
    public var eligible: Bool
    public var failedChecks: [String]
    @NullEncoded public var riskValidUntil: String?
}

extension ProjectionEngine {
    /// Membership rows: one client, or every client (optionally of one tier).
    public func membership(client: String? = nil, tier: Tier? = nil, withHistory: Bool = false) throws -> [MembershipRow] {
        try requireTables()
        return try store.read {
            try store.membership(client: client, tier: tier?.rawValue).map { record in
                var row = MembershipRow(
                    clientId: record.client, tier: record.tier, tierSince: record.tierSince, rulesTier: record.rulesTier,
                    pointsAvailable: record.pointsAvailable, pointsExpiring90d: record.pointsExpiring90d,
                    pointsLifetime: record.pointsLifetime, pointsQualifying: record.pointsQualifying,
                    netAssets: Money(cents: record.netAssetsCents), offboarded: record.offboarded, asOf: record.asOf)
                if withHistory {
                    row.tierHistory = try store.tierHistory(client: record.client).compactMap { change in
                        guard let at = Timestamp(iso8601: change.at), let from = Tier(rawValue: change.from),
                            let to = Tier(rawValue: change.to), let reason = TierChangeReason(rawValue: change.reason)
                        else { return nil }
                        return TierChange(at: at, from: from, to: to, reason: reason)
                    }
                }
                return row
            }
        }
    }

    /// Eligibility rows of one client, or of one product. A risk assessment that has expired
    /// since the rows were written is reported as a failed check now.
    public func eligibility(client: String? = nil, product: String? = nil, now: Timestamp = .now()) throws -> [EligibilityRow] {
        try requireTables()
        let nowText = now.iso8601
        return try store.eligibility(client: client, product: client == nil ? product : nil).map { record in
            var failed = record.failedChecks
            if let validUntil = record.riskValidUntil, validUntil <= nowText,
                !failed.contains(EligibilityCheck.riskAssessmentExpired.rawValue)
            {
                failed.insert(EligibilityCheck.riskAssessmentExpired.rawValue, at: 0)
            }
            return EligibilityRow(
                clientId: record.client, productId: record.product, eligible: failed.isEmpty, failedChecks: failed,
                riskValidUntil: record.riskValidUntil)
        }
    }
}
