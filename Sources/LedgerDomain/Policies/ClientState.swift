import LedgerCore

/// Points from one award (or one positive adjustment), consumed oldest first.
public struct PointsLot: Sendable, Equatable {
    public var awardedAt: Timestamp
    public var expiresAt: Timestamp
    public var points: Int64
    public var remaining: Int64
    /// Awards count toward qualifying points; manual adjustments do not.
    public var fromAward: Bool
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

    /// Points a consumption applied in stream order could not find in lots (a late
    /// redemption whose lots were already expired as recorded), until the expiry correction
    /// of the same transaction gives them back. Not part of snapshots: both are always
    /// applied together.
    private var unallocatedConsumption: Int64 = 0
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
            consumeOldestFirst(points)
            redeemedPoints += points
        case .pointsAdjusted(let points, _, _):
            adjustedPoints += points
            if points > 0 {
                addLot(PointsLot(
                    awardedAt: moment, expiresAt: moment.adding(days: adjustmentLotLifetimeDays),
                    points: points, remaining: points, fromAward: false))
            } else {
                consumeOldestFirst(-points)
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
        case .tierChanged(let from, let to, let reason):
            if let last = tierHistory.last, moment < last.at || (reason == .corrected && moment == last.at) {
                // Out of world order (a late fact's upgrade or a correction): the history in
                // world time is rewritten from this moment on.
                Self.applyTierChange(to: to, at: moment, reason: reason, history: &tierHistory)
                tier = tierHistory.last?.to ?? .standard
                tierSince = tierHistory.last?.at ?? registeredAt
            } else if reason == .corrected {
                Self.applyTierChange(to: to, at: moment, reason: reason, history: &tierHistory)
                tier = tierHistory.last?.to ?? .standard
                tierSince = tierHistory.last?.at ?? registeredAt
            } else {
                tier = to
                tierSince = moment
                tierHistory.append(TierChange(at: moment, from: from, to: to, reason: reason))
            }
        case .pointsCorrected(let points, _, let decision, let lotAwardedAt, _):
            switch decision {
            case .pointsAwarded: correctAward(by: points, awardedAt: lotAwardedAt)
            case .pointsExpired: correctExpiry(by: points, awardedAt: lotAwardedAt)
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
        if points > 0 {
            if let index = lots.firstIndex(where: { $0.fromAward && $0.awardedAt == awardedAt }) {
                lots[index].points += points
                lots[index].remaining += points
                pointsOutstanding += points
                if index < firstOpenLot { firstOpenLot = index }
                refreshNextExpiry()
            } else {
                addLot(PointsLot(
                    awardedAt: awardedAt, expiresAt: awardedAt.adding(days: adjustmentLotLifetimeDays),
                    points: points, remaining: points, fromAward: true))
            }
            return
        }
        var left = -points
        var deficit: Int64 = 0
        for index in lots.indices where left > 0 && lots[index].fromAward && lots[index].awardedAt == awardedAt {
            let take = min(left, lots[index].points)
            lots[index].points -= take
            let fromRemaining = min(take, lots[index].remaining)
            lots[index].remaining -= fromRemaining
            pointsOutstanding -= fromRemaining
            deficit += take - fromRemaining
            left -= take
        }
        while firstOpenLot < lots.count, lots[firstOpenLot].remaining == 0 { firstOpenLot += 1 }
        // Points of the lot already taken (recorded order) come out of the other lots.
        if deficit > 0 { consumeOldestFirst(deficit) } else { refreshNextExpiry() }
    }

    /// A `PointsCorrected` of an expiry: more (points > 0) or fewer points of the lot at
    /// `awardedAt` expired.
    private mutating func correctExpiry(by points: Int64, awardedAt: Timestamp) {
        if points > 0 {
            expire(points, awardedAt: awardedAt)
            return
        }
        var left = -points
        for index in lots.indices where left > 0 && lots[index].awardedAt == awardedAt {
            let room = lots[index].points - lots[index].remaining
            let back = min(left, room)
            lots[index].remaining += back
            left -= back
            if back > 0, index < firstOpenLot { firstOpenLot = index }
        }
        let restored = -points - left
        // Points a late consumption took in world time from this lot before it ended.
        let taken = min(unallocatedConsumption, restored)
        if taken > 0 {
            unallocatedConsumption -= taken
            var give = taken
            for index in lots.indices.reversed() where give > 0 && lots[index].awardedAt == awardedAt {
                let back = min(give, lots[index].remaining)
                lots[index].remaining -= back
                give -= back
            }
            while firstOpenLot < lots.count, lots[firstOpenLot].remaining == 0 { firstOpenLot += 1 }
        }
        pointsOutstanding += restored - taken
        expiredPoints -= restored
        refreshNextExpiry()
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
        if index < firstOpenLot { firstOpenLot = index }
        pointsOutstanding += lot.remaining
        if nextExpiry.map({ lot.expiresAt < $0 }) ?? true { nextExpiry = lot.expiresAt }
    }

    /// Consumes points from the oldest lots first (redemptions, negative adjustments).
    private mutating func consumeOldestFirst(_ points: Int64) {
        var left = points
        var index = firstOpenLot
        while left > 0, index < lots.count {
            let take = min(left, lots[index].remaining)
            lots[index].remaining -= take
            left -= take
            if lots[index].remaining == 0, index == firstOpenLot { firstOpenLot += 1 }
            index += 1
        }
        pointsOutstanding -= points - left
        // Only a late consumption, recorded after the expiry of the lots it took from in
        // world time, finds too few points; its expiry correction that follows in the same
        // transaction gives them back (see `correctExpiry`).
        unallocatedConsumption += left
        refreshNextExpiry()
    }

    private mutating func expire(_ points: Int64, awardedAt: Timestamp) {
        var left = points
        for index in firstOpenLot..<lots.count where left > 0 && lots[index].awardedAt == awardedAt && lots[index].remaining > 0 {
            let take = min(left, lots[index].remaining)
            lots[index].remaining -= take
            left -= take
        }
        while firstOpenLot < lots.count, lots[firstOpenLot].remaining == 0 { firstOpenLot += 1 }
        pointsOutstanding -= points - left
        expiredPoints += points - left
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
    public mutating func dropSpentLots(awardedAtOrBefore cutoff: Timestamp) {
        let before = lots.count
        lots.removeAll { $0.remaining == 0 && $0.awardedAt <= cutoff }
        guard lots.count != before else { return }
        firstOpenLot = lots.firstIndex { $0.remaining > 0 } ?? lots.count
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
        return pointsOutstanding - lotsExpired(at: moment).reduce(0) { $0 + $1.remaining }
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

// MARK: - Snapshots

extension ClientState {
    /// Writes the whole state, caches included, in the compact snapshot form.
    public func encode(to w: inout BinaryWriter) {
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
        // Lots are delta-encoded: award time from the previous lot's, expiry from the award
        // time plus the usual lifetime, what is left from the points.
        w.int(lots.count)
        var previous: Int64 = 0
        let lifetime = adjustmentLotLifetimeDays * Timestamp.millisecondsPerDay
        for lot in lots {
            w.int(lot.awardedAt.millisecondsSinceEpoch - previous)
            previous = lot.awardedAt.millisecondsSinceEpoch
            w.int(lot.expiresAt.millisecondsSinceEpoch - lot.awardedAt.millisecondsSinceEpoch - lifetime)
            w.int(lot.points)
            w.int((lot.points - lot.remaining) << 1 | (lot.fromAward ? 1 : 0))
        }
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

    /// Reads a state written by `encode(to:)`.
    public init(from r: inout BinaryReader) throws {
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
        let lotCount = try r.count()
        lots.reserveCapacity(lotCount)
        var previous: Int64 = 0
        let lifetime = adjustmentLotLifetimeDays * Timestamp.millisecondsPerDay
        for _ in 0..<lotCount {
            let awardedAt = previous + (try r.int())
            previous = awardedAt
            let expiresAt = awardedAt + lifetime + (try r.int())
            let points = try r.int()
            let usedAndSource = try r.int()
            lots.append(PointsLot(
                awardedAt: Timestamp(millisecondsSinceEpoch: awardedAt), expiresAt: Timestamp(millisecondsSinceEpoch: expiresAt),
                points: points, remaining: points - (usedAndSource >> 1), fromAward: usedAndSource & 1 == 1))
        }
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
