import LedgerCore
import LedgerDomain
import LedgerStorage

/// Retention metrics as of one day (SPEC §5), computed from the retention projection.
public struct RetentionMetrics: Sendable, Equatable, Codable {
    public struct Cohort: Sendable, Equatable, Codable {
        /// Month of first activity, `2025-03`.
        public var month: String
        public var size: Int
        /// Share of the cohort active in month k after the cohort month (k = 0, 1, …).
        public var retained: [Double]
    }

    public struct RFMScore: Sendable, Equatable, Codable {
        public var clientId: String
        public var recency: Int
        public var frequency: Int
        public var monetary: Int
        public var cell: String { "\(recency)\(frequency)\(monetary)" }
    }

    public struct Inflow: Sendable, Equatable, Codable {
        public var month: String
        public var deposited: String
        public var withdrawn: String
        public var net: String
    }

    public struct NPS: Sendable, Equatable, Codable {
        public var promoters: Int64
        public var passives: Int64
        public var detractors: Int64
        /// % promoters − % detractors, nil without answers.
        @NullEncoded public var score: Double?
    }

    public var asOf: String
    /// Clients registered on or before the day.
    public var clients: Int
    /// Clients with activity in the last `activeWithinDays` days (new and active).
    public var activeClients: Int
    public var stages: [String: Int]
    public var churned: Int
    /// Returns after a churn-length gap, all time up to the day, and in the trailing 365 days.
    public var reactivations: Int
    public var reactivationsLast365Days: Int
    public var cohorts: [Cohort]
    /// RFM quintile scores (5 best) of clients with activity in the trailing 365 days.
    public var rfm: [RFMScore]
    public var rfmCells: [String: Int]
    public var netInflow: [Inflow]
    /// NPS over answers in the trailing 365 days.
    public var nps: NPS
}

extension ProjectionEngine {
    /// Retention metrics as of `asOf` (its UTC day), from the retention projection.
    public func retentionMetrics(asOf: Timestamp) throws -> RetentionMetrics {
        try requireTables()
        let day = asOf.dayNumber
        let (year, monthNumber, _) = Timestamp.civil(fromDays: day)
        let asOfMonth = year * 12 + monthNumber - 1
        let firstOfWindow = day - 364

        struct Client {
            var registered: Int64?
            var offboarded: Int64?
            var reactivations: [Int64] = []
            var months: [(month: Int64, activity: MonthActivity)] = []
        }
        var clients: [String: Client] = [:]
        try store.read {
            for record in try store.retentionClients() {
                clients[record.client] = Client(
                    registered: record.registeredDay, offboarded: record.offboardedDay, reactivations: record.reactivationDays)
            }
            try store.retentionMonths(through: asOfMonth) { client, month, daily in
                var reader = BinaryReader(daily)
                let activity = try MonthActivity(from: &reader)
                clients[client]?.months.append((month, activity))
            }
        }

        var stages: [String: Int] = [:]
        var registered = 0
        var active = 0
        var reactivations = 0
        var reactivationsRecent = 0
        var cohortRetained: [Int64: [Int]] = [:]
        var cohortSizes: [Int64: Int] = [:]
        var rfmInput: [RFMInput] = []
        var inflow: [Int64: (Int64, Int64)] = [:]
        var nps = RetentionMetrics.NPS(promoters: 0, passives: 0, detractors: 0, score: nil)

        for (id, client) in clients {
            guard let registeredDay = client.registered, registeredDay <= day else { continue }
            registered += 1
            // First and last activity on or before the day, from the monthly day masks.
            var first: Int64?
            var last: Int64?
            var activeMonths = Set<Int64>()
            var frequency: Int64 = 0
            var monetary: Int64 = 0
            for (month, activity) in client.months {
                // Days after the as-of day never count; windows are cut at the day.
                let monthStart = Timestamp.days(fromCivil: month / 12, month % 12 + 1, 1)
                for entry in activity.days {
                    let absolute = monthStart + entry.day - 1
                    guard absolute <= day else { break }
                    if entry.activities > 0 {
                        activeMonths.insert(month)
                        if first.map({ absolute < $0 }) ?? true { first = absolute }
                        if last.map({ absolute > $0 }) ?? true { last = absolute }
                    }
                    if absolute >= firstOfWindow {
                        frequency += entry.activities
                        monetary += entry.tradedCents + entry.purchasedCents
                        nps.promoters += entry.promoters
                        nps.passives += entry.passives
                        nps.detractors += entry.detractors
                    }
                    var flow = inflow[month] ?? (0, 0)
                    flow.0 += entry.depositedCents
                    flow.1 += entry.withdrawnCents
                    inflow[month] = flow
                }
            }
            let stage = LifecycleStage.stage(
                registeredDay: registeredDay, firstActivityDay: first, lastActivityDay: last,
                offboardedDay: client.offboarded, asOfDay: day, rules: rules) ?? .prospect
            stages[stage.rawValue, default: 0] += 1
            if stage == .new || stage == .active { active += 1 }
            let returns = client.reactivations.filter { $0 <= day }
            reactivations += returns.count
            reactivationsRecent += returns.filter { $0 >= firstOfWindow }.count
            if let first {
                let cohort = ClientFold.month(ofDay: first)
                cohortSizes[cohort, default: 0] += 1
                var perOffset = cohortRetained[cohort] ?? []
                let span = Int(asOfMonth - cohort)
                if perOffset.count < span + 1 { perOffset += Array(repeating: 0, count: span + 1 - perOffset.count) }
                for month in activeMonths where month >= cohort { perOffset[Int(month - cohort)] += 1 }
                cohortRetained[cohort] = perOffset
            }
            if let last, last >= firstOfWindow, stage != .offboarded {
                rfmInput.append(RFMInput(client: id, recency: day - last, frequency: frequency, monetary: monetary))
            }
        }

        let cohorts = cohortSizes.keys.sorted().map { month -> RetentionMetrics.Cohort in
            let size = cohortSizes[month] ?? 0
            let retained = (cohortRetained[month] ?? []).map { size > 0 ? Double($0) / Double(size) : 0 }
            return RetentionMetrics.Cohort(month: Self.monthText(month), size: size, retained: retained.map { ($0 * 1000).rounded() / 1000 })
        }
        let rfm = Self.rfmScores(rfmInput)
        var cells: [String: Int] = [:]
        for score in rfm { cells[score.cell, default: 0] += 1 }
        let total = nps.promoters + nps.passives + nps.detractors
        if total > 0 {
            let score = (Double(nps.promoters) - Double(nps.detractors)) * 100 / Double(total)
            nps.score = (score * 10).rounded() / 10
        }
        return RetentionMetrics(
            asOf: Timestamp(dayNumber: day).isoDate, clients: registered, activeClients: active, stages: stages,
            churned: stages[LifecycleStage.churned.rawValue] ?? 0, reactivations: reactivations,
            reactivationsLast365Days: reactivationsRecent, cohorts: cohorts, rfm: rfm, rfmCells: cells,
            netInflow: inflow.keys.sorted().map { month in
                let (deposited, withdrawn) = inflow[month] ?? (0, 0)
                return RetentionMetrics.Inflow(
                    month: Self.monthText(month), deposited: Money(cents: deposited).decimalText,
                    withdrawn: Money(cents: withdrawn).decimalText, net: Money(cents: deposited - withdrawn).decimalText)
            },
            nps: nps)
    }

    static func monthText(_ month: Int64) -> String {
        let number = month % 12 + 1
        return "\(month / 12)-\(number < 10 ? "0" : "")\(number)"
    }

    /// Quintile scores 1–5 (5 best: most recent, most frequent, highest amounts). Ties are
    /// broken by client id, so the same data always gives the same scores.
    static func rfmScores(_ input: [RFMInput]) -> [RetentionMetrics.RFMScore] {
        let count = input.count
        guard count > 0 else { return [] }
        func quintiles(_ key: (Int) -> Int64, higherIsBetter: Bool) -> [Int] {
            let order = input.indices.sorted { a, b in
                let ka = key(a), kb = key(b)
                if ka != kb { return higherIsBetter ? ka < kb : ka > kb }
                return input[a].client < input[b].client
            }
            var scores = [Int](repeating: 1, count: count)
            for (rank, index) in order.enumerated() { scores[index] = rank * 5 / count + 1 }
            return scores
        }
        let r = quintiles({ input[$0].recency }, higherIsBetter: false)
        let f = quintiles({ input[$0].frequency }, higherIsBetter: true)
        let m = quintiles({ input[$0].monetary }, higherIsBetter: true)
        return input.indices.map {
            RetentionMetrics.RFMScore(clientId: input[$0].client, recency: r[$0], frequency: f[$0], monetary: m[$0])
        }.sorted { $0.clientId < $1.clientId }
    }
}

/// What RFM scoring needs of one client: days since the last activity, activities and
/// traded plus purchased amounts in the trailing window.
struct RFMInput: Sendable {
    var client: String
    var recency: Int64
    var frequency: Int64
    var monetary: Int64
}
