import Foundation
import LedgerDomain
import LedgerStore

/// Writes the rows of all three projections (and the fold snapshot) for one client.
final class RowWriter {
    private let connection: Connection
    private let rules: Rules
    private let asOf: Timestamp
    private let asOfText: String
    private let membership: Statement
    private let history: Statement
    private let retentionClient: Statement
    private let retentionMonth: Statement
    private let eligibility: Statement
    private let snapshot: Statement

    init(connection: Connection, suffix: String, rules: Rules, asOf: Timestamp) throws {
        self.connection = connection
        self.rules = rules
        self.asOf = asOf
        self.asOfText = asOf.iso8601
        membership = try connection.prepare(
            "INSERT OR REPLACE INTO membership\(suffix) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)")
        history = try connection.prepare("INSERT OR REPLACE INTO membership_tier_history\(suffix) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        retentionClient = try connection.prepare("INSERT OR REPLACE INTO retention_clients\(suffix) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        retentionMonth = try connection.prepare(
            "INSERT OR REPLACE INTO retention_months\(suffix) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)")
        eligibility = try connection.prepare("INSERT OR REPLACE INTO eligibility\(suffix) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        snapshot = try connection.prepare("INSERT OR REPLACE INTO projection_fold\(suffix) VALUES (?1, ?2, ?3)")
    }

    /// Writes (or replaces) a client's rows. `months` limits the retention months written to
    /// those a catch-up touched (nil: all); `historyFrom` skips tier changes already stored.
    func write(_ fold: ClientFold, months: Set<Int64>? = nil, historyFrom: Int = 0) throws {
        let state = fold.state
        guard state.isRegistered else { return }
        let client = state.clientId

        membership.bind(client, at: 1)
        membership.bind(state.tier.rawValue, at: 2)
        membership.bind(state.tierSince?.iso8601, at: 3)
        membership.bind(LoyaltyPolicy.tierUnderRules(state: state, asOf: asOf, rules: rules).rawValue, at: 4)
        membership.bind(state.pointsAvailable, at: 5)
        membership.bind(state.pointsExpiring(after: asOf, withinDays: 90), at: 6)
        membership.bind(state.lifetimePoints, at: 7)
        membership.bind(state.qualifyingPointsSnapshot(at: asOf, windowDays: rules.qualifyingWindowDays), at: 8)
        membership.bind(state.redeemedPoints, at: 9)
        membership.bind(state.expiredPoints, at: 10)
        membership.bind(state.adjustedPoints, at: 11)
        membership.bind(state.netAssets.cents, at: 12)
        membership.bind(state.isOffboarded ? 1 : 0, at: 13)
        membership.bind(asOfText, at: 14)
        try membership.run()

        for (seq, change) in state.tierHistory.enumerated() where seq >= historyFrom {
            history.bind(client, at: 1)
            history.bind(change.at.iso8601, at: 2)
            history.bind(change.from.rawValue, at: 3)
            history.bind(change.to.rawValue, at: 4)
            history.bind(change.reason.rawValue, at: 5)
            history.bind(seq + 1, at: 6)
            try history.run()
        }

        retentionClient.bind(client, at: 1)
        bindOptional(retentionClient, fold.registeredDay, at: 2)
        bindOptional(retentionClient, fold.firstActivityDay, at: 3)
        bindOptional(retentionClient, fold.lastActivityDay, at: 4)
        bindOptional(retentionClient, fold.offboardedDay, at: 5)
        retentionClient.bind("[" + fold.reactivationDays.map(String.init).joined(separator: ",") + "]", at: 6)
        try retentionClient.run()

        for (month, activity) in fold.months.sorted(by: { $0.key < $1.key }) where months?.contains(month) ?? true {
            let total = activity.total()
            retentionMonth.bind(client, at: 1)
            retentionMonth.bind(month, at: 2)
            retentionMonth.bind(Int64(activity.activeDays), at: 3)
            retentionMonth.bind(total.activities, at: 4)
            retentionMonth.bind(total.tradedCents, at: 5)
            retentionMonth.bind(total.purchasedCents, at: 6)
            retentionMonth.bind(total.depositedCents, at: 7)
            retentionMonth.bind(total.withdrawnCents, at: 8)
            retentionMonth.bind(total.promoters, at: 9)
            retentionMonth.bind(total.passives, at: 10)
            retentionMonth.bind(total.detractors, at: 11)
            var daily = BinaryWriter(capacity: 64)
            activity.encode(to: &daily)
            retentionMonth.bind(daily.bytes, at: 12)
            try retentionMonth.run()
        }

        let validUntil = EligibilityPolicy.riskValidUntil(state: state, rules: rules)?.iso8601
        for product in rules.products {
            let failed = EligibilityPolicy.failedChecks(state: state, product: product, asOf: asOf, rules: rules)
            eligibility.bind(client, at: 1)
            eligibility.bind(product.id, at: 2)
            eligibility.bind(failed.isEmpty ? 1 : 0, at: 3)
            eligibility.bind("[" + failed.map { "\"\($0.rawValue)\"" }.joined(separator: ",") + "]", at: 4)
            eligibility.bind(validUntil, at: 5)
            eligibility.bind(asOfText, at: 6)
            try eligibility.run()
        }

        snapshot.bind(client, at: 1)
        snapshot.bind(state.version, at: 2)
        // Spent lots older than the qualifying window matter to no row: the snapshot drops them.
        var kept = fold
        let latest = min(asOf, state.lastEventAt ?? asOf)
        kept.state.dropSpentLots(awardedAtOrBefore: latest.adding(days: -(rules.qualifyingWindowDays + 1)))
        snapshot.bind(kept.snapshot, at: 3)
        try snapshot.run()
    }

    private func bindOptional(_ statement: Statement, _ value: Int64?, at index: Int32) {
        if let value { statement.bind(value, at: index) } else { statement.bindNull(at: index) }
    }
}
