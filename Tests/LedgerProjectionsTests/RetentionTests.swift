import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerDomain
@testable import LedgerProjections
import LedgerCore
import LedgerSQLite
import LedgerStorage

/// SPEC §4 lifecycle stages and §5 retention metrics, on hand-built histories.
@Suite("Lifecycle and retention")
struct RetentionTests {
    // MARK: - LifecycleStage.stage

    struct StageCase: Sendable, CustomTestStringConvertible {
        var name: String
        var registered: Int64?
        var first: Int64?
        var last: Int64?
        var offboarded: Int64?
        var expected: LifecycleStage?
        var testDescription: String { name }
    }

    /// Days relative to the as-of day 0.
    static let stageCases: [StageCase] = [
        StageCase(name: "registered, never active", registered: -300, expected: .prospect),
        StageCase(name: "registered on the day", registered: 0, expected: .prospect),
        StageCase(name: "registered after the day", registered: 1, expected: nil),
        StageCase(name: "not registered", registered: nil, first: -10, last: -10, expected: nil),
        StageCase(name: "first activity after the day", registered: -50, first: 3, last: 3, expected: .prospect),
        StageCase(name: "first activity today", registered: -50, first: 0, last: 0, expected: .new),
        StageCase(name: "first activity 89 days before", registered: -100, first: -89, last: -89, expected: .new),
        StageCase(name: "first activity 89 days before, quiet since", registered: -100, first: -89, last: -89, expected: .new),
        StageCase(name: "first activity 90 days before, no other", registered: -100, first: -90, last: -90, expected: .atRisk),
        StageCase(name: "first 90 days before, last 89", registered: -100, first: -90, last: -89, expected: .active),
        StageCase(name: "first 400 days before, last today", registered: -500, first: -400, last: 0, expected: .active),
        StageCase(name: "last activity 89 days before", registered: -500, first: -400, last: -89, expected: .active),
        StageCase(name: "last activity 90 days before", registered: -500, first: -400, last: -90, expected: .atRisk),
        StageCase(name: "last activity 179 days before", registered: -500, first: -400, last: -179, expected: .atRisk),
        StageCase(name: "last activity 180 days before", registered: -500, first: -400, last: -180, expected: .churned),
        StageCase(name: "last activity 1,000 days before", registered: -2000, first: -1500, last: -1000, expected: .churned),
        StageCase(name: "offboarded yesterday after activity", registered: -500, first: -400, last: -2, offboarded: -1, expected: .offboarded),
        StageCase(name: "offboarded today", registered: -500, offboarded: 0, expected: .offboarded),
        StageCase(name: "offboarded after the day", registered: -500, first: -400, last: -10, offboarded: 5, expected: .active),
    ]

    @Test("LifecycleStage.stage at exact boundaries", arguments: stageCases)
    func stage(_ testCase: StageCase) throws {
        let rules = try defaultRules()
        let day: Int64 = 20_000
        let stage = LifecycleStage.stage(
            registeredDay: testCase.registered.map { day + $0 }, firstActivityDay: testCase.first.map { day + $0 },
            lastActivityDay: testCase.last.map { day + $0 }, offboardedDay: testCase.offboarded.map { day + $0 },
            asOfDay: day, rules: rules)
        #expect(stage == testCase.expected)
    }

    // MARK: - Stage counts through the retention projection

    @Test("retentionMetrics counts every stage at its boundaries, from imported histories")
    func stageCountsThroughTheProjection() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let asOf = at("2025-06-20T12:00:00Z")
            func day(_ offset: Int64) -> Timestamp { at("2025-06-20T08:00:00Z").adding(days: offset) }
            let lines = [
                Line.registered("P-NEVER", day(-300)),
                Line.registered("P-LATER", day(-50)), Line.interaction("P-LATER", day(15)),       // next month
                Line.registered("P-SAMEMONTH", day(-50)), Line.trade("P-SAMEMONTH", day(5), "1000"), // 25 June
                Line.registered("N-89", day(-100)), Line.interaction("N-89", day(-89)),
                Line.registered("N-TODAY", day(-10)), Line.deposit("N-TODAY", day(0), "1000"),
                Line.registered("A-89", day(-300)), Line.trade("A-89", day(-200), "5000"), Line.interaction("A-89", day(-89)),
                Line.registered("R-90", day(-300)), Line.interaction("R-90", day(-90)),
                Line.registered("R-179", day(-300)), Line.interaction("R-179", day(-250)), Line.interaction("R-179", day(-179)),
                Line.registered("C-180", day(-300)), Line.interaction("C-180", day(-180)),
                Line.registered("O-GONE", day(-300)), Line.interaction("O-GONE", day(-20)), Line.offboarded("O-GONE", day(-10)),
                Line.registered("F-FUTURE", day(5)),
            ]
            try store.ledger(rules).importLines(lines)
            let engine = try store.engine(rules, asOf: asOf)
            try engine.rebuild()
            let metrics = try engine.retentionMetrics(asOf: asOf)
            #expect(metrics.asOf == "2025-06-20")
            #expect(metrics.clients == 10, "F-FUTURE registers after the day")
            #expect(metrics.stages == ["prospect": 3, "new": 2, "active": 1, "at_risk": 2, "churned": 1, "offboarded": 1])
            #expect(metrics.activeClients == 3)
            #expect(metrics.churned == 1)

            // One day later: N-89 is 90 days past its only activity and A-89 90 days quiet (both
            // at risk), R-179 churns, F-FUTURE is still not registered (day 5).
            let next = try engine.retentionMetrics(asOf: asOf.adding(days: 1))
            #expect(next.stages == ["prospect": 3, "new": 1, "at_risk": 3, "churned": 2, "offboarded": 1])
            #expect(next.activeClients == 1)

            // Each client's stage in the projection agrees with LifecycleStage.stage on its days.
            let rows = try store.log.connection.prepare(
                "SELECT client, registered_day, first_activity_day, last_activity_day, offboarded_day FROM retention_clients ORDER BY client")
            var byStage: [String: [String]] = [:]
            while try rows.step() {
                func optional(_ column: Int32) -> Int64? { rows.isNull(at: column) ? nil : rows.int64(at: column) }
                guard let stage = LifecycleStage.stage(
                    registeredDay: optional(1), firstActivityDay: optional(2), lastActivityDay: optional(3),
                    offboardedDay: optional(4), asOfDay: asOf.dayNumber, rules: rules)
                else { continue }
                byStage[stage.rawValue, default: []].append(rows.string(at: 0))
            }
            #expect(byStage["new"] == ["N-89", "N-TODAY"])
            #expect(byStage["active"] == ["A-89"])
            #expect(byStage["at_risk"] == ["R-179", "R-90"])
            #expect(byStage["churned"] == ["C-180"])
            #expect(byStage["offboarded"] == ["O-GONE"])
        }
    }

    // MARK: - Reactivation

    @Test("a return after a gap of 180 days or more counts as a reactivation; 179 days does not")
    func reactivation() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let start = at("2024-01-10T09:00:00Z")
            try store.ledger(rules).importLines([
                Line.registered("X-180", start), Line.trade("X-180", start.adding(days: 1), "1000"),
                Line.interaction("X-180", start.adding(days: 181)),
                Line.registered("Y-179", start), Line.trade("Y-179", start.adding(days: 1), "1000"),
                Line.interaction("Y-179", start.adding(days: 180)),
                Line.registered("Z-TWICE", start), Line.deposit("Z-TWICE", start.adding(days: 1), "1000"),
                Line.interaction("Z-TWICE", start.adding(days: 300)), Line.interaction("Z-TWICE", start.adding(days: 600)),
            ])
            let engine = try store.engine(rules, asOf: start.adding(days: 700))
            try engine.rebuild()

            let beforeReturn = try engine.retentionMetrics(asOf: start.adding(days: 180))
            #expect(beforeReturn.reactivations == 0)
            #expect(beforeReturn.stages == ["at_risk": 2, "active": 1], "X-180 and Z-TWICE are 179 days quiet; Y-179 is back")

            let afterFirst = try engine.retentionMetrics(asOf: start.adding(days: 400))
            #expect(afterFirst.reactivations == 2, "X-180 on day 181 and Z-TWICE on day 300")
            let end = try engine.retentionMetrics(asOf: start.adding(days: 700))
            #expect(end.reactivations == 3)
            #expect(end.reactivationsLast365Days == 1, "only Z-TWICE's return on day 600 is within 365 days of day 700")
            let stored = try store.log.connection.scalarString("SELECT reactivation_days FROM retention_clients WHERE client = 'Y-179'")
            #expect(stored == "[]")
        }
    }

    // MARK: - Cohorts

    @Test("monthly cohort retention on a small known set")
    func cohorts() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let registered = at("2024-12-01T09:00:00Z")
            try store.ledger(rules).importLines([
                Line.registered("K1", registered), Line.registered("K2", registered), Line.registered("K3", registered),
                Line.registered("K4", registered), Line.registered("K5", registered),
                Line.trade("K1", at("2025-01-10T10:00:00Z"), "1000"), Line.interaction("K1", at("2025-02-05T10:00:00Z")),
                Line.interaction("K1", at("2025-03-15T10:00:00Z")),
                Line.trade("K2", at("2025-01-20T10:00:00Z"), "1000"), Line.interaction("K2", at("2025-03-01T10:00:00Z")),
                Line.deposit("K3", at("2025-02-14T10:00:00Z"), "1000"),
                Line.deposit("K4", at("2025-02-01T10:00:00Z"), "1000"), Line.interaction("K4", at("2025-03-31T10:00:00Z")),
                Line.interaction("K4", at("2025-04-02T10:00:00Z")),  // after the as-of day
                // K5 never active: in no cohort.
            ])
            let asOf = at("2025-03-31T12:00:00Z")
            let engine = try store.engine(rules, asOf: asOf)
            try engine.rebuild()
            let metrics = try engine.retentionMetrics(asOf: asOf)
            #expect(metrics.cohorts == [
                RetentionMetrics.Cohort(month: "2025-01", size: 2, retained: [1.0, 0.5, 1.0]),
                RetentionMetrics.Cohort(month: "2025-02", size: 2, retained: [1.0, 0.5]),
            ])
            let earlier = try engine.retentionMetrics(asOf: at("2025-03-30T12:00:00Z"))
            #expect(earlier.cohorts.last == RetentionMetrics.Cohort(month: "2025-02", size: 2, retained: [1.0, 0.0]),
                    "K4's activity on 31 March is after 30 March")
        }
    }

    // MARK: - RFM

    @Test("RFM: identical clients are ranked by client id, the same way every time")
    func rfmTiesBrokenByClientId() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let registered = at("2025-01-02T09:00:00Z")
            let ids = ["T-c", "T-a", "T-e", "T-b", "T-d"]
            var lines: [String] = []
            for id in ids {
                lines += [Line.registered(id, registered), Line.trade(id, at("2025-03-03T10:00:00Z"), "5000.00")]
            }
            try store.ledger(rules).importLines(lines)
            let asOf = at("2025-04-30T00:00:00Z")
            let engine = try store.engine(rules, asOf: asOf)
            try engine.rebuild()
            let metrics = try engine.retentionMetrics(asOf: asOf)
            #expect(metrics.rfm.map(\.clientId) == ["T-a", "T-b", "T-c", "T-d", "T-e"])
            #expect(metrics.rfm.map(\.cell) == ["111", "222", "333", "444", "555"])
            #expect(metrics.rfmCells == ["111": 1, "222": 1, "333": 1, "444": 1, "555": 1])
            for _ in 0..<5 {
                #expect(try engine.retentionMetrics(asOf: asOf).rfm == metrics.rfm)
                #expect(try ProjectionEngine(store: store.log.projectionStore(), rules: rules).retentionMetrics(asOf: asOf) == metrics)
            }
            // Directly, whatever order the input comes in.
            let input = ids.map { RFMInput(client: $0, recency: 10, frequency: 3, monetary: 700) }
            #expect(ProjectionEngine.rfmScores(input) == ProjectionEngine.rfmScores(input.reversed()))
            #expect(ProjectionEngine.rfmScores(input.shuffled()).map(\.cell) == ["111", "222", "333", "444", "555"])
        }
    }

    @Test("RFM: recency, frequency and amounts rank clients; quintiles over the active clients of the trailing 365 days")
    func rfmScores() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let registered = at("2024-01-02T09:00:00Z")
            let asOf = at("2025-04-30T00:00:00Z")
            // V-a is best in every dimension, V-e worst: ids run against the ranking, so
            // the result cannot come from the tie-break.
            let names = ["V-e", "V-d", "V-c", "V-b", "V-a"]
            var lines: [String] = []
            for (index, id) in names.enumerated() {
                let k = index + 1
                lines.append(Line.registered(id, registered))
                for n in 0..<k {
                    let moment = asOf.adding(days: -Int64((6 - k) * 20 + n))
                    lines.append(Line.trade(id, moment, "\(k * 1000).00", order: "O-\(n)"))
                }
            }
            // Outside the trailing 365 days: not scored. Offboarded: not scored.
            lines += [Line.registered("V-old", registered), Line.interaction("V-old", asOf.adding(days: -365))]
            lines += [Line.registered("V-gone", registered), Line.interaction("V-gone", asOf.adding(days: -5)),
                      Line.offboarded("V-gone", asOf.adding(days: -4))]
            lines.append(Line.registered("V-edge", registered))
            lines.append(Line.interaction("V-edge", asOf.adding(days: -364)))
            try store.ledger(rules).importLines(lines)
            let engine = try store.engine(rules, asOf: asOf)
            try engine.rebuild()
            let metrics = try engine.retentionMetrics(asOf: asOf)
            let cells = Dictionary(uniqueKeysWithValues: metrics.rfm.map { ($0.clientId, $0.cell) })
            #expect(cells.keys.sorted() == ["V-a", "V-b", "V-c", "V-d", "V-e", "V-edge"])
            // Six clients: rank r gets r × 5 / 6 + 1 → 1, 1, 2, 3, 4, 5.
            #expect(cells["V-a"] == "555")
            #expect(cells["V-b"] == "444")
            #expect(cells["V-c"] == "333")
            #expect(cells["V-d"] == "222")
            #expect(cells["V-e"] == "111")
            #expect(cells["V-edge"] == "111", "oldest, one interaction, no amount: worst everywhere")
        }
    }

    // MARK: - NPS and net inflow

    @Test("NPS is % promoters − % detractors over the 12 months ending with the as-of month")
    func nps() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let registered = at("2024-01-05T09:00:00Z")
            let answers: [(String, String, Int)] = [
                ("S1", "2025-03-01T10:00:00Z", 10), ("S2", "2025-02-01T10:00:00Z", 9), ("S3", "2025-01-15T10:00:00Z", 9),
                ("S4", "2024-12-01T10:00:00Z", 8), ("S5", "2024-07-01T10:00:00Z", 7),
                ("S6", "2024-05-01T10:00:00Z", 6), ("S7", "2024-04-01T10:00:00Z", 0),
                ("S8", "2024-03-31T10:00:00Z", 0),  // 13th month back: outside
            ]
            var lines = Set(answers.map(\.0)).sorted().map { Line.registered($0, registered) }
            lines += answers.map { Line.survey($0.0, at($0.1), nps: $0.2) }
            try store.ledger(rules).importLines(lines)
            let asOf = at("2025-03-31T00:00:00Z")
            let engine = try store.engine(rules, asOf: asOf)
            try engine.rebuild()
            let nps = try engine.retentionMetrics(asOf: asOf).nps
            #expect(nps.promoters == 3)
            #expect(nps.passives == 2)
            #expect(nps.detractors == 2)
            #expect(nps.score == 14.3, "(3 − 2) / 7 = 14.3 %")

            let withOld = try engine.retentionMetrics(asOf: at("2025-02-28T00:00:00Z")).nps
            #expect(withOld.promoters == 2 && withOld.passives == 2 && withOld.detractors == 3)
            #expect(withOld.score == -14.3)
            #expect(try engine.retentionMetrics(asOf: at("2024-01-31T00:00:00Z")).nps.score == nil, "no answers yet")
        }
    }

    @Test("net asset inflow per month: deposits, withdrawals and their difference")
    func netInflow() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let registered = at("2024-12-20T09:00:00Z")
            try store.ledger(rules).importLines([
                Line.registered("I1", registered), Line.registered("I2", registered),
                Line.deposit("I1", at("2025-01-03T10:00:00Z"), "1000.50"), Line.deposit("I2", at("2025-01-31T23:59:59Z"), "2000"),
                Line.withdraw("I1", at("2025-01-15T10:00:00Z"), "500"),
                Line.withdraw("I2", at("2025-02-01T00:00:00Z"), "100.25"),
                Line.deposit("I1", at("2025-04-10T10:00:00Z"), "7.05"),
            ])
            let asOf = at("2025-04-30T00:00:00Z")
            let engine = try store.engine(rules, asOf: asOf)
            try engine.rebuild()
            let inflow = try engine.retentionMetrics(asOf: asOf).netInflow
            #expect(inflow == [
                RetentionMetrics.Inflow(month: "2025-01", deposited: "3000.50", withdrawn: "500.00", net: "2500.50"),
                RetentionMetrics.Inflow(month: "2025-02", deposited: "0.00", withdrawn: "100.25", net: "-100.25"),
                RetentionMetrics.Inflow(month: "2025-04", deposited: "7.05", withdrawn: "0.00", net: "7.05"),
            ])
            let february = try engine.retentionMetrics(asOf: at("2025-02-28T00:00:00Z")).netInflow
            #expect(february.map(\.month) == ["2025-01", "2025-02"])
        }
    }

    // MARK: - As of a day inside a month

    @Test("metrics as of a day ignore what happened later in the same month (RFM frequency and amounts, inflow, NPS)")
    func asOfMidMonthIgnoresLaterFacts() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let registered = at("2025-01-02T09:00:00Z")
            try store.ledger(rules).importLines([
                // On the day both have one trade of the same amount: a tie, broken by id (W-a first).
                Line.registered("W-a", registered), Line.trade("W-a", at("2025-03-01T10:00:00Z"), "1000.00"),
                Line.registered("W-b", registered), Line.trade("W-b", at("2025-03-01T10:00:00Z"), "1000.00"),
                // After the as-of day (10 March), in the same month.
                Line.trade("W-a", at("2025-03-20T10:00:00Z"), "90000.00", order: "O-2"),
                Line.deposit("W-a", at("2025-03-21T10:00:00Z"), "5000.00"),
                Line.survey("W-b", at("2025-03-22T10:00:00Z"), nps: 0),
            ])
            let asOf = at("2025-03-10T00:00:00Z")
            let engine = try store.engine(rules, asOf: asOf)
            try engine.rebuild()
            let metrics = try engine.retentionMetrics(asOf: asOf)
            let cells = Dictionary(uniqueKeysWithValues: metrics.rfm.map { ($0.clientId, $0.cell) })
            #expect(cells == ["W-a": "111", "W-b": "333"], "as of 10 March the two clients are tied")
            #expect(metrics.netInflow.allSatisfy { $0.deposited == "0.00" }, "the deposit of 21 March is after the day: \(metrics.netInflow)")
            #expect(metrics.nps.detractors == 0, "the answer of 22 March is after the day")
        }
    }
}
