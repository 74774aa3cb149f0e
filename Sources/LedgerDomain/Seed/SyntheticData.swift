import Foundation
import LedgerCore

/// A small, fast, seedable random generator (SplitMix64): the same seed gives the same data
/// on every machine.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed &+ 0x9E37_79B9_7F4A_7C15
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func chance(_ probability: Double) -> Bool { unit() < probability }

    mutating func int(_ range: ClosedRange<Int64>) -> Int64 { Int64.random(in: range, using: &self) }

    /// Log-normal with the given median and spread (sigma of the underlying normal).
    mutating func logNormal(median: Double, sigma: Double) -> Double {
        let u1 = max(unit(), 1e-12)
        let u2 = unit()
        let normal = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
        return median * exp(sigma * normal)
    }

    mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }

    /// Picks by weight.
    mutating func weighted<T>(_ items: [(T, Double)]) -> T {
        let total = items.reduce(0) { $0 + $1.1 }
        var roll = unit() * total
        for (item, weight) in items {
            roll -= weight
            if roll < 0 { return item }
        }
        return items[items.count - 1].0
    }
}

/// Realistic synthetic activity of a brokerage's clients, deterministic by seed.
///
/// The client mix: mostly retail, some high-net-worth, a few institutions; ordinary and
/// professional investors; risk levels C1–C5. Activity is heavy-tailed (a few very active
/// traders, many occasional ones); a quarter of clients go quiet and churn, a third of those
/// come back; deposits and withdrawals, purchases and redemptions of R1–R5 products, surveys,
/// points redemptions within the balance, periodic risk re-assessments, some offboardings.
/// Every generated fact passes the ledger's own policies, so the output always imports.
public struct SyntheticData {
    public struct Options: Sendable {
        public var clients: Int
        /// Facts to generate in total (approximately: at least three per client).
        public var events: Int
        public var seed: UInt64
        /// Number of the first client (C000001 by default), to add clients to a seeded ledger.
        public var firstClient = 1
        /// First day of activity.
        public var start: Timestamp
        /// Length of the period, in days (two years and more is realistic).
        public var days: Int64

        public init(clients: Int, events: Int, seed: UInt64 = 42, start: Timestamp = Timestamp(dayNumber: Timestamp.days(fromCivil: 2024, 10, 1)), days: Int64 = 760) {
            self.clients = clients
            self.events = events
            self.seed = seed
            self.start = start
            self.days = days
        }
    }

    public let options: Options
    public let rules: Rules

    public init(options: Options, rules: Rules) {
        self.options = options
        self.rules = rules
    }

    static let surnames = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Gao", "Luo"]
    static let givenNames = ["Wei", "Fang", "Na", "Min", "Jing", "Lei", "Jun", "Yan", "Tao", "Ming", "Chao", "Xia", "Hui", "Qiang", "Ping", "Gang", "Hong", "Yun", "Jie", "Ting"]
    static let branches = ["SH-Lujiazui", "SH-Xujiahui", "BJ-Xidan", "BJ-Guomao", "SZ-Futian", "SZ-Nanshan", "GZ-Tianhe", "HZ-Xihu", "CD-Jinjiang", "WH-Jianghan", "NJ-Xinjiekou", "online"]
    static let equities = ["EQ-600519", "EQ-601318", "EQ-000858", "EQ-300750", "EQ-600036", "EQ-000333", "EQ-601012", "EQ-002594", "ETF-510300", "ETF-159915"]

    /// Generates the facts and hands each JSON line to `emit`, in `occurredAt` order.
    public func generate(_ emit: (String) throws -> Void) rethrows {
        var lines: [(at: Int64, client: Int32, seq: Int32, line: String)] = []
        lines.reserveCapacity(options.events + options.clients * 3)
        var rng = SeededGenerator(seed: options.seed)
        // Heavy-tailed activity: Pareto weights.
        var weights: [Double] = []
        for _ in 0..<options.clients { weights.append(min(1 / pow(max(rng.unit(), 1e-9), 1 / 1.2), 400)) }
        let totalWeight = weights.reduce(0, +)
        let spare = max(0, options.events - options.clients * 3)
        for index in 0..<options.clients {
            let share = Int((Double(spare) * weights[index] / totalWeight).rounded())
            var clientRng = SeededGenerator(seed: options.seed &* 1_000_003 &+ UInt64(index))
            var seq: Int32 = 0
            client(index: index, activity: share, rng: &clientRng) { at, line in
                lines.append((at, Int32(index), seq, line))
                seq += 1
            }
        }
        lines.sort { ($0.at, $0.client, $0.seq) < ($1.at, $1.client, $1.seq) }
        for entry in lines { try emit(entry.line) }
    }

    // MARK: - One client

    private func client(index: Int, activity: Int, rng: inout SeededGenerator, emit: (Int64, String) -> Void) {
        let clientId = Self.clientId(index + options.firstClient)
        let segment: Segment = rng.weighted([(.retail, 0.85), (.highNetWorth, 0.12), (.institutional, 0.03)])
        let professional: Bool
        switch segment {
        case .retail: professional = rng.chance(0.05)
        case .highNetWorth: professional = rng.chance(0.3)
        case .institutional: professional = rng.chance(0.9)
        }
        let scale: Double = segment == .retail ? 1 : (segment == .highNetWorth ? 10 : 60)
        let level: RiskLevel = rng.weighted([(.c1, 0.1), (.c2, 0.25), (.c3, 0.35), (.c4, 0.2), (.c5, 0.1)])
        let lowest = level == .c1 && rng.chance(0.2)
        let spanMs = options.days * Timestamp.millisecondsPerDay
        let registered = options.start.millisecondsSinceEpoch + Int64(rng.unit() * 0.6 * Double(spanMs))
        let end = options.start.millisecondsSinceEpoch + spanMs
        // Active periods: most stay; some churn; some of those come back.
        var periods: [(Int64, Int64)] = [(registered + Timestamp.millisecondsPerDay, end)]
        var offboard: Int64?
        if rng.chance(0.25) {
            let quitAt = registered + Int64(rng.unit() * Double(end - registered))
            periods = [(registered + Timestamp.millisecondsPerDay, max(quitAt, registered + 2 * Timestamp.millisecondsPerDay))]
            let comeback = quitAt + rng.int(200...400) * Timestamp.millisecondsPerDay
            if rng.chance(0.35), comeback < end {
                periods.append((comeback, end))
            } else if rng.chance(0.12) {
                offboard = min(end - 1, quitAt + rng.int(190...400) * Timestamp.millisecondsPerDay)
            }
        }
        var state = ClientState(clientId: clientId, adjustmentLotLifetimeDays: rules.lotLifetimeDays)
        var counter = 0
        func put(_ payload: EventPayload, at ms: Int64, channel: String, actor: String) {
            let moment = Timestamp(millisecondsSinceEpoch: ms)
            guard (try? LoyaltyPolicy.process(payload, at: moment, state: &state, rules: rules)) != nil else { return }
            counter += 1
            var w = JSONWriter(capacity: 256)
            w.beginObject()
            w.key("eventId"); w.string(EventID.derived(from: "clientledger/seed/\(options.seed)/\(clientId)/\(counter)"))
            w.key("type"); w.string(payload.type.rawValue)
            w.key("clientId"); w.string(clientId)
            w.key("occurredAt"); w.string(moment.iso8601)
            w.key("data"); w.raw(payload.dataJSON)
            w.key("metadata"); w.beginObject()
            w.key("actor"); w.string(actor)
            w.key("channel"); w.string(channel)
            w.endObject()
            w.endObject()
            emit(ms, w.text)
        }
        let name = rng.pick(Self.surnames) + " " + rng.pick(Self.givenNames)
        put(.clientRegistered(name: name, segment: segment, investorType: professional ? .professional : .ordinary, branch: rng.pick(Self.branches)),
            at: registered, channel: "branch", actor: "crm")
        var assessedAt = registered + 3_600_000
        put(.riskAssessed(level: level, score: Int64(level.rank * 20 - 10) + rng.int(0...9), lowestCategory: lowest),
            at: assessedAt, channel: "app", actor: "suitability")
        put(.fundsDeposited(amount: money(rng.logNormal(median: 50_000 * scale, sigma: 0.9))),
            at: registered + 7_200_000, channel: "app", actor: "bank-gateway")

        // Activity moments spread over the active periods.
        let activeTotal = periods.reduce(Int64(0)) { $0 + max(0, $1.1 - $1.0) }
        guard activeTotal > 0 else { return }
        var moments: [Int64] = []
        moments.reserveCapacity(activity)
        for _ in 0..<activity {
            var offset = Int64(rng.unit() * Double(activeTotal))
            for period in periods {
                let length = max(0, period.1 - period.0)
                if offset < length {
                    moments.append(period.0 + offset)
                    break
                }
                offset -= length
            }
        }
        moments.sort()
        for at in moments {
            // What a redemption at this moment could take (ended lots do not count).
            let redeemable = state.pointsAvailable(at: Timestamp(millisecondsSinceEpoch: at))
            if at - assessedAt > 700 * Timestamp.millisecondsPerDay {
                assessedAt = at
                put(.riskAssessed(level: level, score: Int64(level.rank * 20 - 10) + rng.int(0...9), lowestCategory: lowest), at: at, channel: "app", actor: "suitability")
                continue
            }
            let roll = rng.unit()
            switch roll {
            case ..<0.46:
                let notional = money(rng.logNormal(median: 20_000 * scale, sigma: 1.1))
                put(.tradeExecuted(orderId: "O-\(clientId)-\(counter + 1)", productId: rng.pick(Self.equities), notional: notional),
                    at: at, channel: rng.weighted([("app", 0.7), ("web", 0.2), ("phone", 0.1)]), actor: "oms")
            case ..<0.61:
                put(.interactionLogged(
                        channel: rng.weighted([(.app, 0.35), (.wechat, 0.2), (.phone, 0.15), (.branch, 0.1), (.advisor, 0.1), (.web, 0.05), (.email, 0.05)]),
                        kind: rng.weighted([(.inquiry, 0.45), (.education, 0.2), (.visit, 0.15), (.feedback, 0.15), (.complaint, 0.05)])),
                    at: at, channel: "crm", actor: "crm")
            case ..<0.72:
                put(.fundsDeposited(amount: money(rng.logNormal(median: 30_000 * scale, sigma: 0.9))), at: at, channel: "app", actor: "bank-gateway")
            case ..<0.76:
                let available = Double(state.netAssets.cents) / 100
                if available > 200 {
                    put(.fundsWithdrawn(amount: money(available * (0.05 + 0.3 * rng.unit()))), at: at, channel: "app", actor: "bank-gateway")
                }
            case ..<0.84:
                let suitable = rules.products.filter { professional || $0.riskLevel.rank <= level.rank }
                let product = rng.chance(0.9) && !suitable.isEmpty ? rng.pick(suitable) : rng.pick(rules.products)
                put(.productPurchased(productId: product.id, amount: money(rng.logNormal(median: 40_000 * scale, sigma: 0.8))),
                    at: at, channel: "app", actor: "fund-platform")
            case ..<0.87:
                if let held = state.holdings.sorted().first {
                    put(.productRedeemed(productId: held), at: at, channel: "app", actor: "fund-platform")
                }
            case ..<0.91:
                let nps: Int64 = rng.weighted([(Int64(10), 0.2), (9, 0.2), (8, 0.15), (7, 0.15), (6, 0.1), (5, 0.08), (3, 0.07), (0, 0.05)])
                put(.surveyAnswered(nps: nps), at: at, channel: "wechat", actor: "survey")
            case ..<0.97:
                let available = redeemable
                if available >= 100 {
                    let points = max(100, Int64(Double(available) * (0.1 + 0.6 * rng.unit())) / 100 * 100)
                    put(.pointsRedeemed(points: min(points, available), reward: rng.pick(["fee rebate", "research report", "airline miles", "gift card", "level-2 quotes"])),
                        at: at, channel: "app", actor: "rewards")
                }
            default:
                let points = rng.chance(0.7) ? rng.int(50...500) : -min(redeemable, rng.int(10...200))
                if points != 0 {
                    put(.pointsAdjusted(points: points, reason: points > 0 ? "service recovery" : "reversal of duplicate award", approvedBy: "ops-\(rng.int(1...9))"),
                        at: at, channel: "backoffice", actor: "ops")
                }
            }
        }
        if let offboard, offboard > (moments.last ?? registered) {
            put(.clientOffboarded(reason: "account closed at client request"), at: offboard, channel: "branch", actor: "crm")
        }
    }

    private func money(_ value: Double) -> Money {
        Money(cents: max(1, min(Money.maximum.cents, Int64((value * 100).rounded()))))
    }
}

extension SyntheticData.Options {
    /// The first moment after the generated period: every generated fact lies before it.
    /// Nil when the period does not end before 10000-01-01 (a date the ledger cannot hold).
    public var end: Timestamp? {
        let lastDay = Timestamp.days(fromCivil: 10000, 1, 1)
        guard days >= 0, days <= lastDay - start.dayNumber else { return nil }
        let end = start.adding(days: days)
        return end.millisecondsSinceEpoch <= lastDay * Timestamp.millisecondsPerDay ? end : nil
    }

    /// Why these options cannot generate facts a ledger whose clock says `now` would
    /// import, or nil when they can: the period must end by 9999-12-31 (no date is written
    /// past the year 9999) and must not reach past now plus the tolerance of `TimeSanity`
    /// (facts from the future are refused).
    public func periodProblem(now: Timestamp) -> String? {
        guard let end else {
            return "the period of \(days) days from \(start.isoDate) runs past 9999-12-31, the last day a date can have; give an earlier start or fewer days"
        }
        guard end <= TimeSanity.latestAccepted(now: now) else {
            return "the period of \(days) days from \(start.isoDate) ends at \(end.iso8601), after now (\(now.iso8601)): the ledger refuses facts dated in the future; give an earlier start or fewer days"
        }
        return nil
    }
}

extension SyntheticData {
    /// `C000123` for client number 123.
    public static func clientId(_ number: Int) -> String {
        let digits = String(number)
        return "C" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }
}
