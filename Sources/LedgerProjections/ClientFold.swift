import LedgerDomain
import LedgerCore
import LedgerStorage

/// Activity of one client on one day.
public struct DayActivity: Sendable, Equatable {
    /// Day of the month, 1–31.
    public var day: Int64
    public var activities: Int64 = 0
    public var tradedCents: Int64 = 0
    public var purchasedCents: Int64 = 0
    public var depositedCents: Int64 = 0
    public var withdrawnCents: Int64 = 0
    public var promoters: Int64 = 0
    public var passives: Int64 = 0
    public var detractors: Int64 = 0

    public init(day: Int64) {
        self.day = day
    }
}

/// Activity of one client in one calendar month, day by day, so that retention questions
/// can be answered as of any day (windows cut at the day, not at the month).
public struct MonthActivity: Sendable, Equatable {
    /// Days with activity or survey answers, in day order.
    public var days: [DayActivity] = []

    public init() {}

    /// Bit d−1 set when the client had activity on day d of the month.
    public var activeDays: UInt32 {
        days.reduce(0) { $1.activities > 0 ? $0 | (1 << UInt32($1.day - 1)) : $0 }
    }

    /// The sum over the days that satisfy `include`.
    public func total(_ include: (Int64) -> Bool = { _ in true }) -> DayActivity {
        var sum = DayActivity(day: 0)
        for day in days where include(day.day) {
            sum.activities += day.activities
            sum.tradedCents += day.tradedCents
            sum.purchasedCents += day.purchasedCents
            sum.depositedCents += day.depositedCents
            sum.withdrawnCents += day.withdrawnCents
            sum.promoters += day.promoters
            sum.passives += day.passives
            sum.detractors += day.detractors
        }
        return sum
    }

    /// The entry of a day, created in order when missing.
    mutating func update(day: Int64, _ change: (inout DayActivity) -> Void) {
        if let last = days.indices.last, days[last].day == day {
            change(&days[last])
            return
        }
        let index = days.firstIndex { $0.day >= day } ?? days.count
        if index == days.count || days[index].day != day { days.insert(DayActivity(day: day), at: index) }
        change(&days[index])
    }
}

/// What the projections keep of one client: the domain's folded state plus its activity
/// by month. Rows of all three projections are written from it, and it is stored as a
/// snapshot so catching up after an import only touches the clients the import touched.
public struct ClientFold: Sendable {
    public var state: ClientState
    public var months: [Int64: MonthActivity] = [:]
    public var registeredDay: Int64?
    public var firstActivityDay: Int64?
    public var lastActivityDay: Int64?
    public var offboardedDay: Int64?
    /// Days on which the client came back after being churned.
    public var reactivationDays: [Int64] = []
    /// Every interaction (day, channel, kind), in log order: complaints per day and service
    /// quality by channel (the insight projection).
    public var interactions: [InteractionEntry] = []
    /// Every survey answer (day, NPS 0–10), in log order: the last answer as of any day.
    public var surveys: [SurveyEntry] = []
    /// The lots as read from a stored fold, and how many pages they filled: a page whose lots
    /// are still the same is not written again.
    var storedLots: [PointsLot] = []
    var storedPageCount = 0

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
            surveys.append(SurveyEntry(day: day, nps: nps))
            let (year, monthNumber, dayOfMonth) = Timestamp.civil(fromDays: day)
            months[year * 12 + monthNumber - 1, default: MonthActivity()].update(day: dayOfMonth) {
                if nps >= 9 { $0.promoters += 1 } else if nps >= 7 { $0.passives += 1 } else { $0.detractors += 1 }
            }
        default:
            guard payload.type.isActivity else { return }
            if case .interactionLogged(let channel, let kind) = payload {
                interactions.append(InteractionEntry(day: day, channel: channel, kind: kind))
            }
            if let last = lastActivityDay, day - last >= churnedAfterDays { reactivationDays.append(day) }
            if firstActivityDay.map({ day < $0 }) ?? true { firstActivityDay = day }
            if lastActivityDay.map({ day > $0 }) ?? true { lastActivityDay = day }
            let (year, monthNumber, dayOfMonth) = Timestamp.civil(fromDays: day)
            months[year * 12 + monthNumber - 1, default: MonthActivity()].update(day: dayOfMonth) { entry in
                entry.activities += 1
                switch payload {
                case .tradeExecuted(_, _, let notional): entry.tradedCents += notional.cents
                case .productPurchased(_, let amount): entry.purchasedCents += amount.cents
                case .fundsDeposited(let amount): entry.depositedCents += amount.cents
                case .fundsWithdrawn(let amount): entry.withdrawnCents += amount.cents
                default: break
                }
            }
        }
    }
}

/// One interaction of a client.
public struct InteractionEntry: Sendable, Equatable {
    public var day: Int64
    public var channel: Channel
    public var kind: InteractionKind

    public init(day: Int64, channel: Channel, kind: InteractionKind) {
        self.day = day
        self.channel = channel
        self.kind = kind
    }
}

/// One survey answer of a client.
public struct SurveyEntry: Sendable, Equatable {
    public var day: Int64
    public var nps: Int64

    public init(day: Int64, nps: Int64) {
        self.day = day
        self.nps = nps
    }
}

// MARK: - Snapshots

extension ClientFold {
    /// The snapshot format written today. Format 5 added interactions and survey answers,
    /// format 6 the client's campaign enrolments and campaign points, format 7 the
    /// suitability acknowledgements and flags and the moment of an erasure, format 8 the
    /// consumptions in world order with what each lot gave them and lost to expiry (lots are
    /// consumed in `occurredAt` order, so a late lot is reallocated on catch-up), format 9
    /// the older lots in pages of their own (`stored()`);
    /// a snapshot of another format is refused with `UnknownSnapshotFormat`, and the engine
    /// asks for a rebuild rather than catch up from it.
    public static let snapshotFormat: Int64 = 9

    /// Lots per page of a stored fold. A page of a thousand-trade client's lots is about 2 KB,
    /// within one SQLite page; a client with fewer lots than this has no page.
    public static let lotsPerPage = 256

    /// A stored snapshot written by another version of the program.
    public struct UnknownSnapshotFormat: Error, Sendable {
        public var found: Int64
    }

    /// The fold in one snapshot, every lot in it (`init(snapshot:)` reads it back).
    public var snapshot: [UInt8] { snapshot(lotsFrom: 0) }

    /// The fold as stored: the snapshot, with the lots of the last, unfilled page; the pages
    /// of lots before them; and of those, the ones to write — all when the fold was not read
    /// from a stored one, else the pages whose lots changed since (a catch-up that only adds
    /// lots writes no page until one fills).
    public func stored() -> (snapshot: [UInt8], pageCount: Int, changedPages: [FoldPage]) {
        let lots = state.lots
        let size = ClientFold.lotsPerPage
        let pageCount = lots.count / size
        var changed: [FoldPage] = []
        for page in 0..<pageCount {
            let range = page * size..<(page + 1) * size
            if page < storedPageCount, lots[range] == storedLots[range] { continue }
            var w = BinaryWriter(capacity: size * 10)
            state.encodeLots(range, to: &w)
            changed.append(FoldPage(index: Int64(page), lots: w.bytes))
        }
        return (snapshot(lotsFrom: pageCount * size), pageCount, changed)
    }

    /// The snapshot stored in `projection_fold.snapshot`, with the lots from `lotsFrom` on.
    /// Activity by month is not in it: it is already in `retention_months`, and a catch-up
    /// reads back only the months it touches.
    private func snapshot(lotsFrom: Int) -> [UInt8] {
        var w = BinaryWriter(capacity: 512 + (state.lots.count - lotsFrom) * 10)
        w.int(ClientFold.snapshotFormat)
        state.encode(to: &w, lotsFrom: lotsFrom)
        for day in [registeredDay, firstActivityDay, lastActivityDay, offboardedDay] { w.optional(day) { $0.int($1) } }
        w.int(reactivationDays.count)
        for day in reactivationDays { w.int(day) }
        w.int(interactions.count)
        for entry in interactions {
            w.int(entry.day)
            w.int(Int64(Channel.allCases.firstIndex(of: entry.channel) ?? 0))
            w.int(Int64(InteractionKind.allCases.firstIndex(of: entry.kind) ?? 0))
        }
        w.int(surveys.count)
        for entry in surveys {
            w.int(entry.day)
            w.int(entry.nps)
        }
        return w.bytes
    }

    public init(snapshot: [UInt8]) throws {
        try self.init(stored: StoredFold(snapshot: snapshot))
    }

    /// Reads a fold stored as `stored()` gave it.
    public init(stored: StoredFold) throws {
        var r = BinaryReader(stored.snapshot)
        let format = try r.int()
        guard format == ClientFold.snapshotFormat else { throw UnknownSnapshotFormat(found: format) }
        state = try ClientState(from: &r, lotPages: stored.pages)
        // Full pages, as `stored()` writes them: the comparison of pages counts on it.
        guard state.lots.count >= stored.pages.count * ClientFold.lotsPerPage else { throw BinaryReader.Malformed() }
        storedLots = state.lots
        storedPageCount = stored.pages.count
        registeredDay = try r.optional { try $0.int() }
        firstActivityDay = try r.optional { try $0.int() }
        lastActivityDay = try r.optional { try $0.int() }
        offboardedDay = try r.optional { try $0.int() }
        for _ in 0..<(try r.count()) { reactivationDays.append(try r.int()) }
        let channels = Channel.allCases
        let kinds = InteractionKind.allCases
        for _ in 0..<(try r.count()) {
            let day = try r.int()
            let channel = try r.int()
            let kind = try r.int()
            guard channels.indices.contains(Int(channel)), kinds.indices.contains(Int(kind)) else { throw BinaryReader.Malformed() }
            interactions.append(InteractionEntry(day: day, channel: channels[Int(channel)], kind: kinds[Int(kind)]))
        }
        for _ in 0..<(try r.count()) {
            let day = try r.int()
            surveys.append(SurveyEntry(day: day, nps: try r.int()))
        }
        guard r.isAtEnd else { throw BinaryReader.Malformed() }
    }
}

extension MonthActivity {
    /// The days in the compact binary form (also stored in `retention_months.daily`).
    public func encode(to w: inout BinaryWriter) {
        w.int(days.count)
        for day in days {
            for value in [day.day, day.activities, day.tradedCents, day.purchasedCents, day.depositedCents,
                          day.withdrawnCents, day.promoters, day.passives, day.detractors] {
                w.int(value)
            }
        }
    }

    public init(from r: inout BinaryReader) throws {
        self.init()
        for _ in 0..<(try r.count()) {
            var day = DayActivity(day: try r.int())
            guard (1...31).contains(day.day) else { throw BinaryReader.Malformed() }
            day.activities = try r.int()
            day.tradedCents = try r.int()
            day.purchasedCents = try r.int()
            day.depositedCents = try r.int()
            day.withdrawnCents = try r.int()
            day.promoters = try r.int()
            day.passives = try r.int()
            day.detractors = try r.int()
            days.append(day)
        }
    }
}
