import LedgerCore
import LedgerDomain
import LedgerStorage

/// A backtest of other rules over the recorded history (`rules simulate`): every recorded
/// fact is run again, in the order it was recorded, through the very policies an import runs
/// (the loyalty rules, the late-fact policy, the awards of open campaigns), with the proposed
/// rules; nothing is written.
public struct RulesSimulation: Sendable, Codable {
    public var currentRulesVersion: String
    public var proposedRulesVersion: String
    /// The days whose points are counted (by the award's `occurredAt`), both included.
    @NullEncoded public var from: String?
    @NullEncoded public var to: String?
    public var factsReplayed: Int
    /// Facts the proposed rules would have refused (a redemption beyond the balance they
    /// give, for example): left out of the replay.
    public var factsRefused: Int
    /// Points awarded (awards and award corrections) in the period: as recorded, and under
    /// the proposed rules.
    public var recordedPoints: Int64
    public var simulatedPoints: Int64
    public var pointsDifference: Int64
    public var recordedAwards: Int
    public var simulatedAwards: Int
    /// Clients per tier at the end of the period, as recorded and under the proposed rules.
    public var tiersBefore: [String: Int]
    public var tiersAfter: [String: Int]
    public var clientsChangingTier: Int
    /// Recorded decisions caused by a fact that the replay does not give identically (0
    /// when the proposed rules are the rules the log was written with), and the first one.
    public var decisionsDiffering: Int
    @NullEncoded public var firstDifference: String?
    /// Whether the replay gave every recorded fact-caused decision exactly.
    public var reproducesRecord: Bool
}

extension Ledger {
    /// Backtests `proposed` over the whole log (points counted from `from` to `to`, by day).
    /// Decisions not caused by a fact (periodic jobs, campaign launches) are taken as recorded.
    public static func simulateRules(
        _ proposed: Rules, current: Rules, store: any EventStore, from: Timestamp? = nil, to: Timestamp? = nil
    ) throws -> RulesSimulation {
        struct Client {
            var recorded: ClientState
            var simulated: ClientState
            var log: [LoggedEvent] = []
            /// Decisions the replay gave for the client's last fact, not yet matched with the record.
            var expected: [PlannedEvent] = []
            var lastFact: String?
        }
        var clients: [String: Client] = [:]
        var campaigns: [String: CampaignState] = [:]
        var book = CampaignBook.empty
        var result = RulesSimulation(
            currentRulesVersion: current.version, proposedRulesVersion: proposed.version, from: from?.isoDate, to: to?.isoDate,
            factsReplayed: 0, factsRefused: 0, recordedPoints: 0, simulatedPoints: 0, pointsDifference: 0, recordedAwards: 0,
            simulatedAwards: 0, tiersBefore: [:], tiersAfter: [:], clientsChangingTier: 0, decisionsDiffering: 0, firstDifference: nil,
            reproducesRecord: true)
        let firstDay = from?.dayNumber
        let lastDay = to?.dayNumber
        func inPeriod(_ moment: Timestamp) -> Bool {
            let day = moment.dayNumber
            return (firstDay.map { day >= $0 } ?? true) && (lastDay.map { day <= $0 } ?? true)
        }
        func points(_ payload: EventPayload) -> (Int64, Int)? {
            switch payload {
            case .pointsAwarded(let points, _, _, _): return (points, 1)
            case .pointsCorrected(let points, _, .pointsAwarded, _, _): return (points, 0)
            default: return nil
            }
        }
        func count(_ payload: EventPayload, at moment: Timestamp, recorded: Bool) {
            guard let (value, awards) = points(payload), inPeriod(moment) else { return }
            if recorded {
                result.recordedPoints += value
                result.recordedAwards += awards
            } else {
                result.simulatedPoints += value
                result.simulatedAwards += awards
            }
        }
        func differ(_ text: String) {
            result.decisionsDiffering += 1
            if result.firstDifference == nil { result.firstDifference = text }
        }
        func settle(_ client: inout Client, id: String) {
            for step in client.expected { differ("\(id): the replay gives \(step.payload.type.rawValue) \(step.payload.dataJSON) after \(client.lastFact ?? "-"), not recorded") }
            client.expected = []
        }

        try store.read {
            try store.scan(.all) { event in
                guard let type = EventType(rawValue: event.type) else { return true }
                let payload = try StoredEvents.payload(of: event)
                let moment = event.occurredMoment
                if type.isCampaignEvent {
                    let id = String(event.stream.dropFirst("campaign/".count))
                    var state = campaigns[id] ?? CampaignState(campaignId: id)
                    try? state.apply(payload, at: moment)
                    campaigns[id] = state
                    var entries = book.entries.filter { $0.definition.id != id }
                    if state.isOpen, let object = state.definition, let definition = try? CampaignDefinition.parse(object, rules: proposed),
                       !definition.award.on.isEmpty {
                        entries.append(book.entries.first { $0.definition.id == id } ?? .init(definition: definition, used: 0))
                    }
                    book = CampaignBook(entries: entries)
                    return true
                }
                guard event.stream.hasPrefix("client/") else { return true }
                let clientId = String(event.stream.dropFirst("client/".count))
                var client = clients[clientId] ?? Client(
                    recorded: ClientState(clientId: clientId, adjustmentLotLifetimeDays: current.lotLifetimeDays),
                    simulated: ClientState(clientId: clientId, adjustmentLotLifetimeDays: proposed.lotLifetimeDays))
                defer { clients[clientId] = client }
                client.recorded.apply(payload, at: moment)
                if type.isDecision {
                    count(payload, at: moment, recorded: true)
                    let cause = EventMetadata(json: event.metadata).causationId
                    if let cause, cause == client.lastFact {
                        // Caused by the fact just replayed: compare with what the replay gave.
                        if client.expected.isEmpty {
                            differ("\(clientId): recorded \(event.type) \(event.data) at position \(event.position) is not given by the replay")
                        } else {
                            let step = client.expected.removeFirst()
                            if step.payload != payload || step.occurredAt != moment {
                                differ("\(clientId): at position \(event.position) recorded \(event.type) \(event.data), the replay gives \(step.payload.type.rawValue) \(step.payload.dataJSON)")
                            }
                        }
                        return true
                    }
                    // A job's or a launch's decision: taken as recorded.
                    settle(&client, id: clientId)
                    client.simulated.apply(payload, at: moment)
                    client.log.append(LoggedEvent(eventId: event.eventId, payload: payload, occurredAt: moment, isDecision: true))
                    count(payload, at: moment, recorded: false)
                    return true
                }
                settle(&client, id: clientId)
                client.lastFact = event.eventId
                result.factsReplayed += 1
                var state = client.simulated
                var planned: [PlannedEvent]
                do {
                    if LateFactPolicy.isLate(payload, at: moment, state: state) {
                        planned = try LateFactPolicy.plan(payload, eventId: event.eventId, at: moment, log: client.log, current: state, rules: proposed)
                        for step in planned { state.apply(step.payload, at: step.occurredAt) }
                    } else {
                        planned = try LoyaltyPolicy.process(payload, at: moment, state: &state, rules: proposed)
                    }
                } catch {
                    result.factsRefused += 1
                    return true
                }
                planned += CampaignPolicy.triggered(by: payload, at: moment, planned: planned, state: &state, book: &book, rules: proposed)
                client.simulated = state
                var index = 0
                for step in planned {
                    if step.isDecision {
                        let id = decisionId(name: decisionIdName(cause: event.eventId, index: index))
                        index += 1
                        client.log.append(LoggedEvent(eventId: id, payload: step.payload, occurredAt: step.occurredAt, isDecision: true))
                        client.expected.append(step)
                        count(step.payload, at: step.occurredAt, recorded: false)
                    } else {
                        client.log.append(LoggedEvent(eventId: event.eventId, payload: step.payload, occurredAt: step.occurredAt, isDecision: false))
                    }
                }
                return true
            }
        }
        let end = to ?? Timestamp(millisecondsSinceEpoch: Int64.max / 4)
        for (id, var client) in clients {
            settle(&client, id: id)
            guard let registered = client.recorded.registeredAt, registered <= end, !(client.recorded.offboardedAt.map { $0 <= end } ?? false) else { continue }
            let before = ClientState.tier(in: client.recorded.tierHistory, at: end)
            let after = ClientState.tier(in: client.simulated.tierHistory, at: end)
            result.tiersBefore[before.rawValue, default: 0] += 1
            result.tiersAfter[after.rawValue, default: 0] += 1
            if before != after { result.clientsChangingTier += 1 }
        }
        result.pointsDifference = result.simulatedPoints - result.recordedPoints
        result.reproducesRecord = result.decisionsDiffering == 0 && result.factsRefused == 0
        return result
    }
}
