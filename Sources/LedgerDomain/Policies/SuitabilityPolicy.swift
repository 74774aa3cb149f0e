import LedgerCore

/// Suitability on every purchase (SPEC §3, docs/rules.md "Suitability flags"): a
/// `ProductPurchased` is a fact and is stored, but a purchase that does not match the
/// client's valid assessment is followed, in the same transaction, by
/// `SuitabilityBreachFlagged` — unless the client acknowledged a written warning for that
/// product before it (which never covers a client in the lowest category buying above R1).
public enum SuitabilityPolicy {
    /// The flag a purchase of `productId` at `moment` gets, judged on `state` (the client
    /// as of the purchase); nil when the purchase matches, or the product is not in the
    /// rules (its risk level is unknown).
    public static func breach(productId: String, at moment: Timestamp, state: ClientState, rules: Rules) -> EventPayload? {
        guard let product = rules.product(productId) else { return nil }
        let professional = state.investorType == .professional
        let valid = state.validRisk(at: moment, validDays: rules.riskAssessmentValidDays)
        // The lowest category is taken from the last assessment even when it has expired:
        // nothing since has said the client can bear a loss.
        let lowest = (valid ?? state.risk.flatMap { $0.assessedAt <= moment ? $0 : nil })?.lowestCategory ?? false
        let reason: SuitabilityBreachReason
        if lowest, product.riskLevel > .r1 {
            reason = .lowestCategory
        } else if valid == nil {
            reason = .noValidAssessment
        } else if product.professionalOnly, !professional {
            reason = .notProfessional
        } else if let valid, !EligibilityPolicy.isSuitable(level: valid.level, professional: professional, lowestCategory: lowest, product: product.riskLevel) {
            reason = .unsuitable
        } else {
            return nil
        }
        if reason != .lowestCategory, let acknowledged = state.acknowledgedWarnings[productId], acknowledged <= moment {
            return nil
        }
        return .suitabilityBreachFlagged(
            productId: productId, productRisk: product.riskLevel, clientLevel: valid?.level, reason: reason)
    }
}
