import LedgerCore
import LedgerDomain
import LedgerStorage

/// Turns one client's fold into the rows of all three projections (and its fold snapshot),
/// computed for one moment with one set of rules.
struct ClientRowsBuilder {
    let rules: Rules
    let asOf: Timestamp
    private let asOfText: String

    init(rules: Rules, asOf: Timestamp) {
        self.rules = rules
        self.asOf = asOf
        self.asOfText = asOf.iso8601
    }

    /// The client's rows; nil for a stream without a registration. `months` limits the
    /// retention months to those a catch-up touched (nil: all); `historyFrom` skips tier
    /// changes already stored (the rows given replace the stored ones from there on).
    func rows(for fold: ClientFold, months: Set<Int64>? = nil, historyFrom: Int = 0) -> ClientRows? {
        let state = fold.state
        guard state.isRegistered else { return nil }
        let client = state.clientId
        let membership = MembershipRecord(
            client: client, tier: state.tier.rawValue, tierSince: state.tierSince?.iso8601,
            rulesTier: LoyaltyPolicy.tierUnderRules(state: state, asOf: asOf, rules: rules).rawValue,
            pointsAvailable: state.pointsAvailable(at: asOf), pointsExpiring90d: state.pointsExpiring(after: asOf, withinDays: 90),
            pointsLifetime: state.lifetimePoints,
            pointsQualifying: state.qualifyingPointsSnapshot(at: asOf, windowDays: rules.qualifyingWindowDays),
            pointsRedeemed: state.redeemedPoints, pointsExpired: state.expiredPoints, pointsAdjusted: state.adjustedPoints,
            netAssetsCents: state.netAssets.cents, offboarded: state.isOffboarded, asOf: asOfText)
        let history = state.tierHistory.enumerated().filter { $0.offset >= historyFrom }.map { seq, change in
            TierChangeRecord(
                at: change.at.iso8601, from: change.from.rawValue, to: change.to.rawValue, reason: change.reason.rawValue,
                seq: seq + 1)
        }
        let retention = RetentionClientRecord(
            client: client, registeredDay: fold.registeredDay, firstActivityDay: fold.firstActivityDay,
            lastActivityDay: fold.lastActivityDay, offboardedDay: fold.offboardedDay, reactivationDays: fold.reactivationDays)
        let monthRows = fold.months.sorted(by: { $0.key < $1.key }).filter { months?.contains($0.key) ?? true }.map { month, activity in
            let total = activity.total()
            var daily = BinaryWriter(capacity: 64)
            activity.encode(to: &daily)
            return RetentionMonthRecord(
                month: month, activeDays: Int64(activity.activeDays), activities: total.activities,
                tradedCents: total.tradedCents, purchasedCents: total.purchasedCents, depositedCents: total.depositedCents,
                withdrawnCents: total.withdrawnCents, promoters: total.promoters, passives: total.passives,
                detractors: total.detractors, daily: daily.bytes)
        }
        let validUntil = EligibilityPolicy.riskValidUntil(state: state, rules: rules)?.iso8601
        let eligibility = rules.products.map { product in
            let failed = EligibilityPolicy.failedChecks(state: state, product: product, asOf: asOf, rules: rules)
            return EligibilityRecord(
                client: client, product: product.id, eligible: failed.isEmpty, failedChecks: failed.map(\.rawValue),
                riskValidUntil: validUntil)
        }
        // Spent lots older than the qualifying window matter to no row: the snapshot drops them.
        var kept = fold
        let latest = min(asOf, state.lastEventAt ?? asOf)
        kept.state.dropSpentLots(awardedAtOrBefore: latest.adding(days: -(rules.qualifyingWindowDays + 1)))
        let stored = kept.stored()
        return ClientRows(
            membership: membership, tierHistory: history, retention: retention, months: monthRows,
            eligibility: eligibility, foldVersion: state.version, foldSnapshot: stored.snapshot,
            foldPageCount: Int64(stored.pageCount), foldPages: stored.changedPages, tierHistoryFrom: Int64(historyFrom) + 1)
    }
}
