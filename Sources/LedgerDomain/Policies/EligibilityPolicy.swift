import LedgerCore

/// Why a client is not eligible for a product: one value per failed check (SPEC §4).
public enum EligibilityCheck: String, CaseIterable, Sendable, Codable {
    /// No risk assessment at all.
    case noRiskAssessment = "no_risk_assessment"
    /// The latest risk assessment is older than its validity (730 days by default).
    case riskAssessmentExpired = "risk_assessment_expired"
    /// The product's risk level is above what the client's level allows (C_k → up to R_k).
    case unsuitable = "unsuitable"
    /// A client in the lowest category is never eligible above R1.
    case lowestCategory = "lowest_category"
    /// The product is for professional investors only.
    case professionalOnly = "professional_only"
    /// The client's tier is below the product's minimum tier.
    case tierTooLow = "tier_too_low"
    /// The client's net assets are below the product's minimum.
    case assetsTooLow = "assets_too_low"
    /// The client already holds the product.
    case alreadyHeld = "already_held"
    /// The client was offboarded.
    case offboarded = "offboarded"
}

/// Cross-sell eligibility with investor-suitability rules.
public enum EligibilityPolicy {
    /// The suitability matrix: C1 → R1 only, C2 → up to R2, … C5 → up to R5; professional
    /// investors may take any level. A client in the lowest category never goes above R1.
    public static func isSuitable(level: RiskLevel, professional: Bool, lowestCategory: Bool, product: ProductRisk) -> Bool {
        if lowestCategory, product > .r1 { return false }
        if professional { return true }
        return product.rank <= level.rank
    }

    /// Every check the client fails for the product at `asOf` (empty: eligible).
    public static func failedChecks(state: ClientState, product: Rules.Product, asOf: Timestamp, rules: Rules) -> [EligibilityCheck] {
        var failed: [EligibilityCheck] = []
        let professional = state.investorType == .professional
        if let risk = state.risk {
            if state.validRisk(at: asOf, validDays: rules.riskAssessmentValidDays) == nil { failed.append(.riskAssessmentExpired) }
            if risk.lowestCategory, product.riskLevel > .r1 {
                failed.append(.lowestCategory)
            } else if !isSuitable(level: risk.level, professional: professional, lowestCategory: risk.lowestCategory, product: product.riskLevel) {
                failed.append(.unsuitable)
            }
        } else {
            failed.append(.noRiskAssessment)
        }
        if product.professionalOnly, !professional { failed.append(.professionalOnly) }
        if let minTier = product.minTier, state.tier < minTier { failed.append(.tierTooLow) }
        if let minAssets = product.minAssets, state.netAssets < minAssets { failed.append(.assetsTooLow) }
        if state.holdings.contains(product.id) { failed.append(.alreadyHeld) }
        if let offboarded = state.offboardedAt, offboarded <= asOf { failed.append(.offboarded) }
        return failed
    }

    /// The day the client's risk assessment stops being valid (nil without one).
    public static func riskValidUntil(state: ClientState, rules: Rules) -> Timestamp? {
        state.risk.map { $0.assessedAt.adding(days: rules.riskAssessmentValidDays) }
    }
}

/// Lifecycle stages (SPEC §4), as of a date.
public enum LifecycleStage: String, CaseIterable, Sendable, Codable {
    case prospect, new, active
    case atRisk = "at_risk"
    case churned, offboarded

    /// The stage of a client as of `asOfDay` (days since 1970), given its first and last
    /// activity days up to that day.
    public static func stage(
        registeredDay: Int64?, firstActivityDay: Int64?, lastActivityDay: Int64?, offboardedDay: Int64?,
        asOfDay: Int64, rules: Rules
    ) -> LifecycleStage? {
        guard let registered = registeredDay, registered <= asOfDay else { return nil }
        if let offboarded = offboardedDay, offboarded <= asOfDay { return .offboarded }
        guard let first = firstActivityDay, let last = lastActivityDay, first <= asOfDay else { return .prospect }
        if asOfDay - first < rules.newWithinDays { return .new }
        let quiet = asOfDay - last
        if quiet < rules.activeWithinDays { return .active }
        if quiet < rules.churnedAfterDays { return .atRisk }
        return .churned
    }
}
