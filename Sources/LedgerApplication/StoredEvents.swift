import LedgerCore
import LedgerDomain
import LedgerStorage

/// The one decoder of stored events: every reader of the log turns rows into typed payloads
/// here, with one error kind. A stored event that cannot be read is damage to the ledger
/// (`StorageError.corrupt`), never "bad input".
public enum StoredEvents {
    /// The typed payload of a stored event, upcast to the current version.
    public static func payload(of event: RecordedEvent) throws(StorageError) -> EventPayload {
        try payload(type: event.type, schemaVersion: event.schemaVersion, data: event.data, at: "position \(event.position)")
    }

    /// The typed payload of an event in its stored text form; `place` names it in an error.
    static func payload(type name: String, schemaVersion: Int, data: String, at place: String) throws(StorageError) -> EventPayload {
        guard let type = EventType(rawValue: name) else {
            throw .corrupt("\(place): unknown stored event type \(name)")
        }
        var data = data
        let canonical = data.withUTF8 {
            CanonicalPayloadReader.decode(type: type, schemaVersion: schemaVersion, bytes: $0)
        }
        if let canonical { return canonical }
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(data)
        } catch {
            throw .corrupt("\(place): stored data is not JSON (\(error))")
        }
        guard case .object(let object) = parsed else {
            throw .corrupt("\(place): stored data is not an object")
        }
        do {
            return try EventPayload.decode(type: type, schemaVersion: schemaVersion, data: object)
        } catch {
            throw .corrupt("\(place), field \(error.field): \(error.problem)")
        }
    }
}

/// The one fold driver of a client stream: reads the stream (optionally cut by `occurredAt`
/// and `recordedAt`) and applies each event to the client's state.
public struct StreamFold {
    public let store: any EventStore
    public let rules: Rules
    /// When set, personal fields are opened (or read as erased) before they are folded: for
    /// the readers that show people their data (`history`, `client show`).
    public var personal: PersonalDataReader?

    public init(store: any EventStore, rules: Rules, personal: PersonalDataReader? = nil) {
        self.store = store
        self.rules = rules
        self.personal = personal
    }

    /// The client's state after its events, calling `each` with every event, its payload and
    /// the state after it. The state's `version` is the stored stream version of the last
    /// event folded: with a cut by `occurredAt`, events recorded later may be left out, so
    /// it is not a count of the events folded.
    @discardableResult
    public func fold(
        _ clientId: String, asOf: Timestamp? = nil, knownAt: Timestamp? = nil,
        each: ((RecordedEvent, EventPayload, ClientState) throws -> Void)? = nil
    ) throws -> ClientState {
        var state = ClientState(clientId: clientId, adjustmentLotLifetimeDays: rules.lotLifetimeDays)
        try store.scan(EventQuery(stream: ClientState.stream(for: clientId), occurredTo: asOf, recordedTo: knownAt)) { event in
            var payload = try StoredEvents.payload(of: event)
            if let personal { payload = try personal.reveal(payload, of: event) }
            state.apply(payload, at: event.occurredMoment)
            state.version = event.version
            try each?(event, payload, state)
            return true
        }
        return state
    }

    /// A campaign's state from its stream.
    public func campaign(_ campaignId: String) throws -> CampaignState {
        var state = CampaignState(campaignId: campaignId)
        try store.scan(EventQuery(stream: "campaign/" + campaignId)) { event in
            try state.apply(StoredEvents.payload(of: event), at: event.occurredMoment)
            return true
        }
        return state
    }
}
