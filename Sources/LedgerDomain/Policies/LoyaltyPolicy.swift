import LedgerCore

/// One event the ledger is about to write for a client: the incoming fact or a decision.
public struct PlannedEvent: Sendable, Equatable {
    public var payload: EventPayload
    public var occurredAt: Timestamp
    /// False for the incoming fact, true for what the policies decided.
    public var isDecision: Bool

    public init(payload: EventPayload, occurredAt: Timestamp, isDecision: Bool) {
        self.payload = payload
        self.occurredAt = occurredAt
        self.isDecision = isDecision
    }
}

/// The loyalty policies of SPEC §4: they check a fact against the client's state and decide
/// the points and tier events that follow it, in the same transaction.
///
/// Order for one fact at time t: lots that expired by t are expired first (so expired points
/// can never be redeemed), then the fact, then its award, then an immediate tier upgrade.
public enum LoyaltyPolicy {
    /// Checks `fact` and returns it with the decisions it causes, applied to `state` in order.
    /// On error `state` is unchanged.
    public static func process(
        _ fact: EventPayload, at moment: Timestamp, state: inout ClientState, rules: Rules
    ) throws(FieldError) -> [PlannedEvent] {
        try check(fact, at: moment, state: state)
        var planned: [PlannedEvent] = []
        func record(_ payload: EventPayload, _ at: Timestamp, decision: Bool) {
            state.apply(payload, at: at)
            planned.append(PlannedEvent(payload: payload, occurredAt: at, isDecision: decision))
        }
        let expiring = state.isRegistered ? expiries(state: state, asOf: moment) : []
        // The balance check sees the balance after expiry (the lots that have ended by the
        // fact's moment do not count), and happens before any change. It is the very figure
        // every balance shown uses, so what is shown as available is what can be taken.
        let available = state.pointsAvailable(at: moment)
        switch fact {
        case .pointsRedeemed(let points, _):
            guard points <= available else {
                throw FieldError(field: "data.points", problem: "\(points) points requested, \(available) available")
            }
        case .pointsAdjusted(let points, _, _) where points < 0:
            guard -points <= available else {
                throw FieldError(field: "data.points", problem: "an adjustment of \(points) exceeds the \(available) points available")
            }
        default:
            break
        }
        for expired in expiring { record(expired.payload, expired.occurredAt, decision: true) }
        let multiplier = rules.level(state.tier).multiplierPermille
        record(fact, moment, decision: false)

        if let (base, reason) = basePoints(for: fact, at: moment, state: state, rules: rules), base > 0 {
            let points = min(base * multiplier / 1000, EventPayload.maximumPoints)
            if points > 0 {
                record(
                    .pointsAwarded(points: points, reason: reason, campaignId: nil, expiresAt: moment.adding(days: rules.lotLifetimeDays)),
                    moment, decision: true)
            }
        }
        if let upgrade = upgrade(state: &state, at: moment, rules: rules) {
            record(upgrade, moment, decision: true)
        }
        if case .productPurchased(let productId, _) = fact,
            let flag = SuitabilityPolicy.breach(productId: productId, at: moment, state: state, rules: rules) {
            record(flag, moment, decision: true)
        }
        return planned
    }

    /// Refusals that do not depend on the points balance.
    static func check(_ fact: EventPayload, at moment: Timestamp, state: ClientState) throws(FieldError) {
        if case .clientRegistered = fact {
            guard !state.isRegistered else {
                throw FieldError(field: "type", problem: "client \(state.clientId) is already registered")
            }
            return
        }
        guard let registeredAt = state.registeredAt else {
            throw FieldError(field: "clientId", problem: "no client \(state.clientId) is registered (its first event must be ClientRegistered)")
        }
        if let offboardedAt = state.offboardedAt {
            throw FieldError(field: "clientId", problem: "client \(state.clientId) was offboarded at \(offboardedAt.iso8601); no further events are accepted")
        }
        guard moment >= registeredAt else {
            throw FieldError(field: "occurredAt", problem: "\(moment.iso8601) is before the client's registration at \(registeredAt.iso8601)")
        }
        if case .productRedeemed(let productId) = fact, !state.holdings.contains(productId) {
            throw FieldError(field: "data.productId", problem: "client \(state.clientId) does not hold \(productId)")
        }
    }

    /// Points a fact earns before the tier multiplier, and why.
    static func basePoints(for fact: EventPayload, at moment: Timestamp, state: ClientState, rules: Rules) -> (Int64, AwardReason)? {
        switch fact {
        case .tradeExecuted(_, _, let notional): return (rules.trade.points(for: notional), .trade)
        case .productPurchased(_, let amount): return (rules.purchase.points(for: amount), .purchase)
        case .fundsDeposited(let amount): return (rules.deposit.points(for: amount), .deposit)
        case .surveyAnswered:
            let earned = state.surveyAwardsByQuarter[ClientState.quarter(of: moment)] ?? 0
            return earned < rules.surveysPerQuarter ? (rules.surveyPoints, .survey) : nil
        default: return nil
        }
    }

    /// `TierChanged(qualified)` when the client now qualifies above its tier.
    static func upgrade(state: inout ClientState, at moment: Timestamp, rules: Rules) -> EventPayload? {
        guard state.isRegistered, !state.isOffboarded else { return nil }
        let points = state.qualifyingPoints(at: moment, windowDays: rules.qualifyingWindowDays)
        let qualified = rules.qualifyingTier(points: points, assets: state.netAssets)
        guard qualified > state.tier else { return nil }
        return .tierChanged(from: state.tier, to: qualified, reason: .qualified)
    }

    /// `PointsExpired` for every lot with points left whose end is at or before `asOf`,
    /// oldest first; each happens at its lot's end.
    public static func expiries(state: ClientState, asOf: Timestamp) -> [PlannedEvent] {
        state.lotsExpired(at: asOf).map {
            PlannedEvent(payload: .pointsExpired(points: $0.remaining, lotAwardedAt: $0.awardedAt), occurredAt: $0.expiresAt, isDecision: true)
        }
    }

    /// The periodic expiry (`points expire`): what `expiries` gives, except for an offboarded
    /// client. Offboarding closes the client's stream: no fact is accepted after it, and no
    /// job writes a decision after it either (as for tiers). The lots that had ended by the
    /// offboarding were expired before it (the lazy expiry runs before every fact, the
    /// offboarding included); what is left can never be redeemed, and is shown as no points
    /// available.
    public static func periodicExpiries(state: ClientState, asOf: Timestamp) -> [PlannedEvent] {
        guard state.isRegistered, !state.isOffboarded else { return [] }
        return expiries(state: state, asOf: asOf)
    }

    /// The periodic evaluation: a client whose tier was reached more than the guarantee ago
    /// and who now qualifies lower moves down to the tier it qualifies for.
    public static func downgrade(state: ClientState, asOf: Timestamp, rules: Rules) -> PlannedEvent? {
        guard state.isRegistered, !state.isOffboarded, let since = state.tierSince, state.tier > .standard else { return nil }
        guard since.adding(days: rules.tierGuaranteeDays) < asOf else { return nil }
        let points = state.qualifyingPointsSnapshot(at: asOf, windowDays: rules.qualifyingWindowDays)
        let qualified = rules.qualifyingTier(points: points, assets: state.netAssets)
        guard qualified < state.tier else { return nil }
        return PlannedEvent(payload: .tierChanged(from: state.tier, to: qualified, reason: .downgraded), occurredAt: asOf, isDecision: true)
    }

    /// The tier a client holds under `rules` at `asOf`: the tier it qualifies for, except
    /// that a tier still inside its guarantee is not taken away (downgrades wait for it).
    public static func tierUnderRules(state: ClientState, asOf: Timestamp, rules: Rules) -> Tier {
        let points = state.qualifyingPointsSnapshot(at: asOf, windowDays: rules.qualifyingWindowDays)
        let qualified = rules.qualifyingTier(points: points, assets: state.netAssets)
        if qualified < state.tier, let since = state.tierSince, since.adding(days: rules.tierGuaranteeDays) >= asOf {
            return state.tier
        }
        return qualified
    }

    /// After a rules change: `TierChanged(reevaluated)` when the tier under the rules in
    /// force differs from the recorded one.
    public static func reevaluation(state: ClientState, asOf: Timestamp, rules: Rules) -> PlannedEvent? {
        guard state.isRegistered, !state.isOffboarded else { return nil }
        let tier = tierUnderRules(state: state, asOf: asOf, rules: rules)
        guard tier != state.tier else { return nil }
        return PlannedEvent(payload: .tierChanged(from: state.tier, to: tier, reason: .reevaluated), occurredAt: asOf, isDecision: true)
    }
}
