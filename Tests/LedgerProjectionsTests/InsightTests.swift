import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerDomain
@testable import LedgerProjections
import LedgerApplication
import LedgerCore
import LedgerSQLite
import LedgerStorage

/// A client built by folding payloads at days counted from 2024-01-01.
private func insightClient(id: String = "C1", branch: String = "Shanghai", segment: Segment = .retail, _ events: [(Int64, EventPayload)]) throws -> InsightClient {
    let rules = try Rules.defaults()
    var fold = ClientFold(clientId: id, rules: rules)
    let start = Timestamp.days(fromCivil: 2024, 1, 1)
    let all = [(Int64(0), EventPayload.clientRegistered(name: id, segment: segment, investorType: .ordinary, branch: branch))] + events
    for (day, payload) in all {
        fold.apply(payload, at: Timestamp(dayNumber: start + day).adding(days: 0), churnedAfterDays: rules.churnedAfterDays)
    }
    return InsightClient(fold: fold)
}

private let day0 = Timestamp.days(fromCivil: 2024, 1, 1)
private func trade(_ day: Int64) -> (Int64, EventPayload) { (day, .tradeExecuted(orderId: "O\(day)", productId: "EQ", notional: Money(cents: 100_00))) }
private func talk(_ day: Int64, _ channel: Channel = .app, _ kind: InteractionKind = .inquiry) -> (Int64, EventPayload) {
    (day, .interactionLogged(channel: channel, kind: kind))
}

@Suite("Insight: churn risk, backtest, service quality, reassessment")
struct InsightTests {
    let scorer = ChurnScorer(rules: ChurnRiskRules())

    // MARK: - Every factor at its boundaries

    @Test("recency: nothing up to the usual gap, all from four usual gaps, linear between")
    func recencyBoundaries() {
        #expect(scorer.recencyShare(daysSince: 0, usualGap: 10) == 0)
        #expect(scorer.recencyShare(daysSince: 10, usualGap: 10) == 0)
        #expect(scorer.recencyShare(daysSince: 11, usualGap: 10) == 33)
        #expect(scorer.recencyShare(daysSince: 31, usualGap: 10) == 700)
        #expect(scorer.recencyShare(daysSince: 39, usualGap: 10) == 966)
        #expect(scorer.recencyShare(daysSince: 40, usualGap: 10) == 1000)
        #expect(scorer.recencyShare(daysSince: 4000, usualGap: 10) == 1000)
        #expect(scorer.recencyShare(daysSince: 5, usualGap: 0) == 1000, "a gap below one day counts as one day")
    }

    @Test("activity drop: none at the baseline's pace or without a baseline, all when activity stopped")
    func activityDropBoundaries() {
        #expect(scorer.activityDropShare(recent: 5, baseline: 0) == 0)
        #expect(scorer.activityDropShare(recent: 90, baseline: 275) == 0, "exactly the baseline's pace")
        #expect(scorer.activityDropShare(recent: 89, baseline: 275) == 12)
        #expect(scorer.activityDropShare(recent: 200, baseline: 275) == 0)
        #expect(scorer.activityDropShare(recent: 45, baseline: 275) == 500)
        #expect(scorer.activityDropShare(recent: 0, baseline: 1) == 1000)
    }

    @Test("complaints: a third of the weight each, all from three")
    func complaintBoundaries() {
        #expect(scorer.complaintsShare(0) == 0)
        #expect(scorer.complaintsShare(1) == 333)
        #expect(scorer.complaintsShare(2) == 666)
        #expect(scorer.complaintsShare(3) == 1000)
        #expect(scorer.complaintsShare(9) == 1000)
    }

    @Test("last NPS answer: promoter 9–10 nothing, passive 7–8 half, detractor 0–6 all, none 30%")
    func npsBoundaries() {
        #expect(scorer.npsShare(10) == 0)
        #expect(scorer.npsShare(9) == 0)
        #expect(scorer.npsShare(8) == 500)
        #expect(scorer.npsShare(7) == 500)
        #expect(scorer.npsShare(6) == 1000)
        #expect(scorer.npsShare(0) == 1000)
        #expect(scorer.npsShare(nil) == 300)
    }

    @Test("net outflow: nothing on a net inflow, all when the assets of 90 days ago left")
    func outflowBoundaries() {
        #expect(scorer.netOutflowShare(outflowCents: 0, assetsBeforeCents: 100) == 0)
        #expect(scorer.netOutflowShare(outflowCents: -50, assetsBeforeCents: 100) == 0)
        #expect(scorer.netOutflowShare(outflowCents: 50, assetsBeforeCents: 100) == 500)
        #expect(scorer.netOutflowShare(outflowCents: 99, assetsBeforeCents: 100) == 990)
        #expect(scorer.netOutflowShare(outflowCents: 100, assetsBeforeCents: 100) == 1000)
        #expect(scorer.netOutflowShare(outflowCents: 1, assetsBeforeCents: 0) == 1000)
        #expect(scorer.netOutflowShare(outflowCents: Int64.max / 2, assetsBeforeCents: Int64.max / 2 + 1) == 999, "no overflow")
    }

    @Test("bands: low below 40, medium from 40, high from 70")
    func bandBoundaries() {
        #expect(scorer.band(0) == .low)
        #expect(scorer.band(39) == .low)
        #expect(scorer.band(40) == .medium)
        #expect(scorer.band(69) == .medium)
        #expect(scorer.band(70) == .high)
        #expect(scorer.band(100) == .high)
    }

    @Test("windows: a complaint 180 days ago no longer counts, 179 days ago it does; the last answer on or before the day")
    func windowBoundaries() throws {
        let history = try insightClient([trade(10), talk(20, .phone, .complaint), (30, .surveyAnswered(nps: 3)), (60, .surveyAnswered(nps: 10)), trade(199)])
        func factor(_ name: String, at day: Int64) -> ChurnFactor? {
            scorer.score(history, asOfDay: day0 + day)?.factors.first { $0.factor == name }
        }
        #expect(factor("complaints", at: 199)?.share == 0.333)
        #expect(factor("complaints", at: 200)?.share == 0)
        #expect(factor("nps", at: 59)?.share == 1.0, "the detractor answer is the last one on day 59")
        #expect(factor("nps", at: 60)?.share == 0, "the promoter answer replaces it on day 60")
        #expect(scorer.score(history, asOfDay: day0 + 5) == nil, "no activity yet: not scored")
    }

    @Test("a whole score: contributions add up, each explained")
    func wholeScore() throws {
        // Active every 5 days for 300 days, then silent: as of day 340, 40 days since the
        // last activity against a usual gap of 5 (recency all, 35); 12 activities in the last
        // 90 days against 51 in the 275 before, where 16.7 were expected (share 0.282, 7.0);
        // one complaint (6.6); a detractor (10); the assets withdrawn (10): 68.6, so 69.
        var events: [(Int64, EventPayload)] = [(0, .fundsDeposited(amount: Money(cents: 1_000_00)))]
        for day in stride(from: Int64(5), through: 300, by: 5) { events.append(trade(day)) }
        events += [talk(290, .wechat, .complaint), (295, .surveyAnswered(nps: 2)), (300, .fundsWithdrawn(amount: Money(cents: 1_000_00)))]
        let history = try insightClient(events)
        let score = try #require(scorer.score(history, asOfDay: day0 + 340))
        let byName = Dictionary(uniqueKeysWithValues: score.factors.map { ($0.factor, $0) })
        #expect(score.idleDays == 40)
        #expect(byName["recency"]?.contribution == 35)
        #expect(byName["complaints"]?.contribution == 6.6)
        #expect(byName["nps"]?.contribution == 10)
        #expect(byName["netOutflow"]?.contribution == 10)
        let drop = try #require(byName["activityDrop"])
        #expect(drop.detail == "12 activities in the last 90 days, 51 in the 275 days before", "\(drop.detail)")
        #expect(drop.share == 0.282 && drop.contribution == 7)
        let sum = score.factors.reduce(0) { $0 + $1.contribution }
        #expect(score.score == Int64((sum).rounded()), "\(score)")
        #expect(score.score == 69)
        #expect(score.band == "medium")
        #expect(score.factors.map(\.factor) == ["recency", "activityDrop", "complaints", "nps", "netOutflow"])
    }

    // MARK: - Rules

    @Test("the churn-risk weights live in the rules: versioned, checked, naming the key")
    func rulesSection() throws {
        let defaults = try Rules.defaults()
        #expect(defaults.churnRisk == ChurnRiskRules())
        #expect(defaults.canonicalJSON.contains(#""insight":{"churnRisk":{"activityDrop":{"weight":25}"#))
        let yaml = Rules.defaultYAML
        let changed = try Rules(yaml: yaml.replacingOccurrences(of: "bands: { medium: 40, high: 70 }", with: "bands: { medium: 30, high: 70 }"))
        #expect(changed.churnRisk.mediumFrom == 30)
        #expect(changed.version != defaults.version)
        do {
            _ = try Rules(yaml: yaml.replacingOccurrences(of: "recency: { weight: 35,", with: "recency: { weight: 45,"))
            Issue.record("weights adding up to 110 were accepted")
        } catch {
            #expect(error.path == "insight.churnRisk", "\(error)")
            #expect(error.problem.contains("100"), "\(error)")
        }
        do {
            _ = try Rules(yaml: yaml.replacingOccurrences(of: "bands: { medium: 40, high: 70 }", with: "bands: { medium: 80, high: 70 }"))
            Issue.record("high below medium was accepted")
        } catch {
            #expect(error.path == "insight.churnRisk.bands.high", "\(error)")
        }
        do {
            _ = try Rules(yaml: yaml.replacingOccurrences(of: "netOutflow: { weight: 10 }", with: "netOutflow: { weight: 10, colour: red }"))
            Issue.record("an unknown key was accepted")
        } catch {
            #expect(error.path == "insight.churnRisk.netOutflow.colour", "\(error)")
        }
        // A file without the section takes the defaults.
        let cut = yaml.components(separatedBy: "\n# The churn-risk score")[0]
        #expect(try Rules(yaml: cut).churnRisk == ChurnRiskRules())
    }

    // MARK: - A pure function of the log and the day

    @Test("the scores are the same from a rebuild, from catch-ups after each import, and from folding the log")
    func rebuildEqualsCatchUp() throws {
        let rules = try Rules.defaults()
        var lines: [String] = []
        SyntheticData(options: .init(clients: 60, events: 6_000, seed: 11), rules: rules).generate { lines.append($0) }
        let thirds = [lines[..<2000], lines[2000..<4000], lines[4000...]].map(Array.init)
        let days = ["2025-01-15", "2025-06-30", "2026-03-01", "2026-10-01"].map { at($0 + "T12:00:00Z") }
        try withTemporaryLedger { caughtUp in
            try withTemporaryLedger { rebuilt in
                let engineA = try caughtUp.engine(rules, asOf: generatedAsOf)
                try caughtUp.ledger(rules).importLines(thirds[0])
                try engineA.rebuild()
                try caughtUp.ledger(rules).importLines(thirds[1])
                try engineA.catchUp()
                try caughtUp.ledger(rules).importLines(thirds[2])
                try engineA.catchUp()

                let engineB = try rebuilt.engine(rules, asOf: generatedAsOf)
                for third in thirds { try rebuilt.ledger(rules).importLines(third) }
                try engineB.rebuild()
                let folded = try engineB.foldAll().folds.values.map(InsightClient.init(fold:)).sorted { $0.clientId < $1.clientId }
                for day in days {
                    let a = try engineA.churnScores(asOf: day)
                    let b = try engineB.churnScores(asOf: day)
                    #expect(!a.isEmpty)
                    #expect(a == b, "as of \(day)")
                    #expect(a == ChurnScorer(rules: rules.churnRisk).scores(folded, asOfDay: day.dayNumber), "as of \(day)")
                    #expect(try engineA.serviceQuality(asOf: day, by: .branch) == engineB.serviceQuality(asOf: day, by: .branch))
                }
                #expect(try engineA.backtest(asOf: days[1], horizonDays: 180) == engineB.backtest(asOf: days[1], horizonDays: 180))
            }
        }
    }

    @Test("a fold snapshot of an older format asks for a rebuild")
    func oldSnapshotFormat() throws {
        var w = BinaryWriter(capacity: 8)
        w.int(4)
        do {
            _ = try ClientFold(snapshot: w.bytes)
            Issue.record("a format 4 snapshot was read")
        } catch let error as ClientFold.UnknownSnapshotFormat {
            #expect(error.found == 4)
        }
        let fold = ClientFold(clientId: "C1", rules: try Rules.defaults())
        var withHistory = fold
        withHistory.interactions = [InteractionEntry(day: 3, channel: .wechat, kind: .complaint)]
        withHistory.surveys = [SurveyEntry(day: 4, nps: 6)]
        let back = try ClientFold(snapshot: withHistory.snapshot)
        #expect(back.interactions == withHistory.interactions)
        #expect(back.surveys == withHistory.surveys)
    }

    // MARK: - Service quality on a hand-built history

    @Test("service quality: interactions, complaints per 1,000, NPS with its answers, churn after a complaint")
    func serviceFigures() throws {
        let beijing = try insightClient(id: "C1", branch: "BJ", segment: .retail, [
            talk(100), talk(110), talk(120), talk(130, .app, .complaint), (140, .surveyAnswered(nps: 10)), (150, .surveyAnswered(nps: 3)),
        ])
        let shanghai = try insightClient(id: "C2", branch: "SH", segment: .highNetWorth, [
            talk(100, .phone, .complaint), trade(110), (120, .surveyAnswered(nps: 9)), trade(400),
        ])
        let outside = try insightClient(id: "C3", branch: "SH", segment: .highNetWorth, [talk(5, .phone, .complaint)])  // before the window
        let asOf = day0 + 364 + 5  // window: days 5 … 369
        let byChannel = Service.quality([beijing, shanghai, outside], by: .channel, asOfDay: asOf, churnedAfterDays: 180)
        #expect(byChannel.from == Timestamp.dayText(day0 + 5))
        #expect(byChannel.windowDays == 365)
        let app = try #require(byChannel.rows.first { $0.group == "app" })
        #expect(app.interactions == 4 && app.complaints == 1 && app.complaintsPer1000 == 250)
        #expect(app.complainingClients == 1 && app.churnedAfterComplaint == 1 && app.churnedShare == 1)
        #expect(app.nps == nil && app.npsAnswers == 0)
        let phone = try #require(byChannel.rows.first { $0.group == "phone" })
        #expect(phone.interactions == 2 && phone.complaints == 2 && phone.complaintsPer1000 == 1000)
        #expect(phone.complainingClients == 2 && phone.churnedAfterComplaint == 1 && phone.churnedShare == 0.5)

        let byBranch = Service.quality([beijing, shanghai, outside], by: .branch, asOfDay: asOf, churnedAfterDays: 180)
        #expect(byBranch.rows.map(\.group) == ["BJ", "SH"])
        #expect(byBranch.rows[0].nps == 0 && byBranch.rows[0].npsAnswers == 2)
        #expect(byBranch.rows[1].nps == 100 && byBranch.rows[1].npsAnswers == 1)
        let bySegment = Service.quality([beijing, shanghai, outside], by: .segment, asOfDay: asOf, churnedAfterDays: 180)
        #expect(bySegment.rows.map(\.group) == ["high_net_worth", "retail"])

        // A complaint younger than 180 days is not yet followed.
        let early = Service.quality([beijing], by: .channel, asOfDay: day0 + 300, churnedAfterDays: 180)
        #expect(early.rows.first?.complainingClients == 0 && early.rows.first?.churnedShare == nil)
        #expect(Service.quality([], by: .branch, asOfDay: asOf, churnedAfterDays: 180).rows.isEmpty)
    }

    // MARK: - Backtest on a history where the answer is known

    @Test("backtest: AUC and lift where the score separates the churners and recency alone inverts them")
    func backtestKnownAnswer() throws {
        try withTemporaryLedger { store in
            let rules = try Rules.defaults()
            let start = at("2024-01-01T10:00:00Z")
            let asOfDay: Int64 = 400
            var lines: [String] = []
            // Churners: active every 5 days until 40 days before the as-of day, then gone.
            for n in 1...3 {
                let id = "C00\(n)"
                lines.append(Line.registered(id, start))
                for day in stride(from: Int64(5), through: asOfDay - 40, by: 5) { lines.append(Line.trade(id, start.adding(days: day), "100.00", order: "O\(day)")) }
            }
            // Stayers: active every 60 days throughout, 55 days since the last activity.
            for n in 4...6 {
                let id = "C00\(n)"
                lines.append(Line.registered(id, start))
                for day in stride(from: asOfDay - 55 - 300, through: asOfDay + 300, by: 60) where day > 0 {
                    lines.append(Line.trade(id, start.adding(days: day), "100.00", order: "O\(day)"))
                }
            }
            try store.ledger(rules).importLines(lines)
            let engine = try store.engine(rules, asOf: start.adding(days: 800))
            try engine.rebuild()
            let result = try engine.backtest(asOf: start.adding(days: asOfDay), horizonDays: 180)
            #expect(result.clients == 6 && result.churned == 3, "\(result)")
            #expect(result.score.auc == 1.0)
            #expect(result.recency.auc == 0.0)
            #expect(result.score.topDecileLift == 2.0)
            #expect(result.recency.topDecileLift == 0.0)
            #expect(result.better == "score")
            #expect(result.statement.contains("better than recency alone"), "\(result.statement)")
        }
    }

    @Test("AUC counts ties half; the top decile is at least one client")
    func aucAndLift() {
        #expect(Backtest.auc([(3, true), (2, false), (1, true), (0, false)]) == 0.75)
        #expect(Backtest.auc([(1, true), (1, false)]) == 0.5)
        #expect(Backtest.auc([(1, true)]) == nil)
        #expect(Backtest.topDecileLift([true] + Array(repeating: false, count: 9)) == 10)
        #expect(Backtest.topDecileLift([false, false]) == nil)
    }

    // MARK: - Reassessment reminders

    @Test("reassess: expiring within the window or expired, holding or allowed products above R1")
    func reassessment() throws {
        let rules = try Rules.defaults()
        let assessed = Timestamp(dayNumber: day0)
        func assessedClient(_ id: String, level: RiskLevel, lowest: Bool = false, holds: [String] = [], day: Int64 = 0) throws -> InsightClient {
            var c = try insightClient(id: id, [])
            c.risk = RiskAssessment(level: level, score: 50, lowestCategory: lowest, assessedAt: assessed.adding(days: day))
            c.holdings = Set(holds)
            return c
        }
        let clients = [
            try assessedClient("C1", level: .c3),  // valid until day 730
            try assessedClient("C2", level: .c1, lowest: true),  // R1 only, holds nothing above it
            try assessedClient("C3", level: .c1, lowest: true, holds: ["BOND-02", "MMF-01"]),
            try assessedClient("C4", level: .c4, day: 100),  // valid until day 830
        ]
        let asOf = assessed.adding(days: 700)
        let rows = Reassess.reminders(clients, rules: rules, asOf: asOf, withinDays: 60)
        #expect(rows.map(\.clientId) == ["C1", "C3"])
        #expect(rows[0].daysLeft == 30 && !rows[0].expired && rows[0].allowsAboveR1)
        #expect(rows[1].holdsAboveR1 == ["BOND-02"] && !rows[1].allowsAboveR1)
        #expect(Reassess.reminders(clients, rules: rules, asOf: asOf, withinDays: 30).map(\.clientId) == ["C1", "C3"], "the boundary day is in")
        #expect(Reassess.reminders(clients, rules: rules, asOf: asOf, withinDays: 29).isEmpty)
        let later = Reassess.reminders(clients, rules: rules, asOf: assessed.adding(days: 731), withinDays: 0)
        #expect(later.map(\.clientId) == ["C1", "C3"] && later.allSatisfy(\.expired) && later[0].daysLeft == -1)
    }
}
