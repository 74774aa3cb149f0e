import LedgerCore
import LedgerDomain
import LedgerStorage

// The insight projection (docs/insight.md): churn risk that explains itself, service quality
// by channel, branch and segment, and reassessment reminders. Everything here is computed
// as of a day from the fold snapshots and the retention months, so it is a pure function of
// the log and that day.

/// What the insight figures need of one client.
public struct InsightClient: Sendable {
    public var clientId: String
    public var registeredDay: Int64?
    public var offboardedDay: Int64?
    public var segment: Segment
    public var branch: String
    public var investorType: InvestorType
    public var risk: RiskAssessment?
    public var holdings: Set<String>
    /// Days with activity or survey answers, by absolute day number, in day order.
    public var days: [(day: Int64, activity: DayActivity)]
    public var interactions: [InteractionEntry]
    public var surveys: [SurveyEntry]

    /// From a fold (its months included).
    public init(fold: ClientFold) {
        clientId = fold.state.clientId
        registeredDay = fold.registeredDay
        offboardedDay = fold.offboardedDay
        segment = fold.state.segment
        branch = fold.state.branch
        investorType = fold.state.investorType
        risk = fold.state.risk
        holdings = fold.state.holdings
        interactions = fold.interactions
        surveys = fold.surveys
        days = []
        for month in fold.months.keys.sorted() { append(month: month, fold.months[month] ?? MonthActivity()) }
    }

    mutating func append(month: Int64, _ activity: MonthActivity) {
        let first = Timestamp.days(fromCivil: month / 12, month % 12 + 1, 1)
        for day in activity.days { days.append((first + day.day - 1, day)) }
    }

    /// Activity days (with at least one activity) in `range`.
    func activeDays(in range: ClosedRange<Int64>) -> [Int64] {
        days.lazy.filter { range.contains($0.day) && $0.activity.activities > 0 }.map(\.day)
    }

    /// The last day with activity on or before `day`.
    public func lastActivity(onOrBefore day: Int64) -> Int64? {
        days.last { $0.day <= day && $0.activity.activities > 0 }?.day
    }

    func total(in range: ClosedRange<Int64>) -> DayActivity {
        var sum = DayActivity(day: 0)
        for entry in days where range.contains(entry.day) {
            sum.activities += entry.activity.activities
            sum.depositedCents += entry.activity.depositedCents
            sum.withdrawnCents += entry.activity.withdrawnCents
        }
        return sum
    }
}

// MARK: - Churn risk

/// One factor of a client's churn-risk score.
public struct ChurnFactor: Sendable, Equatable, Codable {
    /// `recency`, `activityDrop`, `complaints`, `nps`, `netOutflow`.
    public var factor: String
    /// Its weight in the rules (the most it can add).
    public var weight: Int64
    /// How much of the weight applies, 0 to 1 (whole thousandths).
    public var share: Double
    /// What it adds to the score: weight × share, to a tenth.
    public var contribution: Double
    /// What was observed, in words.
    public var detail: String
}

/// A client's churn-risk score as of a day.
public struct ChurnScore: Sendable, Equatable, Codable {
    public var clientId: String
    public var asOf: String
    /// 0 to 100.
    public var score: Int64
    /// `low`, `medium` or `high`.
    public var band: String
    @NullEncoded public var lastActivity: String?
    public var idleDays: Int64
    public var factors: [ChurnFactor]
}

public enum ChurnBand: String, CaseIterable, Sendable, Codable {
    case low, medium, high
}

/// The churn-risk formula (docs/insight.md), a pure function of a client's history and a day.
public struct ChurnScorer: Sendable {
    public let rules: ChurnRiskRules

    public init(rules: ChurnRiskRules) {
        self.rules = rules
    }

    /// Recent window of the activity drop and the net outflow, and the baseline before it.
    public static let recentDays: Int64 = 90
    public static let baselineDays: Int64 = 275
    public static let complaintDays: Int64 = 180
    /// The trailing window of the usual gap.
    public static let gapWindowDays: Int64 = 365

    public func band(_ score: Int64) -> ChurnBand {
        score >= rules.highFrom ? .high : score >= rules.mediumFrom ? .medium : .low
    }

    /// `numerator / denominator` in thousandths, from 0 to 1000, rounded down.
    static func permille(_ numerator: Int64, _ denominator: Int64) -> Int64 {
        guard denominator > 0, numerator > 0 else { return 0 }
        guard numerator < denominator else { return 1000 }
        return Int64(Int128(numerator) * 1000 / Int128(denominator))
    }

    /// Share (thousandths) of the recency factor: 0 up to the usual gap, 1000 from
    /// `fullFromGaps` usual gaps, linear between.
    public func recencyShare(daysSince: Int64, usualGap: Int64) -> Int64 {
        let gap = max(1, usualGap)
        guard daysSince > gap else { return 0 }
        return Self.permille(daysSince - gap, gap * (rules.recencyFullFromGaps - 1))
    }

    /// Share of the activity drop: 1 − recent / expected, where expected is the baseline's
    /// activities scaled to the recent window; 0 without a baseline.
    public func activityDropShare(recent: Int64, baseline: Int64) -> Int64 {
        guard baseline > 0 else { return 0 }
        let expected = baseline * Self.recentDays  // × 1/275, on both sides
        return 1000 - Self.permille(recent * Self.baselineDays, expected)
    }

    public func complaintsShare(_ complaints: Int64) -> Int64 {
        Self.permille(complaints, rules.complaintsFullFrom)
    }

    /// Share of the last NPS answer (nil: none).
    public func npsShare(_ nps: Int64?) -> Int64 {
        guard let nps else { return rules.npsNonePercent * 10 }
        if nps >= 9 { return 0 }
        return (nps >= 7 ? rules.npsPassivePercent : rules.npsDetractorPercent) * 10
    }

    /// Share of the net outflow: what left net in the recent window against the net assets
    /// at its start (1 when there were none and money left).
    public func netOutflowShare(outflowCents: Int64, assetsBeforeCents: Int64) -> Int64 {
        guard outflowCents > 0 else { return 0 }
        guard assetsBeforeCents > 0 else { return 1000 }
        return Self.permille(outflowCents, assetsBeforeCents)
    }

    /// The client's score as of `day` (inclusive), or nil when the client is not scored then:
    /// not registered yet, offboarded, or without any activity yet.
    public func score(_ client: InsightClient, asOfDay day: Int64) -> ChurnScore? {
        guard let registered = client.registeredDay, registered <= day else { return nil }
        if let offboarded = client.offboardedDay, offboarded <= day { return nil }
        guard let last = client.lastActivity(onOrBefore: day) else { return nil }
        var factors: [ChurnFactor] = []
        var tenths: Int64 = 0
        func add(_ name: String, _ weight: Int64, _ share: Int64, _ detail: String) {
            let contribution = weight * share / 100
            tenths += contribution
            factors.append(ChurnFactor(
                factor: name, weight: weight, share: Double(share) / 1000, contribution: Double(contribution) / 10, detail: detail))
        }

        let daysSince = day - last
        let window = client.activeDays(in: (day - Self.gapWindowDays + 1)...day)
        let usualGap: Int64
        let gapNote: String
        if window.count >= 2, let first = window.first, let lastInWindow = window.last {
            usualGap = max(1, (lastInWindow - first) / Int64(window.count - 1))
            gapNote = "usual gap \(usualGap) days (\(window.count) active days in 365)"
        } else {
            usualGap = rules.recencyDefaultGapDays
            gapNote = "usual gap taken as \(usualGap) days (fewer than 2 active days in 365)"
        }
        add("recency", rules.recencyWeight, recencyShare(daysSince: daysSince, usualGap: usualGap),
            "\(daysSince) days since the last activity; \(gapNote)")

        let recent = client.total(in: (day - Self.recentDays + 1)...day)
        let baseline = client.total(in: (day - Self.recentDays - Self.baselineDays + 1)...(day - Self.recentDays))
        add("activityDrop", rules.activityDropWeight, activityDropShare(recent: recent.activities, baseline: baseline.activities),
            "\(recent.activities) activities in the last 90 days, \(baseline.activities) in the 275 days before")

        let complaints = Int64(client.interactions.filter {
            $0.kind == .complaint && $0.day <= day && $0.day > day - Self.complaintDays
        }.count)
        add("complaints", rules.complaintsWeight, complaintsShare(complaints), "\(complaints) complaints in the last 180 days")

        let lastAnswer = client.surveys.enumerated().filter { $0.element.day <= day }
            .max { ($0.element.day, $0.offset) < ($1.element.day, $1.offset) }?.element
        let npsDetail = lastAnswer.map {
            "last NPS answer \($0.nps) (\($0.nps >= 9 ? "promoter" : $0.nps >= 7 ? "passive" : "detractor")) on \(Timestamp.dayText($0.day))"
        } ?? "no NPS answer"
        add("nps", rules.npsWeight, npsShare(lastAnswer?.nps), npsDetail)

        let before = client.total(in: Int64.min / 2...(day - Self.recentDays))
        let assetsBefore = before.depositedCents - before.withdrawnCents
        let outflow = recent.withdrawnCents - recent.depositedCents
        add("netOutflow", rules.netOutflowWeight, netOutflowShare(outflowCents: outflow, assetsBeforeCents: assetsBefore),
            "net \(outflow > 0 ? "outflow" : "inflow") \(Money(cents: abs(outflow)).decimalText) in the last 90 days; net assets \(Money(cents: assetsBefore).decimalText) 90 days ago")

        let score = min(100, (tenths + 5) / 10)
        return ChurnScore(
            clientId: client.clientId, asOf: Timestamp.dayText(day), score: score, band: band(score).rawValue,
            lastActivity: Timestamp.dayText(last), idleDays: daysSince, factors: factors)
    }

    /// Scores of every scored client, highest first (ties by client id).
    public func scores(_ clients: [InsightClient], asOfDay day: Int64) -> [ChurnScore] {
        clients.compactMap { score($0, asOfDay: day) }.sorted { ($1.score, $0.clientId) < ($0.score, $1.clientId) }
    }
}

extension Timestamp {
    /// `YYYY-MM-DD` of a day number.
    public static func dayText(_ day: Int64) -> String {
        let (year, month, dayOfMonth) = civil(fromDays: day)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(dayOfMonth))"
    }
}

// MARK: - Backtest

/// How one ranking (the score, or recency alone) separated the clients who churned.
public struct RankingQuality: Sendable, Equatable, Codable {
    /// Area under the ROC curve: the chance that a client who churned ranks above one who
    /// did not (ties count half); null without both kinds of client.
    @NullEncoded public var auc: Double?
    /// Churn rate of the top tenth of the ranking over the churn rate of all; null without churn.
    @NullEncoded public var topDecileLift: Double?
}

public struct BacktestResult: Sendable, Equatable, Codable {
    public var asOf: String
    public var horizonDays: Int64
    /// The last day of the horizon.
    public var horizonEnd: String
    /// Clients scored as of `asOf` that were not churned then.
    public var clients: Int
    /// Of them, clients who became churned within the horizon.
    public var churned: Int
    public var score: RankingQuality
    public var recency: RankingQuality
    /// `score`, `recency` or `tie` (by AUC); null when there is nothing to compare.
    @NullEncoded public var better: String?
    public var statement: String
}

public enum Backtest {
    /// AUC of `values` (higher = riskier) for the positives, ties counted half.
    public static func auc(_ items: [(value: Double, positive: Bool)]) -> Double? {
        let positives = items.filter(\.positive).count
        let negatives = items.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        // Rank sum with average ranks for ties (Mann–Whitney U).
        let sorted = items.sorted { $0.value < $1.value }
        var rankSum = 0.0
        var index = 0
        while index < sorted.count {
            var end = index
            while end + 1 < sorted.count, sorted[end + 1].value == sorted[index].value { end += 1 }
            let rank = Double(index + end + 2) / 2
            for k in index...end where sorted[k].positive { rankSum += rank }
            index = end + 1
        }
        let u = rankSum - Double(positives) * Double(positives + 1) / 2
        return u / (Double(positives) * Double(negatives))
    }

    /// Lift of the top tenth (at least one client) of `items` already in ranking order.
    public static func topDecileLift(_ ranked: [Bool]) -> Double? {
        let positives = ranked.filter { $0 }.count
        guard positives > 0 else { return nil }
        let top = max(1, (ranked.count + 9) / 10)
        let topRate = Double(ranked.prefix(top).filter { $0 }.count) / Double(top)
        return topRate / (Double(positives) / Double(ranked.count))
    }

    /// Whether the client became churned (no activity for `churnedAfterDays`) in (day, day + horizon].
    public static func churned(_ client: InsightClient, after day: Int64, horizon: Int64, churnedAfterDays: Int64) -> Bool {
        guard var last = client.lastActivity(onOrBefore: day) else { return false }
        let end = day + horizon
        for active in client.activeDays(in: (day + 1)...end) {
            if active - last >= churnedAfterDays { return true }
            last = active
        }
        return last + churnedAfterDays <= end
    }

    public static func run(
        _ clients: [InsightClient], scorer: ChurnScorer, asOfDay day: Int64, horizon: Int64, churnedAfterDays: Int64
    ) -> BacktestResult {
        var rows: [(id: String, score: Int64, recency: Int64, positive: Bool)] = []
        for client in clients {
            guard let scored = scorer.score(client, asOfDay: day), scored.idleDays < churnedAfterDays else { continue }
            if let offboarded = client.offboardedDay, offboarded <= day + horizon { continue }
            rows.append((client.clientId, scored.score, scored.idleDays,
                         churned(client, after: day, horizon: horizon, churnedAfterDays: churnedAfterDays)))
        }
        let byScore = rows.sorted { ($1.score, $0.id) < ($0.score, $1.id) }.map(\.positive)
        let byRecency = rows.sorted { ($1.recency, $0.id) < ($0.recency, $1.id) }.map(\.positive)
        let score = RankingQuality(
            auc: auc(rows.map { (Double($0.score), $0.positive) }), topDecileLift: topDecileLift(byScore))
        let recency = RankingQuality(
            auc: auc(rows.map { (Double($0.recency), $0.positive) }), topDecileLift: topDecileLift(byRecency))
        var better: String?
        let statement: String
        if let a = score.auc, let b = recency.auc {
            let text = { (x: Double) in String(Int((x * 1000).rounded())).leftPadded(to: 3).replacingFirstDigit() }
            if abs(a - b) < 0.0005 {
                better = "tie"
                statement = "the score and recency alone rank the churners equally well (AUC \(text(a)))"
            } else if a > b {
                better = "score"
                statement = "the score ranks the churners better than recency alone (AUC \(text(a)) against \(text(b)))"
            } else {
                better = "recency"
                statement = "recency alone ranks the churners better than the score (AUC \(text(b)) against \(text(a))): the score adds nothing on this history"
            }
        } else {
            statement = rows.isEmpty
                ? "no client was active as of \(Timestamp.dayText(day)): nothing to test"
                : "no client \(rows.contains { $0.positive } ? "stayed" : "churned") within the horizon: the AUC is undefined"
        }
        return BacktestResult(
            asOf: Timestamp.dayText(day), horizonDays: horizon, horizonEnd: Timestamp.dayText(day + horizon),
            clients: rows.count, churned: rows.filter(\.positive).count, score: score, recency: recency,
            better: better, statement: statement)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }

    /// "873" → "0.873", "1000" → "1.000".
    fileprivate func replacingFirstDigit() -> String {
        count > 3 ? String(prefix(count - 3)) + "." + suffix(3) : "0." + self
    }
}

// MARK: - Service quality

public enum ServiceGrouping: String, CaseIterable, Sendable, Codable {
    case channel, branch, segment
}

public struct ServiceRow: Sendable, Equatable, Codable {
    /// The channel, branch or segment.
    public var group: String
    public var interactions: Int
    public var complaints: Int
    @NullEncoded public var complaintsPer1000: Double?
    /// NPS of the answers in the window (null without answers; surveys carry no channel,
    /// so by channel it is always null).
    @NullEncoded public var nps: Double?
    public var npsAnswers: Int
    /// Clients with a complaint in the window whose last such complaint is at least
    /// `churnedAfterDays` old, so that churn within that time can be seen.
    public var complainingClients: Int
    /// Of them, clients with no activity in the `churnedAfterDays` after that complaint.
    public var churnedAfterComplaint: Int
    @NullEncoded public var churnedShare: Double?
}

public struct ServiceQuality: Sendable, Equatable, Codable {
    public var asOf: String
    public var by: String
    /// The trailing window: `from` to `asOf`, inclusive.
    public var from: String
    public var windowDays: Int64
    public var churnWithinDays: Int64
    public var rows: [ServiceRow]
}

public enum Service {
    public static let windowDays: Int64 = 365

    public static func quality(_ clients: [InsightClient], by grouping: ServiceGrouping, asOfDay day: Int64, churnedAfterDays: Int64) -> ServiceQuality {
        let first = day - windowDays + 1
        struct Sums {
            var interactions = 0, complaints = 0, promoters = 0, passives = 0, detractors = 0, followed = 0, churned = 0
        }
        var groups: [String: Sums] = [:]
        for client in clients {
            guard let registered = client.registeredDay, registered <= day else { continue }
            var lastComplaint: [String: Int64] = [:]
            func key(_ entry: InteractionEntry) -> String {
                switch grouping {
                case .channel: return entry.channel.rawValue
                case .branch: return client.branch
                case .segment: return client.segment.rawValue
                }
            }
            for entry in client.interactions where entry.day >= first && entry.day <= day {
                let group = key(entry)
                groups[group, default: Sums()].interactions += 1
                if entry.kind == .complaint {
                    groups[group, default: Sums()].complaints += 1
                    lastComplaint[group] = max(lastComplaint[group] ?? entry.day, entry.day)
                }
            }
            if grouping != .channel {
                let group = grouping == .branch ? client.branch : client.segment.rawValue
                for answer in client.surveys where answer.day >= first && answer.day <= day {
                    if answer.nps >= 9 {
                        groups[group, default: Sums()].promoters += 1
                    } else if answer.nps >= 7 {
                        groups[group, default: Sums()].passives += 1
                    } else {
                        groups[group, default: Sums()].detractors += 1
                    }
                }
            }
            for (group, complaint) in lastComplaint where complaint + churnedAfterDays <= day {
                groups[group, default: Sums()].followed += 1
                if client.activeDays(in: (complaint + 1)...(complaint + churnedAfterDays)).isEmpty {
                    groups[group, default: Sums()].churned += 1
                }
            }
        }
        let rows = groups.keys.sorted().map { group -> ServiceRow in
            let sums = groups[group] ?? Sums()
            let answers = sums.promoters + sums.passives + sums.detractors
            return ServiceRow(
                group: group, interactions: sums.interactions, complaints: sums.complaints,
                complaintsPer1000: sums.interactions > 0 ? (Double(sums.complaints) * 1000 / Double(sums.interactions) * 10).rounded() / 10 : nil,
                nps: answers > 0 ? (Double(sums.promoters - sums.detractors) * 100 / Double(answers) * 10).rounded() / 10 : nil,
                npsAnswers: answers, complainingClients: sums.followed, churnedAfterComplaint: sums.churned,
                churnedShare: sums.followed > 0 ? (Double(sums.churned) / Double(sums.followed) * 1000).rounded() / 1000 : nil)
        }
        return ServiceQuality(
            asOf: Timestamp.dayText(day), by: grouping.rawValue, from: Timestamp.dayText(first), windowDays: windowDays,
            churnWithinDays: churnedAfterDays, rows: rows)
    }
}

// MARK: - Reassessment reminders

public struct ReassessRow: Sendable, Equatable, Codable {
    public var clientId: String
    public var riskLevel: String
    public var assessedAt: Timestamp
    public var validUntil: Timestamp
    /// Whole days from the as-of moment to `validUntil` (negative once expired).
    public var daysLeft: Int64
    public var expired: Bool
    /// Products above R1 the client holds.
    public var holdsAboveR1: [String]
    /// Whether its assessment allows products above R1 (not lowest category, and C2 or
    /// above or a professional investor).
    public var allowsAboveR1: Bool
}

public enum Reassess {
    public static func reminders(_ clients: [InsightClient], rules: Rules, asOf: Timestamp, withinDays: Int64) -> [ReassessRow] {
        let horizon = asOf.adding(days: withinDays)
        var rows: [ReassessRow] = []
        for client in clients {
            guard let risk = client.risk, client.registeredDay != nil else { continue }
            if let offboarded = client.offboardedDay, offboarded <= asOf.dayNumber { continue }
            let validUntil = risk.assessedAt.adding(days: rules.riskAssessmentValidDays)
            guard validUntil <= horizon else { continue }
            let held = client.holdings.sorted().filter { (rules.product($0)?.riskLevel ?? .r1) > .r1 }
            let allows = !risk.lowestCategory && (risk.level > .c1 || client.investorType == .professional)
            guard !held.isEmpty || allows else { continue }
            let millis = validUntil.millisecondsSinceEpoch - asOf.millisecondsSinceEpoch
            let dayMillis: Int64 = 86_400_000
            let daysLeft = millis >= 0 ? millis / dayMillis : -((-millis + dayMillis - 1) / dayMillis)
            rows.append(ReassessRow(
                clientId: client.clientId, riskLevel: risk.level.rawValue, assessedAt: risk.assessedAt, validUntil: validUntil,
                daysLeft: daysLeft, expired: validUntil <= asOf, holdsAboveR1: held, allowsAboveR1: allows))
        }
        return rows.sorted { ($0.validUntil, $0.clientId) < ($1.validUntil, $1.clientId) }
    }
}

// MARK: - Reading the projections

extension ProjectionEngine {
    /// Every client's insight inputs from the fold snapshots, with their activity through
    /// `throughDay` (none when nil), by client.
    public func insightClients(throughDay: Int64?) throws -> [InsightClient] {
        var clients: [InsightClient] = []
        try forEachInsightClient(throughDay: throughDay) { clients.append($0) }
        return clients.sorted { $0.clientId < $1.clientId }
    }

    /// Calls `body` with each client's insight inputs, one client's activity in memory at a
    /// time (the months are read in client order and each client is handed over as soon as
    /// its months are complete), so that 1M clients fit.
    public func forEachInsightClient(throughDay: Int64?, _ body: (InsightClient) throws -> Void) throws {
        try requireTables()
        var waiting: [String: InsightClient] = [:]
        try store.read {
            try store.foldSnapshots { client, stored in
                let fold: ClientFold
                do {
                    fold = try ClientFold(stored: stored)
                } catch let error as ClientFold.UnknownSnapshotFormat {
                    throw ProjectionError.snapshotFormatOutdated(found: error.found, expected: ClientFold.snapshotFormat)
                }
                waiting[client] = InsightClient(fold: fold)
            }
            guard let throughDay else { return }
            var current: InsightClient?
            try store.retentionMonths(through: ClientFold.month(ofDay: throughDay)) { client, month, daily in
                if current?.clientId != client {
                    if let done = current { try body(done) }
                    current = waiting.removeValue(forKey: client)
                }
                guard current != nil else { return }
                var reader = BinaryReader(daily)
                current?.append(month: month, try MonthActivity(from: &reader))
            }
            if let done = current { try body(done) }
        }
        for client in waiting.keys.sorted() {
            if let entry = waiting[client] { try body(entry) }
        }
    }

    /// Churn scores of every scored client as of a day, highest first; `keep` filters them
    /// as they are computed (a band, a client), so that only what is kept is held.
    public func churnScores(asOf: Timestamp, keep: (ChurnScore) -> Bool) throws -> [ChurnScore] {
        let day = asOf.dayNumber
        let scorer = ChurnScorer(rules: rules.churnRisk)
        var scores: [ChurnScore] = []
        try forEachInsightClient(throughDay: day) { client in
            if let score = scorer.score(client, asOfDay: day), keep(score) { scores.append(score) }
        }
        return scores.sorted { ($1.score, $0.clientId) < ($0.score, $1.clientId) }
    }

    public func churnScores(asOf: Timestamp) throws -> [ChurnScore] {
        try churnScores(asOf: asOf) { _ in true }
    }

    public func backtest(asOf: Timestamp, horizonDays: Int64) throws -> BacktestResult {
        let day = asOf.dayNumber
        return Backtest.run(
            try insightClients(throughDay: day + horizonDays), scorer: ChurnScorer(rules: rules.churnRisk), asOfDay: day,
            horizon: horizonDays, churnedAfterDays: rules.churnedAfterDays)
    }

    public func serviceQuality(asOf: Timestamp, by grouping: ServiceGrouping) throws -> ServiceQuality {
        let day = asOf.dayNumber
        return Service.quality(try insightClients(throughDay: day), by: grouping, asOfDay: day, churnedAfterDays: rules.churnedAfterDays)
    }

    public func reassessReminders(asOf: Timestamp, withinDays: Int64) throws -> [ReassessRow] {
        Reassess.reminders(try insightClients(throughDay: nil), rules: rules, asOf: asOf, withinDays: withinDays)
    }
}
