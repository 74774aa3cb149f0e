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
        try readingStreams.fold(clientId, asOf: asOf, knownAt: knownAt) { event, payload, state in
            steps.append(HistoryStep(
                event: event, payload: payload, metadata: EventMetadata(json: event.metadata), stateAfter: state,
                pointsAvailable: state.pointsAvailable(at: event.occurredMoment)))
        }
        return steps
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
