import LedgerCore

/// One event of a client's stream as recorded, in stream order: what the late-fact policy
/// replays.
public struct LoggedEvent: Sendable, Equatable {
    public var eventId: String
    public var payload: EventPayload
    public var occurredAt: Timestamp
    public var isDecision: Bool

    public init(eventId: String, payload: EventPayload, occurredAt: Timestamp, isDecision: Bool) {
        self.eventId = eventId
        self.payload = payload
        self.occurredAt = occurredAt
        self.isDecision = isDecision
    }
}

/// Late facts (rules.md, "Late facts"): a fact dated before events already recorded for its
/// client is judged on the client's state at its own moment, and the decisions recorded
/// after that moment are corrected by new decisions, so that the recorded decisions agree
/// with the rules applied to the facts in world (`occurredAt`) order.
///
/// The world is recomputed by replaying the client's facts in `occurredAt` order (ties in
/// stream order, the late fact after the facts of its moment) through `LoyaltyPolicy`, with
/// the recorded downgrades and reevaluations of the periodic jobs replayed at their dates.
/// Recorded events are never changed; what differs is written as:
/// - the late fact's own award (`PointsAwarded`) and, when the client qualified at once,
///   its `TierChanged(qualified)`;
/// - `PointsCorrected` (award) for every other fact whose award should have been different
///   (naming the award, or the fact when no award was written);
/// - `PointsExpired` for a lot that should have expired and did not, `PointsCorrected`
///   (expiry) where the points expired should have been different;
/// - `TierChanged(corrected)` for the tier history from the first moment where it differs.
public enum LateFactPolicy {
    /// Whether a fact for a client in `state` is late: dated before the latest event
    /// recorded for the client (a fact at the same moment is in order).
    public static func isLate(_ fact: EventPayload, at moment: Timestamp, state: ClientState) -> Bool {
        guard state.isRegistered, !state.isOffboarded, let last = state.lastEventAt else { return false }
        if case .clientRegistered = fact { return false }
        return moment < last
    }

    /// The late fact and the decisions it causes, in the order to write them. `log` is the
    /// client's stream as recorded, `current` the state folded from it. Throws when the late
    /// fact is refused at its moment, or when it would make a recorded fact refused.
    public static func plan(
        _ fact: EventPayload, eventId: String, at moment: Timestamp, log: [LoggedEvent], current: ClientState, rules: Rules
    ) throws(FieldError) -> [PlannedEvent] {
        if let registeredAt = current.registeredAt, moment < registeredAt {
            throw FieldError(field: "occurredAt", problem: "\(moment.iso8601) is before the client's registration at \(registeredAt.iso8601)")
        }
        // The world in occurredAt order: facts, the periodic jobs' tier decisions, and the
        // campaigns' decisions (enrolments and awards are taken as recorded: a late fact does
        // not re-decide them, but their points count in the world like any other).
        enum Item { case fact(Int), downgrade, reevaluation, campaign(Int) }
        var items: [(at: Timestamp, seq: Int, item: Item)] = []
        items.reserveCapacity(log.count / 2 + 2)
        var latestExpiryLotEnd: Timestamp?
        for (index, event) in log.enumerated() {
            if !event.isDecision {
                items.append((event.occurredAt, index, .fact(index)))
                continue
            }
            switch event.payload {
            case .tierChanged(_, _, .downgraded, _): items.append((event.occurredAt, index, .downgrade))
            case .tierChanged(_, _, .reevaluated, _): items.append((event.occurredAt, index, .reevaluation))
            case .pointsAwarded(_, .campaign, _, _), .campaignEnrolled: items.append((event.occurredAt, index, .campaign(index)))
            case .pointsExpired:
                if latestExpiryLotEnd.map({ event.occurredAt > $0 }) ?? true { latestExpiryLotEnd = event.occurredAt }
            default: break
            }
        }
        items.append((moment, log.count, .fact(-1)))
        items.sort { $0.at != $1.at ? $0.at < $1.at : $0.seq < $1.seq }

        var world = ClientState(clientId: current.clientId, adjustmentLotLifetimeDays: current.adjustmentLotLifetimeDays)
        var idealAward: [Int: Int64] = [:]  // fact index (−1: the late fact) → points
        var idealExpired: [Timestamp: (points: Int64, lotEnd: Timestamp)] = [:]
        var ownTierChange: TierChange?
        var ownFlags: [PlannedEvent] = []
        var latestFact = moment
        for entry in items {
            switch entry.item {
            case .fact(let index):
                let payload = index < 0 ? fact : log[index].payload
                let at = index < 0 ? moment : log[index].occurredAt
                if at > latestFact { latestFact = at }
                let steps: [PlannedEvent]
                do {
                    steps = try LoyaltyPolicy.process(payload, at: at, state: &world, rules: rules)
                } catch {
                    if index < 0 {
                        throw FieldError(field: error.field, problem: "late fact \(eventId) at \(moment.iso8601): \(error.problem)")
                    }
                    throw FieldError(
                        field: "occurredAt",
                        problem: "late fact \(eventId) at \(moment.iso8601) would make the recorded \(log[index].payload.type.rawValue) \(log[index].eventId) at \(at.iso8601) refused (\(error.field): \(error.problem))")
                }
                for step in steps where step.isDecision {
                    switch step.payload {
                    case .pointsAwarded(let points, _, _, _): idealAward[index, default: 0] += points
                    case .pointsExpired(let points, let lotAwardedAt):
                        idealExpired[lotAwardedAt, default: (0, step.occurredAt)].points += points
                    case .tierChanged(let from, let to, let reason, _) where index < 0:
                        ownTierChange = TierChange(at: at, from: from, to: to, reason: reason)
                    case .suitabilityBreachFlagged where index < 0:
                        // A late purchase is judged on the client's state at its moment.
                        ownFlags.append(step)
                    default: break
                    }
                }
            case .downgrade:
                if let step = LoyaltyPolicy.downgrade(state: world, asOf: entry.at, rules: rules) {
                    world.apply(step.payload, at: step.occurredAt)
                }
            case .reevaluation:
                if let step = LoyaltyPolicy.reevaluation(state: world, asOf: entry.at, rules: rules) {
                    world.apply(step.payload, at: step.occurredAt)
                }
            case .campaign(let index):
                world.apply(log[index].payload, at: entry.at)
                if case .pointsAwarded = log[index].payload, let upgrade = LoyaltyPolicy.upgrade(state: &world, at: entry.at, rules: rules) {
                    world.apply(upgrade, at: entry.at)
                }
            }
        }
        // Lots that have ended by the latest fact, or by the latest expiry recorded (a
        // periodic expiry), expire in the world too.
        var horizon = latestFact
        if let end = latestExpiryLotEnd, end > horizon { horizon = end }
        for step in LoyaltyPolicy.expiries(state: world, asOf: horizon) {
            if case .pointsExpired(let points, let lotAwardedAt) = step.payload {
                idealExpired[lotAwardedAt, default: (0, step.occurredAt)].points += points
            }
            world.apply(step.payload, at: step.occurredAt)
        }

        // What is recorded: awards by the fact that caused them (a decision follows its
        // cause in the stream), expiries by lot, with the corrections already written.
        var recordedAward: [Int: (id: String, points: Int64)] = [:]
        var factOfAward: [String: Int] = [:]
        var factIndexById: [String: Int] = [:]
        var recordedExpired: [Timestamp: (id: String, points: Int64)] = [:]
        var lastFact = -1
        for (index, event) in log.enumerated() {
            if !event.isDecision {
                lastFact = index
                factIndexById[event.eventId] = index
                continue
            }
            switch event.payload {
            case .pointsAwarded(let points, let reason, _, _) where lastFact >= 0 && reason != .campaign:
                recordedAward[lastFact] = (event.eventId, (recordedAward[lastFact]?.points ?? 0) + points)
                factOfAward[event.eventId] = lastFact
            case .pointsExpired(let points, let lotAwardedAt):
                recordedExpired[lotAwardedAt] = (recordedExpired[lotAwardedAt]?.id ?? event.eventId, (recordedExpired[lotAwardedAt]?.points ?? 0) + points)
            case .pointsCorrected(let points, let corrects, .pointsAwarded, _, _):
                if let factIndex = factOfAward[corrects] ?? factIndexById[corrects] {
                    recordedAward[factIndex] = (recordedAward[factIndex]?.id ?? corrects, (recordedAward[factIndex]?.points ?? 0) + points)
                }
            case .pointsCorrected(let points, _, .pointsExpired, let lotAwardedAt, _):
                if let entry = recordedExpired[lotAwardedAt] { recordedExpired[lotAwardedAt] = (entry.id, entry.points + points) }
            default: break
            }
        }

        var planned: [PlannedEvent] = [PlannedEvent(payload: fact, occurredAt: moment, isDecision: false)]
        if let points = idealAward[-1], points > 0, let reason = awardReason(of: fact) {
            planned.append(PlannedEvent(
                payload: .pointsAwarded(points: points, reason: reason, campaignId: nil, expiresAt: moment.adding(days: rules.lotLifetimeDays)),
                occurredAt: moment, isDecision: true))
        }
        planned += ownFlags
        // Awards of the other facts, in world order.
        let factIndices = Set(idealAward.keys).union(recordedAward.keys).filter { $0 >= 0 }
            .sorted { log[$0].occurredAt != log[$1].occurredAt ? log[$0].occurredAt < log[$1].occurredAt : $0 < $1 }
        for index in factIndices {
            let ideal = idealAward[index] ?? 0
            let recorded = recordedAward[index]
            let delta = ideal - (recorded?.points ?? 0)
            guard delta != 0 else { continue }
            planned.append(PlannedEvent(
                payload: .pointsCorrected(
                    points: delta, corrects: recorded?.id ?? log[index].eventId, decision: .pointsAwarded,
                    lotAwardedAt: log[index].occurredAt, reason: .lateFact),
                occurredAt: log[index].occurredAt, isDecision: true))
        }
        // Expiries, by lot.
        for lot in Set(idealExpired.keys).union(recordedExpired.keys).sorted() {
            let ideal = idealExpired[lot]?.points ?? 0
            let recorded = recordedExpired[lot]
            let delta = ideal - (recorded?.points ?? 0)
            guard delta != 0 else { continue }
            let lotEnd = idealExpired[lot]?.lotEnd ?? lot.adding(days: rules.lotLifetimeDays)
            if let recorded {
                planned.append(PlannedEvent(
                    payload: .pointsCorrected(points: delta, corrects: recorded.id, decision: .pointsExpired, lotAwardedAt: lot, reason: .lateFact),
                    occurredAt: lotEnd, isDecision: true))
            } else {
                planned.append(PlannedEvent(payload: .pointsExpired(points: delta, lotAwardedAt: lot), occurredAt: lotEnd, isDecision: true))
            }
        }
        // The tier history, from the first change where the world and the record differ.
        var history = current.tierHistory
        let ideal = world.tierHistory
        var k = 0
        while k < history.count, k < ideal.count, history[k].at == ideal[k].at, history[k].from == ideal[k].from, history[k].to == ideal[k].to {
            k += 1
        }
        var changes: [(at: Timestamp, to: Tier, reason: TierChangeReason)] = []
        if k < history.count, k >= ideal.count || history[k].at < ideal[k].at {
            changes.append((history[k].at, ClientState.tier(in: ideal, at: history[k].at), .corrected))
        }
        for change in ideal.dropFirst(k) {
            let own = ownTierChange.map { $0.at == change.at && $0.to == change.to } ?? false
            changes.append((change.at, change.to, own ? .qualified : .corrected))
        }
        let recordedTiers = recordedTierChanges(log)
        for change in changes {
            let from = ClientState.tier(in: history, at: change.at)
            guard from != change.to else { continue }
            let corrects = change.reason == .corrected
                ? correctedDecision(at: change.at, recorded: recordedTiers, log: log, lateFact: eventId) : nil
            planned.append(PlannedEvent(
                payload: .tierChanged(from: from, to: change.to, reason: change.reason, corrects: corrects),
                occurredAt: change.at, isDecision: true))
            ClientState.applyTierChange(to: change.to, at: change.at, reason: change.reason, history: &history)
        }
        return planned
    }

    /// The recorded tier history in world time, as the fold gives it, with the eventId of
    /// the `TierChanged` behind each change.
    static func recordedTierChanges(_ log: [LoggedEvent]) -> [(change: TierChange, eventId: String)] {
        var history: [TierChange] = []
        var ids: [String] = []
        for event in log {
            guard case .tierChanged(let from, let to, let reason, _) = event.payload else { continue }
            let before = history
            ClientState.foldTierChange(from: from, to: to, reason: reason, at: event.occurredAt, history: &history)
            // The fold only drops changes from the end and appends at most one.
            var kept = 0
            while kept < min(before.count, history.count), before[kept] == history[kept] { kept += 1 }
            ids.removeLast(ids.count - kept)
            if history.count > kept { ids.append(event.eventId) }
        }
        return zip(history, ids).map { ($0, $1) }
    }

    /// What a `TierChanged(corrected)` dated `moment` corrects: the recorded change at that
    /// moment, else the recorded change in force then (the one that set the tier it
    /// replaces), else — the record holding no change by then — the event recorded at that
    /// moment whose decision should have been a change (the late fact when it is its own).
    static func correctedDecision(
        at moment: Timestamp, recorded: [(change: TierChange, eventId: String)], log: [LoggedEvent], lateFact: String
    ) -> String {
        if let entry = recorded.last(where: { $0.change.at <= moment }) { return entry.eventId }
        return log.last { !$0.isDecision && $0.occurredAt == moment }?.eventId
            ?? log.last { $0.occurredAt == moment }?.eventId
            ?? lateFact
    }

    static func awardReason(of fact: EventPayload) -> AwardReason? {
        switch fact {
        case .tradeExecuted: return .trade
        case .productPurchased: return .purchase
        case .fundsDeposited: return .deposit
        case .surveyAnswered: return .survey
        default: return nil
        }
    }
}
