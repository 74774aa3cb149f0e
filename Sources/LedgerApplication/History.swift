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
    public func history(_ clientId: String, asOf: Timestamp? = nil, knownAt: Timestamp? = nil) throws -> [HistoryStep] {
        var steps: [HistoryStep] = []
        try streams.fold(clientId, asOf: asOf, knownAt: knownAt) { event, payload, state in
            steps.append(HistoryStep(
                event: event, payload: payload, metadata: EventMetadata(json: event.metadata), stateAfter: state,
                pointsAvailable: state.pointsAvailable(at: event.occurredMoment)))
        }
        return steps
    }
}

extension Ledger {
    /// A client's state folded from its stream, optionally only from events that occurred
    /// at or before `asOf` and were recorded at or before `knownAt`.
    public func clientState(_ clientId: String, asOf: Timestamp? = nil, knownAt: Timestamp? = nil) throws -> ClientState {
        try streams.fold(clientId, asOf: asOf, knownAt: knownAt)
    }

    /// Every client id with a stream, in order.
    public func clientIds() throws -> [String] {
        try store.streamIds(category: "client")
    }
}
