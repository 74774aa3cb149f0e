import LedgerCore
import LedgerDomain

/// What `client show` prints.
/// What `client show` prints for a moment before the client's registration.
public struct NoStateView: Encodable, Sendable {
    public var clientId: String
    public var registered = false
    public var version: Int64 = 0
    public var asOf: String

    public init(clientId: String, asOf: String) {
        self.clientId = clientId
        self.asOf = asOf
    }
}

public struct ClientView: Encodable, Sendable {
    public var registered = true
    public struct Lot: Encodable, Sendable {
        public var awardedAt, expiresAt: String
        public var points, remaining: Int64
        public var source: String
    }

    public var clientId: String
    /// The client's name: a personal field, null when the reader may not see it
    /// (`withoutPersonalFields()`) or once its personal data was erased (`forget`).
    @NullEncoded public var name: String?
    public var segment, investorType, branch: String
    /// When the client's personal data was erased (null: never).
    @NullEncoded public var personalDataErasedAt: String?
    /// The stream version of the last event folded.
    public var version: Int64
    @NullEncoded public var registeredAt: String?
    @NullEncoded public var offboardedAt: String?
    public var tier: String
    @NullEncoded public var tierSince: String?
    public var pointsAvailable, pointsLifetime, pointsQualifying, pointsRedeemed, pointsExpired, pointsAdjusted: Int64
    public var pointsExpiring90d: Int64
    public var netAssets: Money
    @NullEncoded public var riskLevel: String?
    @NullEncoded public var riskScore: Int64?
    @NullEncoded public var lowestCategory: Bool?
    @NullEncoded public var riskAssessedAt: String?
    public var riskAssessmentValid: Bool
    public var holdings: [String]
    public var lots: [Lot]
    public var asOf: String

    /// The client as folded up to `asOf`, with the figures the rules give at that moment.
    public init(_ state: ClientState, rules: Rules, asOf: Timestamp) {
        clientId = state.clientId
        name = PersonalField.isPlain(state.name) ? state.name : nil
        personalDataErasedAt = state.erasedAt?.iso8601
        segment = state.segment.rawValue
        investorType = state.investorType.rawValue
        branch = state.branch
        version = state.version
        registeredAt = state.registeredAt?.iso8601
        offboardedAt = state.offboardedAt?.iso8601
        tier = state.tier.rawValue
        tierSince = state.tierSince?.iso8601
        pointsAvailable = state.pointsAvailable(at: asOf)
        pointsLifetime = state.lifetimePoints
        pointsQualifying = state.qualifyingPointsSnapshot(at: asOf, windowDays: rules.qualifyingWindowDays)
        pointsRedeemed = state.redeemedPoints
        pointsExpired = state.expiredPoints
        pointsAdjusted = state.adjustedPoints
        pointsExpiring90d = state.pointsExpiring(after: asOf, withinDays: 90)
        netAssets = state.netAssets
        riskLevel = state.risk?.level.rawValue
        riskScore = state.risk?.score
        lowestCategory = state.risk?.lowestCategory
        riskAssessedAt = state.risk?.assessedAt.iso8601
        riskAssessmentValid = state.validRisk(at: asOf, validDays: rules.riskAssessmentValidDays) != nil
        holdings = state.holdings.sorted()
        lots = state.availableLots(at: asOf).map {
            Lot(awardedAt: $0.awardedAt.iso8601, expiresAt: $0.expiresAt.iso8601, points: $0.points, remaining: $0.remaining, source: $0.fromAward ? "award" : "adjustment")
        }
        self.asOf = asOf.iso8601
    }

    /// The view without personal fields (the name), for a reader whose role may not see them.
    public func withoutPersonalFields() -> ClientView {
        var view = self
        view.name = nil
        return view
    }

    var riskText: String {
        guard let riskLevel else { return "not assessed" }
        let lowest = lowestCategory == true ? " lowest category" : ""
        let validity = riskAssessmentValid ? "valid" : "expired"
        return "\(riskLevel) score \(riskScore ?? 0)\(lowest) assessed \(riskAssessedAt ?? "-") (\(validity))"
    }

    /// The view as lines for a person, every stored text escaped for display.
    public var text: String {
        let offboarded = offboardedAt.map { "   offboarded \($0)" } ?? ""
        var lines: [String] = [
            "client \(clientId.escapedForDisplay())  \(name?.escapedForDisplay() ?? (personalDataErasedAt == nil ? "-" : "(erased)"))  (\(segment), \(investorType), branch \(branch.escapedForDisplay()))",
            "  registered        \(registeredAt ?? "-")\(offboarded)",
            "  tier              \(tier) since \(tierSince ?? "-")",
            "  points available  \(pointsAvailable)   (lifetime \(pointsLifetime), qualifying \(pointsQualifying), redeemed \(pointsRedeemed), expired \(pointsExpired), adjusted \(pointsAdjusted))",
            "  expiring ≤ 90 d   \(pointsExpiring90d)",
            "  net assets        \(netAssets.decimalText) CNY",
            "  risk              \(riskText)",
            "  holdings          " + (holdings.isEmpty ? "none" : holdings.joined(separator: ", ").escapedForDisplay()),
            "  stream version    \(version)   as of \(asOf)",
        ]
        if !lots.isEmpty {
            lines.append("  open lots (oldest first):")
            lines.append(TextTable.render(["awardedAt", "expiresAt", "points", "remaining", "source"], lots.map {
                [$0.awardedAt, $0.expiresAt, String($0.points), String($0.remaining), $0.source]
            }).split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        }
        return lines.joined(separator: "\n")
    }
}
