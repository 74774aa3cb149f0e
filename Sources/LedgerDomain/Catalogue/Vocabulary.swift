/// Client segment, from `ClientRegistered` and `ClientProfileUpdated`.
public enum Segment: String, CaseIterable, Sendable, Codable {
    case retail
    case highNetWorth = "high_net_worth"
    case institutional
}

/// Ordinary or professional investor (professional investors may buy any risk level).
public enum InvestorType: String, CaseIterable, Sendable, Codable {
    case ordinary
    case professional
}

/// The client's risk tolerance from a suitability assessment, C1 (lowest) to C5.
public enum RiskLevel: String, CaseIterable, Sendable, Comparable, Codable {
    case c1 = "C1", c2 = "C2", c3 = "C3", c4 = "C4", c5 = "C5"

    public var rank: Int { RiskLevel.allCases.firstIndex(of: self).map { $0 + 1 } ?? 0 }

    public static func < (lhs: RiskLevel, rhs: RiskLevel) -> Bool { lhs.rank < rhs.rank }
}

/// A product's risk level, R1 (lowest) to R5.
public enum ProductRisk: String, CaseIterable, Sendable, Comparable, Codable {
    case r1 = "R1", r2 = "R2", r3 = "R3", r4 = "R4", r5 = "R5"

    public var rank: Int { ProductRisk.allCases.firstIndex(of: self).map { $0 + 1 } ?? 0 }

    public static func < (lhs: ProductRisk, rhs: ProductRisk) -> Bool { lhs.rank < rhs.rank }
}

/// Where an interaction happened.
public enum Channel: String, CaseIterable, Sendable, Codable {
    case branch, phone, app, web, email, wechat, advisor
}

/// What an interaction was about.
public enum InteractionKind: String, CaseIterable, Sendable, Codable {
    case inquiry, visit, education, feedback, complaint
}

/// Membership tiers, lowest first.
public enum Tier: String, CaseIterable, Sendable, Comparable, Codable {
    case standard = "Standard"
    case silver = "Silver"
    case gold = "Gold"
    case platinum = "Platinum"
    case diamond = "Diamond"

    public var rank: Int { Tier.allCases.firstIndex(of: self) ?? 0 }

    public static func < (lhs: Tier, rhs: Tier) -> Bool { lhs.rank < rhs.rank }
}

/// Why points were awarded.
public enum AwardReason: String, CaseIterable, Sendable, Codable {
    case trade, purchase, deposit, survey, campaign
}

/// Why a tier changed.
public enum TierChangeReason: String, CaseIterable, Sendable, Codable {
    case qualified, downgraded, reevaluated
    /// Corrects the tier history after a late fact: the tier the client holds from this
    /// moment on, in world time, replacing recorded changes at or after it.
    case corrected
}

/// Which kind of decision a `PointsCorrected` corrects.
public enum CorrectedDecision: String, CaseIterable, Sendable, Codable {
    case pointsAwarded = "PointsAwarded"
    case pointsExpired = "PointsExpired"
}

/// Why points were corrected.
public enum CorrectionReason: String, CaseIterable, Sendable, Codable {
    /// A fact recorded after later facts changed what the decision should have been.
    case lateFact = "late_fact"
}

/// Why a purchase was flagged as a suitability breach (`SuitabilityBreachFlagged`).
public enum SuitabilityBreachReason: String, CaseIterable, Sendable, Codable {
    /// No risk assessment valid at the purchase (none, or expired).
    case noValidAssessment = "no_valid_assessment"
    /// The product's risk level is above what the client's level allows.
    case unsuitable
    /// A client in the lowest category bought above R1 (flagged even after a warning).
    case lowestCategory = "lowest_category"
    /// A product for professional investors bought by an ordinary investor.
    case notProfessional = "not_professional"
}
