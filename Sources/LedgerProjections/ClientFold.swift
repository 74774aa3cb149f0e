import LedgerDomain
import LedgerStore

/// Activity of one client in one calendar month: enough to answer retention questions as
/// of any day (active days as a bit mask) and per month (amounts, NPS answers).
public struct MonthActivity: Sendable, Equatable, Codable {
    /// Bit d−1 set when the client had activity on day d of the month.
    public var activeDays: UInt32 = 0
    public var activities: Int64 = 0
    public var tradedCents: Int64 = 0
    public var purchasedCents: Int64 = 0
    public var depositedCents: Int64 = 0
    public var withdrawnCents: Int64 = 0
    public var promoters: Int64 = 0
    public var passives: Int64 = 0
    public var detractors: Int64 = 0
}

/// What the projections keep of one client: the domain's folded state plus its activity
/// by month. Rows of all three projections are written from it, and it is stored as a
/// snapshot so catching up after an import only touches the clients the import touched.
public struct ClientFold: Sendable, Codable {
    public var state: ClientState
    public var months: [Int64: MonthActivity] = [:]
    public var registeredDay: Int64?
    public var firstActivityDay: Int64?
    public var lastActivityDay: Int64?
    public var offboardedDay: Int64?
    /// Days on which the client came back after being churned.
    public var reactivationDays: [Int64] = []

    public init(clientId: String, rules: Rules) {
        state = ClientState(clientId: clientId, adjustmentLotLifetimeDays: rules.lotLifetimeDays)
    }

    /// Month index of a day: year × 12 + month − 1.
    public static func month(ofDay day: Int64) -> Int64 {
        let date = Timestamp.civil(fromDays: day)
        return date.year * 12 + date.month - 1
    }

    public mutating func apply(_ payload: EventPayload, at moment: Timestamp, churnedAfterDays: Int64) {
        state.apply(payload, at: moment)
        let day = moment.dayNumber
        switch payload {
        case .clientRegistered:
            registeredDay = day
        case .clientOffboarded:
            offboardedDay = day
        case .surveyAnswered(let nps):
            let key = Self.month(ofDay: day)
            if nps >= 9 { months[key, default: MonthActivity()].promoters += 1 }
            else if nps >= 7 { months[key, default: MonthActivity()].passives += 1 }
            else { months[key, default: MonthActivity()].detractors += 1 }
        default:
            guard payload.type.isActivity else { return }
            if let last = lastActivityDay, day - last >= churnedAfterDays { reactivationDays.append(day) }
            if firstActivityDay.map({ day < $0 }) ?? true { firstActivityDay = day }
            if lastActivityDay.map({ day > $0 }) ?? true { lastActivityDay = day }
            let (year, monthNumber, dayOfMonth) = Timestamp.civil(fromDays: day)
            let key = year * 12 + monthNumber - 1
            var month = months[key] ?? MonthActivity()
            month.activeDays |= 1 << UInt32(dayOfMonth - 1)
            month.activities += 1
            switch payload {
            case .tradeExecuted(_, _, let notional): month.tradedCents += notional.cents
            case .productPurchased(_, let amount): month.purchasedCents += amount.cents
            case .fundsDeposited(let amount): month.depositedCents += amount.cents
            case .fundsWithdrawn(let amount): month.withdrawnCents += amount.cents
            default: break
            }
            months[key] = month
        }
    }
}

// MARK: - Snapshots

extension ClientFold {
    /// The snapshot stored in `projection_fold.snapshot`.
    public var snapshot: [UInt8] {
        var w = BinaryWriter(capacity: 512)
        w.int(2)  // snapshot format
        state.encode(to: &w)
        w.int(months.count)
        for (month, activity) in months.sorted(by: { $0.key < $1.key }) {
            w.int(month)
            for value in [Int64(activity.activeDays), activity.activities, activity.tradedCents, activity.purchasedCents,
                          activity.depositedCents, activity.withdrawnCents, activity.promoters, activity.passives, activity.detractors] {
                w.int(value)
            }
        }
        for day in [registeredDay, firstActivityDay, lastActivityDay, offboardedDay] { w.optional(day) { $0.int($1) } }
        w.int(reactivationDays.count)
        for day in reactivationDays { w.int(day) }
        return w.bytes
    }

    public init(snapshot: [UInt8]) throws {
        var r = BinaryReader(snapshot)
        guard try r.int() == 2 else { throw BinaryReader.Malformed() }
        state = try ClientState(from: &r)
        for _ in 0..<(try r.count()) {
            let month = try r.int()
            var activity = MonthActivity()
            activity.activeDays = UInt32(truncatingIfNeeded: try r.int())
            activity.activities = try r.int()
            activity.tradedCents = try r.int()
            activity.purchasedCents = try r.int()
            activity.depositedCents = try r.int()
            activity.withdrawnCents = try r.int()
            activity.promoters = try r.int()
            activity.passives = try r.int()
            activity.detractors = try r.int()
            months[month] = activity
        }
        registeredDay = try r.optional { try $0.int() }
        firstActivityDay = try r.optional { try $0.int() }
        lastActivityDay = try r.optional { try $0.int() }
        offboardedDay = try r.optional { try $0.int() }
        for _ in 0..<(try r.count()) { reactivationDays.append(try r.int()) }
        guard r.isAtEnd else { throw BinaryReader.Malformed() }
    }
}
