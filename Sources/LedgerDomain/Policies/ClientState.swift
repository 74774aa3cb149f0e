import LedgerCore

/// Points from one award (or one positive adjustment), consumed oldest first in world time.
public struct PointsLot: Sendable, Equatable {
    public var awardedAt: Timestamp
    public var expiresAt: Timestamp
    public var points: Int64
    /// `points − consumed − expired`.
    public var remaining: Int64
    /// Points the consumptions took from the lot, allocated oldest lot first in `occurredAt`
    /// order of the consumptions, whatever order they were recorded in.
    public internal(set) var consumed: Int64 = 0
    /// Points of the lot expired as recorded (its `PointsExpired`, with their corrections).
    public internal(set) var expired: Int64 = 0
    /// Awards count toward qualifying points; manual adjustments do not. Kept last, so that a
    /// lot takes 56 bytes rather than 64 (a client of a thousand trades holds a thousand lots).
    public var fromAward: Bool

    init(awardedAt: Timestamp, expiresAt: Timestamp, points: Int64, remaining: Int64, fromAward: Bool, consumed: Int64 = 0, expired: Int64 = 0) {
        self.awardedAt = awardedAt
        self.expiresAt = expiresAt
        self.points = points
        self.remaining = remaining
        self.consumed = consumed
        self.expired = expired
        self.fromAward = fromAward
    }
}

/// A redemption or negative adjustment, at its moment in world time.
struct Consumption: Sendable, Equatable {
    var at: Timestamp
    var points: Int64
}

/// A client's part in one campaign: its group once enrolled, and the campaign's points it
/// was awarded (what its per-client cap is measured against).
public struct CampaignMembership: Sendable, Equatable {
    public var group: CampaignGroup?
    public var points: Int64 = 0

    public init(group: CampaignGroup? = nil, points: Int64 = 0) {
        self.group = group
        self.points = points
    }
}

/// The latest suitability assessment.
public struct RiskAssessment: Sendable, Equatable {
    public var level: RiskLevel
    public var score: Int64
    public var lowestCategory: Bool
    public var assessedAt: Timestamp
}

/// One change of tier in a client's history.
public struct TierChange: Sendable, Equatable, Codable {
    public var at: Timestamp
    public var from: Tier
    public var to: Tier
    public var reason: TierChangeReason

    public init(at: Timestamp, from: Tier, to: Tier, reason: TierChangeReason) {
        self.at = at
        self.from = from
        self.to = to
        self.reason = reason
    }
}

/// A client's state folded from its stream: every fact and every decision, in stream order.
///
/// `apply` is the only way state changes, for events read back from the log and for events
/// the policies are about to write, so the two can never disagree.
public struct ClientState: Sendable {
    public let clientId: String
    /// Version of the client's stream after the last applied event.
    public var version: Int64 = 0
    public var registeredAt: Timestamp?
    /// The latest `occurredAt` of any event applied.
    public var lastEventAt: Timestamp?
    public var offboardedAt: Timestamp?
    public var name = ""
    public var segment = Segment.retail
    public var investorType = InvestorType.ordinary
    public var branch = ""
    public var tier = Tier.standard
    public var tierSince: Timestamp?
    public var tierHistory: [TierChange] = []
    /// Lots ordered by `awardedAt` (ties in arrival order).
    public private(set) var lots: [PointsLot] = []
    /// Points left in lots as recorded: a lot that has ended still counts here until its
    /// `PointsExpired` is applied. Bookkeeping only; what a client can redeem at a moment is
    /// `pointsAvailable(at:)`.
    public private(set) var pointsOutstanding: Int64 = 0
    public private(set) var lifetimePoints: Int64 = 0
    public private(set) var redeemedPoints: Int64 = 0
    public private(set) var expiredPoints: Int64 = 0
    public private(set) var adjustedPoints: Int64 = 0
    public var netAssets = Money.zero
    public var risk: RiskAssessment?
    public var holdings: Set<String> = []
    public var firstActivityAt: Timestamp?
    public var lastActivityAt: Timestamp?
    /// Survey awards per calendar quarter (key: year × 4 + quarter index).
    public var surveyAwardsByQuarter: [Int64: Int64] = [:]
    /// Campaigns the client was enrolled in or awarded by, by campaign id.
    public var campaigns: [String: CampaignMembership] = [:]
    /// Products the client insisted on after a written suitability warning, with the
    /// moment of the first acknowledgement.
    public var acknowledgedWarnings: [String: Timestamp] = [:]
    /// Purchases flagged as suitability breaches.
    public var suitabilityFlags: Int64 = 0
    /// When the client's personal data was erased (`ClientDataErased`).
    public var erasedAt: Timestamp?
    /// How long a lot from a positive adjustment lives (awards carry their own `expiresAt`).
    public let adjustmentLotLifetimeDays: Int64

    /// Redemptions and negative adjustments in `occurredAt` order (ties in recording order).
    /// Lots are consumed in this order, so a late lot older than the lots a recorded
    /// redemption took from is consumed first, as if it had been recorded in time.
    var consumptions: [Consumption] = []
    /// The latest moment of a consumption (kept when `dropSpentLots` prunes the list).
    private var latestConsumptionAt: Timestamp?
    /// Net points expired per lot moment (`PointsExpired` and their corrections), shared
    /// among the lots of that moment in lot order.
    private var expiredByLot: [Timestamp: Int64] = [:]
    /// Points the consumptions could not find in lots that were open at their moments (a log
    /// out of step with the rules: they are then taken from whatever is left). While it is
    /// not 0, every change reallocates from scratch.
    private var consumptionOutsideLots: Int64 = 0
    /// Lots before this index are used up or ended at `latestConsumptionAt`: an in-order
    /// consumption starts looking here.
    private var firstConsumableLot = 0
    /// Index of the first lot that may still hold points.
    private var firstOpenLot = 0
    /// Earliest `expiresAt` among lots with points left (nil: none).
    public private(set) var nextExpiry: Timestamp?
    // Sliding sum of award points over the qualifying window.
    private var windowEnd: Timestamp?
    private var windowSum: Int64 = 0
    private var windowFirst = 0
    private var windowLast = 0

    public init(clientId: String, adjustmentLotLifetimeDays: Int64 = 730) {
        self.clientId = clientId
        self.adjustmentLotLifetimeDays = adjustmentLotLifetimeDays
    }

    public var isRegistered: Bool { registeredAt != nil }
    public var isOffboarded: Bool { offboardedAt != nil }
    public var stream: String { ClientState.stream(for: clientId) }

    public static func stream(for clientId: String) -> String { "client/" + clientId }

    // MARK: - Folding

    /// Applies one recorded event (fact or decision) of this client's stream.
    public mutating func apply(_ payload: EventPayload, at moment: Timestamp) {
        version += 1
        if lastEventAt.map({ moment > $0 }) ?? true { lastEventAt = moment }
        switch payload {
        case .clientRegistered(let name, let segment, let investorType, let branch):
            registeredAt = moment
            tierSince = moment
            self.name = name
            self.segment = segment
            self.investorType = investorType
            self.branch = branch
        case .clientProfileUpdated(let name, let segment, let investorType, let branch):
            if let name { self.name = name }
            if let segment { self.segment = segment }
            if let investorType { self.investorType = investorType }
            if let branch { self.branch = branch }
        case .riskAssessed(let level, let score, let lowest):
            if risk.map({ moment >= $0.assessedAt }) ?? true {
                risk = RiskAssessment(level: level, score: score, lowestCategory: lowest, assessedAt: moment)
            }
        case .fundsDeposited(let amount):
            netAssets = netAssets + amount
            recordActivity(moment)
        case .fundsWithdrawn(let amount):
            netAssets = netAssets - amount
            recordActivity(moment)
        case .tradeExecuted:
            recordActivity(moment)
        case .productPurchased(let productId, _):
            holdings.insert(productId)
            recordActivity(moment)
        case .productRedeemed(let productId):
            holdings.remove(productId)
        case .interactionLogged:
            recordActivity(moment)
        case .surveyAnswered:
            break
        case .pointsRedeemed(let points, _):
            consume(points, at: moment)
            redeemedPoints += points
        case .pointsAdjusted(let points, _, _):
            adjustedPoints += points
            if points > 0 {
                addLot(PointsLot(
                    awardedAt: moment, expiresAt: moment.adding(days: adjustmentLotLifetimeDays),
                    points: points, remaining: points, fromAward: false))
            } else {
                consume(-points, at: moment)
            }
        case .clientOffboarded:
            offboardedAt = moment
        case .pointsAwarded(let points, let reason, let campaignId, let expiresAt):
            lifetimePoints += points
            if let campaignId { campaigns[campaignId, default: CampaignMembership()].points += points }
            addLot(PointsLot(awardedAt: moment, expiresAt: expiresAt, points: points, remaining: points, fromAward: true))
            if reason == .survey { surveyAwardsByQuarter[Self.quarter(of: moment), default: 0] += 1 }
        case .pointsExpired(let points, let lotAwardedAt):
            expire(points, awardedAt: lotAwardedAt)
        case .tierChanged(let from, let to, let reason, _):
            Self.foldTierChange(from: from, to: to, reason: reason, at: moment, history: &tierHistory)
            tier = tierHistory.last?.to ?? .standard
            tierSince = tierHistory.last?.at ?? registeredAt
        case .pointsCorrected(let points, _, let decision, let lotAwardedAt, _):
            switch decision {
            case .pointsAwarded: correctAward(by: points, awardedAt: lotAwardedAt)
            case .pointsExpired: expire(points, awardedAt: lotAwardedAt)
            }
        case .campaignEnrolled(let campaignId, let group):
            campaigns[campaignId, default: CampaignMembership()].group = group
        case .suitabilityWarningAcknowledged(let productId, _):
            if acknowledgedWarnings[productId].map({ moment < $0 }) ?? true { acknowledgedWarnings[productId] = moment }
        case .suitabilityBreachFlagged:
            suitabilityFlags += 1
        case .clientDataErased:
            if erasedAt == nil { erasedAt = moment }
            name = PersonalField.erased
        case .campaignDefined, .campaignLaunched, .campaignClosed:
            break
        }
    }

    /// The tier history after a recorded `TierChanged` dated `moment`, as `apply` folds it: a
    /// change out of world order (a late fact's upgrade) or a correction rewrites the history
    /// in world time from its moment on; any other is appended.
    public static func foldTierChange(from: Tier, to: Tier, reason: TierChangeReason, at moment: Timestamp, history: inout [TierChange]) {
        if reason == .corrected || history.last.map({ moment < $0.at }) ?? false {
            applyTierChange(to: to, at: moment, reason: reason, history: &history)
        } else {
            history.append(TierChange(at: moment, from: from, to: to, reason: reason))
        }
    }

    /// The tier history in world time after a change dated `moment` to `to`: a correction
    /// replaces every change at or after its moment, any other change every change after it;
    /// the change is kept unless the tier before it is already `to`.
    public static func applyTierChange(to: Tier, at moment: Timestamp, reason: TierChangeReason, history: inout [TierChange]) {
        if reason == .corrected {
            while let last = history.last, last.at >= moment { history.removeLast() }
        } else {
            while let last = history.last, last.at > moment { history.removeLast() }
        }
        let before = history.last?.to ?? .standard
        if before != to { history.append(TierChange(at: moment, from: before, to: to, reason: reason)) }
    }

    /// The tier a history gives at `moment` (changes at `moment` included).
    public static func tier(in history: [TierChange], at moment: Timestamp) -> Tier {
        history.last { $0.at <= moment }?.to ?? .standard
    }

    /// A `PointsCorrected` of an award: the award lots at `awardedAt` change by `points`
    /// (a lot is created when none exists: an award that was never written).
    private mutating func correctAward(by points: Int64, awardedAt: Timestamp) {
        lifetimePoints += points
        windowEnd = nil
        let first = lotIndex(awardedAt: awardedAt)
        var index = first
        while index < lots.count, lots[index].awardedAt == awardedAt, !lots[index].fromAward { index += 1 }
        guard index < lots.count, lots[index].awardedAt == awardedAt else {
            if points > 0 {
                addLot(PointsLot(
                    awardedAt: awardedAt, expiresAt: awardedAt.adding(days: adjustmentLotLifetimeDays),
                    points: points, remaining: points, fromAward: true))
            }
            return
        }
        // Allocations stay as they are when the lot keeps room for what was taken from it
        // and expired: a lot a consumption did not use up was not passed over for a newer one.
        var local = consumptionOutsideLots == 0
        if points > 0 {
            let usedUp = lots[index].consumed >= lots[index].points
            local = local && expiredByLot[awardedAt] == nil && !(usedUp && latestConsumptionAt.map { $0 >= awardedAt } ?? false)
            lots[index].points += points
        } else {
            var left = -points
            for k in index..<lots.count where left > 0 && lots[k].awardedAt == awardedAt && lots[k].fromAward {
                let take = min(left, lots[k].points)
                lots[k].points -= take
                left -= take
                if lots[k].points < lots[k].consumed + lots[k].expired { local = false }
            }
        }
        guard local else {
            reallocate()
            return
        }
        var outstanding: Int64 = 0
        var k = first
        while k < lots.count, lots[k].awardedAt == awardedAt {
            let remaining = lots[k].points - lots[k].consumed - lots[k].expired
            outstanding += remaining - lots[k].remaining
            lots[k].remaining = remaining
            k += 1
        }
        pointsOutstanding += outstanding
        refreshOpenLots(from: first)
    }

    private mutating func recordActivity(_ moment: Timestamp) {
        if firstActivityAt.map({ moment < $0 }) ?? true { firstActivityAt = moment }
        if lastActivityAt.map({ moment > $0 }) ?? true { lastActivityAt = moment }
    }

    /// Calendar quarter index of a moment (year × 4 + 0…3).
    public static func quarter(of moment: Timestamp) -> Int64 {
        let date = moment.civilDate
        return date.year * 4 + (date.month - 1) / 3
    }

    // MARK: - Lots
    //
    // Consumptions (redemptions, negative adjustments) take points oldest lot first in world
    // time: a consumption at t takes from the lots awarded at or before t that have not ended
    // at t, and the consumptions are allocated in `occurredAt` order. A lot's recorded
    // expiries take what the consumptions left in it. So the same facts and decisions give
    // the same lots in any recording order; a change that an in-order step cannot absorb
    // (a lot or a consumption dated before a consumption already folded, an award
    // correction) allocates every consumption again (`reallocate`).

    /// The first lot awarded at or after `moment` (lots are in award order).
    private func lotIndex(awardedAt moment: Timestamp) -> Int {
        var low = 0
        var high = lots.count
        while low < high {
            let mid = (low + high) / 2
            if lots[mid].awardedAt < moment { low = mid + 1 } else { high = mid }
        }
        return low
    }

    private mutating func addLot(_ lot: PointsLot) {
        var index = lots.count
        if let last = lots.last, last.awardedAt > lot.awardedAt {
            // A backdated award: keep lots in award order.
            index = lots.firstIndex { $0.awardedAt > lot.awardedAt } ?? lots.count
        }
        lots.insert(lot, at: index)
        // A lot inside the part of the list the qualifying window has already summed makes
        // that sum stale; the next query recomputes it.
        if index < windowLast { windowEnd = nil }
        if index < firstConsumableLot { firstConsumableLot = index }
        if latestConsumptionAt.map({ lot.awardedAt <= $0 }) ?? false || consumptionOutsideLots > 0 || expiredByLot[lot.awardedAt] != nil {
            // In world time the lot was there for consumptions already folded.
            reallocate()
            return
        }
        if index <= firstOpenLot { firstOpenLot = index }
        pointsOutstanding += lot.remaining
        if nextExpiry.map({ lot.expiresAt < $0 }) ?? true { nextExpiry = lot.expiresAt }
    }

    /// A redemption or negative adjustment of `points` at `moment`.
    private mutating func consume(_ points: Int64, at moment: Timestamp) {
        let inOrder = latestConsumptionAt.map { moment >= $0 } ?? true
        if inOrder {
            consumptions.append(Consumption(at: moment, points: points))
            latestConsumptionAt = moment
        } else {
            let index = consumptions.firstIndex { $0.at > moment } ?? consumptions.count
            consumptions.insert(Consumption(at: moment, points: points), at: index)
        }
        guard inOrder, consumptionOutsideLots == 0 else {
            reallocate()
            return
        }
        var taken: [(lot: Int, points: Int64)] = []
        var start = firstConsumableLot
        let missing = takeOpenLots(points, at: moment, start: &start, taken: &taken)
        firstConsumableLot = start
        guard missing == 0, taken.allSatisfy({ expiredByLot[lots[$0.lot].awardedAt] == nil }) else {
            reallocate()
            return
        }
        for entry in taken { lots[entry.lot].remaining -= entry.points }
        pointsOutstanding -= points
        refreshOpenLots(from: firstOpenLot)
    }

    /// Takes `points` at `moment` from the lots open then (awarded at or before it, not
    /// ended), oldest first, from `start` on (moved past the lots used up or ended then).
    /// Returns the points it could not find; `taken` gets what came from which lot.
    private mutating func takeOpenLots(_ points: Int64, at moment: Timestamp, start: inout Int, taken: inout [(lot: Int, points: Int64)]) -> Int64 {
        while start < lots.count, lots[start].awardedAt <= moment,
            lots[start].consumed >= lots[start].points || Self.lotHasEnded(lots[start], at: moment) {
            start += 1
        }
        var left = points
        var index = start
        while left > 0, index < lots.count, lots[index].awardedAt <= moment {
            let room = lots[index].points - lots[index].consumed
            if room > 0, !Self.lotHasEnded(lots[index], at: moment) {
                let take = min(left, room)
                lots[index].consumed += take
                left -= take
                taken.append((index, take))
            }
            index += 1
        }
        return left
    }

    /// `PointsExpired` (points > 0) or its correction (either sign) for the lots at `awardedAt`.
    private mutating func expire(_ points: Int64, awardedAt: Timestamp) {
        let net = (expiredByLot[awardedAt] ?? 0) + points
        expiredByLot[awardedAt] = net == 0 ? nil : net
        guard consumptionOutsideLots == 0 else {
            reallocate()
            return
        }
        let first = lotIndex(awardedAt: awardedAt)
        var before: Int64 = 0
        var index = first
        while index < lots.count, lots[index].awardedAt == awardedAt {
            before += lots[index].expired
            index += 1
        }
        shareExpiry(of: awardedAt, from: first)
        var after: Int64 = 0
        for k in first..<index {
            after += lots[k].expired
            lots[k].remaining = lots[k].points - lots[k].consumed - lots[k].expired
        }
        pointsOutstanding -= after - before
        expiredPoints += after - before
        refreshOpenLots(from: first)
    }

    /// Shares the net points expired for lot moment `awardedAt` among the lots of that
    /// moment (from index `first`), in lot order, each up to what consumptions left in it.
    private mutating func shareExpiry(of awardedAt: Timestamp, from first: Int) {
        var left = max(0, expiredByLot[awardedAt] ?? 0)
        var index = first
        while index < lots.count, lots[index].awardedAt == awardedAt {
            let share = min(left, max(0, lots[index].points - lots[index].consumed))
            lots[index].expired = share
            left -= share
            index += 1
        }
    }

    /// Allocates every consumption again in world order, then shares the recorded expiries,
    /// and sets the sums and indexes that follow from the lots.
    private mutating func reallocate() {
        var expiredBefore: Int64 = 0
        for index in lots.indices {
            expiredBefore += lots[index].expired
            lots[index].consumed = 0
            lots[index].expired = 0
        }
        var start = 0
        var outside: Int64 = 0
        var taken: [(lot: Int, points: Int64)] = []
        for consumption in consumptions {
            outside += takeOpenLots(consumption.points, at: consumption.at, start: &start, taken: &taken)
            taken.removeAll(keepingCapacity: true)
        }
        firstConsumableLot = start
        consumptionOutsideLots = outside
        for awardedAt in expiredByLot.keys { shareExpiry(of: awardedAt, from: lotIndex(awardedAt: awardedAt)) }
        for index in lots.indices { lots[index].remaining = lots[index].points - lots[index].consumed - lots[index].expired }
        // What found no lot open at its moment (a log out of step with the rules) comes out
        // of whatever is left, oldest first, so the balance still agrees with the events.
        var left = outside
        for index in lots.indices where left > 0 && lots[index].remaining > 0 {
            let take = min(left, lots[index].remaining)
            lots[index].consumed += take
            lots[index].remaining -= take
            left -= take
        }
        var expiredAfter: Int64 = 0
        var outstanding: Int64 = 0
        for lot in lots {
            expiredAfter += lot.expired
            outstanding += lot.remaining
        }
        pointsOutstanding = outstanding
        expiredPoints += expiredAfter - expiredBefore
        firstOpenLot = 0
        refreshOpenLots(from: 0)
    }

    /// Moves `firstOpenLot` back to `index` (the first lot a change touched), then past the
    /// used-up lots, and refreshes `nextExpiry`.
    private mutating func refreshOpenLots(from index: Int) {
        if index < firstOpenLot { firstOpenLot = index }
        while firstOpenLot < lots.count, lots[firstOpenLot].remaining == 0 { firstOpenLot += 1 }
        refreshNextExpiry()
    }

    private mutating func refreshNextExpiry() {
        nextExpiry = nil
        for index in firstOpenLot..<lots.count where lots[index].remaining > 0 {
            if nextExpiry.map({ lots[index].expiresAt < $0 }) ?? true { nextExpiry = lots[index].expiresAt }
        }
    }

    /// Lots with points left that have expired at `moment` (expiresAt ≤ moment), oldest first.
    public func lotsExpired(at moment: Timestamp) -> [PointsLot] {
        guard let next = nextExpiry, next <= moment else { return [] }
        var result: [PointsLot] = []
        for index in firstOpenLot..<lots.count where lots[index].remaining > 0 && Self.lotHasEnded(lots[index], at: moment) {
            result.append(lots[index])
        }
        return result
    }

    /// Drops lots that are used up and were awarded at or before `cutoff`: they no longer
    /// change any balance, and once older than the qualifying window they no longer count
    /// toward qualifying points either. Keeps snapshots small for long histories.
    ///
    /// Each consumption keeps only the points it took from the lots that stay, so allocating
    /// again gives those lots what they hold now: a lot that arrives late, dated after
    /// `cutoff`, comes after the dropped lots in world time and does not change what they
    /// gave. (One dated at or before `cutoff` would have been consumed before some of them;
    /// a fold from the log, as a rebuild does, is exact there.)
    public mutating func dropSpentLots(awardedAtOrBefore cutoff: Timestamp) {
        // Lots are in award order: the search stops at the first lot after the cutoff (a
        // snapshot written every catch-up mostly finds nothing to drop).
        guard consumptionOutsideLots == 0, lots.prefix(while: { $0.awardedAt <= cutoff }).contains(where: { $0.remaining == 0 })
        else { return }
        let dropped = lots.map { $0.remaining == 0 && $0.awardedAt <= cutoff }
        var replay = self
        for index in replay.lots.indices { replay.lots[index].consumed = 0 }
        var start = 0
        var taken: [(lot: Int, points: Int64)] = []
        for index in consumptions.indices {
            _ = replay.takeOpenLots(consumptions[index].points, at: consumptions[index].at, start: &start, taken: &taken)
            for entry in taken where dropped[entry.lot] { consumptions[index].points -= entry.points }
            taken.removeAll(keepingCapacity: true)
        }
        consumptions.removeAll { $0.points <= 0 }
        for (index, lot) in lots.enumerated() where dropped[index] && lot.expired > 0 {
            let net = (expiredByLot[lot.awardedAt] ?? 0) - lot.expired
            expiredByLot[lot.awardedAt] = net <= 0 ? nil : net
        }
        var kept: [PointsLot] = []
        kept.reserveCapacity(lots.count)
        for (index, lot) in lots.enumerated() where !dropped[index] { kept.append(lot) }
        lots = kept
        let keptMoments = Set(lots.map(\.awardedAt))
        expiredByLot = expiredByLot.filter { keptMoments.contains($0.key) }
        firstOpenLot = lots.firstIndex { $0.remaining > 0 } ?? lots.count
        firstConsumableLot = 0
        if let latest = latestConsumptionAt {
            while firstConsumableLot < lots.count, lots[firstConsumableLot].awardedAt <= latest,
                lots[firstConsumableLot].consumed >= lots[firstConsumableLot].points || Self.lotHasEnded(lots[firstConsumableLot], at: latest) {
                firstConsumableLot += 1
            }
        }
        windowEnd = nil
        windowFirst = 0
        windowLast = 0
        windowSum = 0
    }

    /// Lots with points left as recorded (ended ones included until their `PointsExpired`
    /// is applied), oldest first.
    public var openLots: [PointsLot] { lots[firstOpenLot...].filter { $0.remaining > 0 } }

    /// Whether a lot has ended at `moment`: at or after its `expiresAt`. The one boundary
    /// used by the lazy expiry (`lotsExpired(at:)`, `LoyaltyPolicy.process`), by the
    /// periodic expiry and by every balance shown.
    public static func lotHasEnded(_ lot: PointsLot, at moment: Timestamp) -> Bool {
        lot.expiresAt <= moment
    }

    /// The points a redemption at `moment` could take: what is left in lots that have not
    /// ended by then, whether or not the `PointsExpired` of the ended ones is recorded yet.
    /// An offboarded client can redeem nothing, so it has none. `LoyaltyPolicy.process`
    /// checks redemptions and negative adjustments against exactly this figure, so what is
    /// shown as available is what can be taken. The state is the one the caller folded
    /// (cut at `moment` for a view as of a date).
    public func pointsAvailable(at moment: Timestamp) -> Int64 {
        guard !isOffboarded else { return 0 }
        guard let next = nextExpiry, next <= moment else { return pointsOutstanding }
        // What `lotsExpired(at:)` would list, summed in place: a long-lived client has
        // thousands of lots, and copying them out for a sum was most of a catch-up.
        var ended: Int64 = 0
        for index in firstOpenLot..<lots.count where lots[index].remaining > 0 && Self.lotHasEnded(lots[index], at: moment) {
            ended += lots[index].remaining
        }
        return pointsOutstanding - ended
    }

    /// The lots `pointsAvailable(at:)` counts, oldest first: points left, not ended at
    /// `moment`; none for an offboarded client.
    public func availableLots(at moment: Timestamp) -> [PointsLot] {
        guard !isOffboarded else { return [] }
        return openLots.filter { !Self.lotHasEnded($0, at: moment) }
    }

    /// The part of `pointsAvailable(at: moment)` in lots that end in (moment, moment + days]:
    /// a lot that has already ended is in neither figure, so nothing is counted twice.
    public func pointsExpiring(after moment: Timestamp, withinDays days: Int64) -> Int64 {
        guard !isOffboarded else { return 0 }
        let end = moment.adding(days: days)
        var total: Int64 = 0
        for index in firstOpenLot..<lots.count where !Self.lotHasEnded(lots[index], at: moment) && lots[index].expiresAt <= end {
            total += lots[index].remaining
        }
        return total
    }

    // MARK: - Qualification

    /// Points awarded with `awardedAt` in (moment − windowDays, moment].
    public mutating func qualifyingPoints(at moment: Timestamp, windowDays: Int64) -> Int64 {
        let start = moment.adding(days: -windowDays)
        if let end = windowEnd, moment >= end {
            // Slide forward: add new lots up to moment, drop lots at or before start.
            while windowLast < lots.count, lots[windowLast].awardedAt <= moment {
                if lots[windowLast].fromAward { windowSum += lots[windowLast].points }
                windowLast += 1
            }
            while windowFirst < windowLast, lots[windowFirst].awardedAt <= start {
                if lots[windowFirst].fromAward { windowSum -= lots[windowFirst].points }
                windowFirst += 1
            }
            windowEnd = moment
            return windowSum
        }
        // Recompute from scratch (first query, or a moment earlier than the last one).
        windowSum = 0
        windowFirst = lots.firstIndex { $0.awardedAt > start } ?? lots.count
        windowLast = windowFirst
        while windowLast < lots.count, lots[windowLast].awardedAt <= moment {
            if lots[windowLast].fromAward { windowSum += lots[windowLast].points }
            windowLast += 1
        }
        windowEnd = moment
        return windowSum
    }

    /// Qualifying points without touching the sliding window (for reports).
    public func qualifyingPointsSnapshot(at moment: Timestamp, windowDays: Int64) -> Int64 {
        let start = moment.adding(days: -windowDays)
        var total: Int64 = 0
        for lot in lots where lot.fromAward && lot.awardedAt > start && lot.awardedAt <= moment { total += lot.points }
        return total
    }

    /// The risk assessment, if it is still valid at `moment`.
    public func validRisk(at moment: Timestamp, validDays: Int64) -> RiskAssessment? {
        guard let risk, risk.assessedAt <= moment, moment < risk.assessedAt.adding(days: validDays) else { return nil }
        return risk
    }
}

// MARK: - Memory

extension ClientState {
    /// About how many bytes of memory the state holds: the struct, its lots, consumptions
    /// and tier changes, its sets and maps, its longer texts. What an import counts against
    /// its budget of resident client states; a model, checked against measured peaks.
    public var approximateBytes: Int {
        var bytes = MemoryLayout<ClientState>.stride + 192
        bytes += lots.capacity * MemoryLayout<PointsLot>.stride
        bytes += consumptions.capacity * MemoryLayout<Consumption>.stride
        bytes += tierHistory.capacity * MemoryLayout<TierChange>.stride
        bytes += (holdings.count + campaigns.count + acknowledgedWarnings.count + expiredByLot.count + surveyAwardsByQuarter.count) * 64
        for text in [clientId, name, branch] where text.utf8.count > 15 { bytes += text.utf8.count + 32 }
        return bytes
    }
}

// MARK: - Snapshots

extension ClientState {
    /// Writes the whole state, caches included, in the compact snapshot form: the lots from
    /// `lotsFrom` on (the ones before it go in pages of their own, `encodeLots`).
    public func encode(to w: inout BinaryWriter, lotsFrom: Int = 0) {
        w.string(clientId)
        w.int(adjustmentLotLifetimeDays)
        w.int(version)
        w.optional(registeredAt) { $0.timestamp($1) }
        w.optional(lastEventAt) { $0.timestamp($1) }
        w.optional(offboardedAt) { $0.timestamp($1) }
        w.string(name)
        w.string(segment.rawValue)
        w.string(investorType.rawValue)
        w.string(branch)
        w.string(tier.rawValue)
        w.optional(tierSince) { $0.timestamp($1) }
        w.int(tierHistory.count)
        for change in tierHistory {
            w.timestamp(change.at)
            w.string(change.from.rawValue)
            w.string(change.to.rawValue)
            w.string(change.reason.rawValue)
        }
        // How many lots are in pages before this snapshot, then the rest.
        let start = min(max(0, lotsFrom), lots.count)
        w.int(start)
        encodeLots(start..<lots.count, to: &w)
        // Consumptions in world order, delta-encoded in time; net expiries by lot moment.
        w.int(consumptions.count)
        var previousAt: Int64 = 0
        for consumption in consumptions {
            w.int(consumption.at.millisecondsSinceEpoch - previousAt)
            previousAt = consumption.at.millisecondsSinceEpoch
            w.int(consumption.points)
        }
        w.optional(latestConsumptionAt) { $0.timestamp($1) }
        w.int(expiredByLot.count)
        for (awardedAt, points) in expiredByLot.sorted(by: { $0.key < $1.key }) {
            w.timestamp(awardedAt)
            w.int(points)
        }
        w.int(consumptionOutsideLots)
        w.int(firstConsumableLot)
        for value in [pointsOutstanding, lifetimePoints, redeemedPoints, expiredPoints, adjustedPoints, netAssets.cents] { w.int(value) }
        w.optional(risk) { w, risk in
            w.string(risk.level.rawValue)
            w.int(risk.score)
            w.bool(risk.lowestCategory)
            w.timestamp(risk.assessedAt)
        }
        w.int(holdings.count)
        for holding in holdings.sorted() { w.string(holding) }
        w.optional(firstActivityAt) { $0.timestamp($1) }
        w.optional(lastActivityAt) { $0.timestamp($1) }
        w.int(surveyAwardsByQuarter.count)
        for (quarter, count) in surveyAwardsByQuarter.sorted(by: { $0.key < $1.key }) {
            w.int(quarter)
            w.int(count)
        }
        w.int(firstOpenLot)
        w.optional(nextExpiry) { $0.timestamp($1) }
        w.int(campaigns.count)
        for (id, membership) in campaigns.sorted(by: { $0.key < $1.key }) {
            w.string(id)
            w.optional(membership.group) { $0.string($1.rawValue) }
            w.int(membership.points)
        }
        w.int(acknowledgedWarnings.count)
        for (productId, at) in acknowledgedWarnings.sorted(by: { $0.key < $1.key }) {
            w.string(productId)
            w.timestamp(at)
        }
        w.int(suitabilityFlags)
        w.optional(erasedAt) { $0.timestamp($1) }
    }

    /// Writes the lots in `range`: their count, then each delta-encoded (award time from the
    /// previous lot's, the first from 0; expiry from the award time plus the usual lifetime).
    public func encodeLots(_ range: Range<Int>, to w: inout BinaryWriter) {
        w.int(range.count)
        var previous: Int64 = 0
        let lifetime = adjustmentLotLifetimeDays * Timestamp.millisecondsPerDay
        for lot in lots[range] {
            w.int(lot.awardedAt.millisecondsSinceEpoch - previous)
            previous = lot.awardedAt.millisecondsSinceEpoch
            w.int(lot.expiresAt.millisecondsSinceEpoch - lot.awardedAt.millisecondsSinceEpoch - lifetime)
            w.int(lot.points)
            w.int(lot.consumed << 1 | (lot.fromAward ? 1 : 0))
            w.int(lot.expired)
        }
    }

    /// Reads the lots of a run written by `encodeLots`, after its count, and appends them.
    private mutating func decodeLots(_ count: Int, from r: inout BinaryReader) throws {
        guard count > 0 else { return }
        var previous: Int64 = 0
        let lifetime = adjustmentLotLifetimeDays * Timestamp.millisecondsPerDay
        // Five integers a lot, read in one pass.
        let values = UnsafeMutablePointer<Int64>.allocate(capacity: count * 5)
        defer { values.deallocate() }
        try r.ints(count * 5, into: values)
        for k in 0..<count {
            let v = values + k * 5
            let awardedAt = previous &+ v[0]
            previous = awardedAt
            let expiresAt = awardedAt &+ lifetime &+ v[1]
            let points = v[2]
            let consumed = v[3] >> 1
            let expired = v[4]
            guard consumed >= 0, expired >= 0, consumed <= points, expired <= points - consumed else { throw BinaryReader.Malformed() }
            lots.append(PointsLot(
                awardedAt: Timestamp(millisecondsSinceEpoch: awardedAt), expiresAt: Timestamp(millisecondsSinceEpoch: expiresAt),
                points: points, remaining: points - consumed - expired, fromAward: v[3] & 1 == 1,
                consumed: consumed, expired: expired))
        }
    }

    /// Reads a state written by `encode(to:lotsFrom:)`, with the lots before `lotsFrom` read
    /// from `lotPages` (each written by `encodeLots`, in order).
    public init(from r: inout BinaryReader, lotPages: [[UInt8]] = []) throws {
        self.init(clientId: try r.string(), adjustmentLotLifetimeDays: try r.int())
        version = try r.int()
        registeredAt = try r.optional { try $0.timestamp() }
        lastEventAt = try r.optional { try $0.timestamp() }
        offboardedAt = try r.optional { try $0.timestamp() }
        name = try r.string()
        segment = try r.choice(Segment.self)
        investorType = try r.choice(InvestorType.self)
        branch = try r.string()
        tier = try r.choice(Tier.self)
        tierSince = try r.optional { try $0.timestamp() }
        for _ in 0..<(try r.count()) {
            tierHistory.append(TierChange(
                at: try r.timestamp(), from: try r.choice(Tier.self), to: try r.choice(Tier.self),
                reason: try r.choice(TierChangeReason.self)))
        }
        let paged = try r.int()
        let unpaged = try r.count()
        guard paged >= 0, paged <= Int64(Int32.max) else { throw BinaryReader.Malformed() }
        // Room for the lots a catch-up adds, so the first one does not copy them all.
        let lotCount = Int(paged) + unpaged
        lots.reserveCapacity(lotCount + lotCount / 8 + 4)
        for page in lotPages {
            var pageReader = BinaryReader(page)
            try decodeLots(try pageReader.count(), from: &pageReader)
            guard pageReader.isAtEnd else { throw BinaryReader.Malformed() }
        }
        guard lots.count == Int(paged) else { throw BinaryReader.Malformed() }
        try decodeLots(unpaged, from: &r)
        let consumptionCount = try r.count()
        consumptions.reserveCapacity(consumptionCount)
        var previousAt: Int64 = 0
        for _ in 0..<consumptionCount {
            previousAt += try r.int()
            consumptions.append(Consumption(at: Timestamp(millisecondsSinceEpoch: previousAt), points: try r.int()))
        }
        latestConsumptionAt = try r.optional { try $0.timestamp() }
        for _ in 0..<(try r.count()) {
            let awardedAt = try r.timestamp()
            expiredByLot[awardedAt] = try r.int()
        }
        consumptionOutsideLots = try r.int()
        firstConsumableLot = try r.count()
        guard firstConsumableLot <= lotCount else { throw BinaryReader.Malformed() }
        pointsOutstanding = try r.int()
        lifetimePoints = try r.int()
        redeemedPoints = try r.int()
        expiredPoints = try r.int()
        adjustedPoints = try r.int()
        netAssets = Money(cents: try r.int())
        risk = try r.optional { r in
            RiskAssessment(level: try r.choice(RiskLevel.self), score: try r.int(), lowestCategory: try r.bool(), assessedAt: try r.timestamp())
        }
        for _ in 0..<(try r.count()) { holdings.insert(try r.string()) }
        firstActivityAt = try r.optional { try $0.timestamp() }
        lastActivityAt = try r.optional { try $0.timestamp() }
        for _ in 0..<(try r.count()) {
            let quarter = try r.int()
            surveyAwardsByQuarter[quarter] = try r.int()
        }
        firstOpenLot = try r.count()
        nextExpiry = try r.optional { try $0.timestamp() }
        for _ in 0..<(try r.count()) {
            let id = try r.string()
            let group = try r.optional { try $0.choice(CampaignGroup.self) }
            campaigns[id] = CampaignMembership(group: group, points: try r.int())
        }
        for _ in 0..<(try r.count()) {
            let productId = try r.string()
            acknowledgedWarnings[productId] = try r.timestamp()
        }
        suitabilityFlags = try r.int()
        erasedAt = try r.optional { try $0.timestamp() }
        guard firstOpenLot <= lots.count else { throw BinaryReader.Malformed() }
    }
}
