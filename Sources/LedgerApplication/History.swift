import LedgerCore
import LedgerDomain
import LedgerStorage

// MARK: - History

/// One step of a client's history: the event, what caused it, and the state after it.
public struct HistoryStep: Sendable {
    public var event: RecordedEvent
    public var payload: EventPayload
    public var metadata: EventMetadata
    public var stateAfter: ClientState
    /// What a redemption could take right after the event, at the event's `occurredAt`:
    /// each row shows the state as it stood at that event's moment (not at the cut), so a
    /// lot that had ended by then is not counted even before its `PointsExpired`.
    public var pointsAvailable: Int64
    /// Points awarded in the qualifying window ending at the event's moment.
    public var pointsQualifying: Int64 = 0
    /// When the risk assessment in force stops being valid, and whether it is valid at the
    /// event's moment.
    public var riskValidUntil: Timestamp?
    public var riskValid = false
    /// The lifecycle stage at the event's moment (nil before the registration).
    public var stage: LifecycleStage?
    /// Products the client is eligible for right after the event, at its moment.
    public var eligibleFor: [String] = []
    /// What the event changed in eligibility, at its moment: products eligible after it and
    /// not before, and the reverse.
    public var eligibilityGained: [String] = []
    public var eligibilityLost: [String] = []
    /// The chain of causes back to the external fact: the cause first, then its cause, …
    /// empty for a fact.
    public var causeChain: [CauseLink] = []
}

/// One link of a decision's cause chain.
public struct CauseLink: Sendable, Equatable {
    public var eventId: String
    /// The cause as an event of the stream; nil when the cause is not an event (a periodic
    /// job run, whose id names the job and date).
    public var position: Int64?
    public var type: String?
    /// For a decision, the rules version that took it.
    public var rulesVersion: String?
    /// Whether this is the fact that came from outside (the end of the chain).
    public var isExternalFact: Bool
}

extension Ledger {
    /// A client's history in stream order, each event with the state after it. `asOf` keeps
    /// the events that occurred by then, `knownAt` those the ledger had recorded by then
    /// (what the firm knew at that moment).
    ///
    /// A cut that keeps no event is an empty answer, not an error: the client had no history
    /// yet. A client id the ledger has never seen is an error (bad input), so that a typo in
    /// the id is not mistaken for a client without history.
    public func history(_ clientId: String, asOf: Timestamp? = nil, knownAt: Timestamp? = nil) throws -> [HistoryStep] {
        guard try clientExists(clientId) else {
            throw InputError(line: nil, field: "client", problem: "no client \(clientId) in the ledger (no event has its id)")
        }
        var steps: [HistoryStep] = []
        var index: [String: Int] = [:]
        var before = ClientState(clientId: clientId, adjustmentLotLifetimeDays: rules.lotLifetimeDays)
        try readingStreams.fold(clientId, asOf: asOf, knownAt: knownAt) { event, payload, state in
            let moment = event.occurredMoment
            var step = HistoryStep(
                event: event, payload: payload, metadata: EventMetadata(json: event.metadata), stateAfter: state,
                pointsAvailable: state.pointsAvailable(at: moment))
            Self.describe(&step, before: before, at: moment, rules: self.rules)
            var cause = step.metadata.causationId
            var seen = Set<String>()
            while let id = cause, seen.insert(id).inserted {
                guard let at = index[id] else {
                    step.causeChain.append(CauseLink(eventId: id, position: nil, type: nil, rulesVersion: nil, isExternalFact: false))
                    break
                }
                let link = steps[at]
                let decision = EventType(rawValue: link.event.type)?.isDecision ?? false
                step.causeChain.append(CauseLink(
                    eventId: id, position: link.event.position, type: link.event.type,
                    rulesVersion: decision ? link.metadata.rulesVersion : nil, isExternalFact: !decision))
                cause = decision ? link.metadata.causationId : nil
            }
            index[event.eventId] = steps.count
            steps.append(step)
            before = state
        }
        return steps
    }

    /// The figures of a history row, at the event's moment: qualifying points, risk validity,
    /// stage, and eligibility after the event against before it.
    static func describe(_ step: inout HistoryStep, before: ClientState, at moment: Timestamp, rules: Rules) {
        let state = step.stateAfter
        step.pointsQualifying = state.qualifyingPointsSnapshot(at: moment, windowDays: rules.qualifyingWindowDays)
        step.riskValidUntil = EligibilityPolicy.riskValidUntil(state: state, rules: rules)
        step.riskValid = state.validRisk(at: moment, validDays: rules.riskAssessmentValidDays) != nil
        step.stage = LifecycleStage.stage(
            registeredDay: state.registeredAt?.dayNumber, firstActivityDay: state.firstActivityAt?.dayNumber,
            lastActivityDay: state.lastActivityAt?.dayNumber, offboardedDay: state.offboardedAt?.dayNumber,
            asOfDay: moment.dayNumber, rules: rules)
        func eligible(_ client: ClientState) -> [String] {
            guard client.isRegistered else { return [] }
            return rules.products.filter { EligibilityPolicy.failedChecks(state: client, product: $0, asOf: moment, rules: rules).isEmpty }.map(\.id)
        }
        let after = eligible(state)
        let wasEligible = eligible(before)
        let was = Set(wasEligible)
        step.eligibleFor = after
        step.eligibilityGained = after.filter { !was.contains($0) }
        let now = Set(after)
        step.eligibilityLost = wasEligible.filter { !now.contains($0) }
    }
}

/// What `Ledger.readClient` found.
public enum ClientReading: Sendable {
    /// The log holds no event of this client.
    case unknown
    /// The client exists, but none of its events occurred by the cut: its registration is later.
    case notYetRegistered
    /// The client's state as of the cut.
    case registered(ClientState)
}

extension Ledger {
    /// A client's state folded from its stream, optionally only from events that occurred
    /// at or before `asOf` and were recorded at or before `knownAt`.
    /// Personal fields are opened (or read as erased).
    public func clientState(_ clientId: String, asOf: Timestamp? = nil, knownAt: Timestamp? = nil) throws -> ClientState {
        try readingStreams.fold(clientId, asOf: asOf, knownAt: knownAt)
    }

    /// Folds client streams for a reader: as `streams`, with personal fields opened.
    public var readingStreams: StreamFold { StreamFold(store: store, rules: rules, personal: PersonalDataReader(store: store)) }

    /// A client as of a moment, for a reader that must tell "no such client" from "not
    /// registered yet at that moment": a cut before the registration is an answer (no state
    /// yet), not an error.
    public func readClient(_ clientId: String, asOf: Timestamp? = nil) throws -> ClientReading {
        let state = try clientState(clientId, asOf: asOf)
        if state.isRegistered { return .registered(state) }
        if asOf != nil, try clientExists(clientId) { return .notYetRegistered }
        return .unknown
    }

    /// Whether the ledger holds any event of this client.
    public func clientExists(_ clientId: String) throws -> Bool {
        try store.version(of: "client/" + clientId) > 0
    }

    /// Every client id with a stream, in order.
    public func clientIds() throws -> [String] {
        try store.streamIds(category: "client")
    }
}
