import LedgerCore
import LedgerDomain
import LedgerStorage

/// The wire form of stored events, shared by every front end: `events --format json`, the
/// audit export, and the coming HTTP service write the same bytes.
public enum EventWire {
    /// One stored event as a JSON object in the output form (schemas/output-conventions.md):
    /// its payload and metadata embedded as JSON, amounts as decimal strings.
    /// With `personal`, personal fields are shown opened (or null once erased); without it,
    /// in their sealed form.
    public static func json(_ event: RecordedEvent, personal: PersonalDataReader? = nil) throws -> String {
        var w = JSONWriter(capacity: 256, forDisplay: true)
        w.beginObject()
        try fields(of: event, personal: personal, into: &w)
        w.endObject()
        return w.text
    }

    /// With the payload already read (and opened) by the caller.
    public static func json(_ event: RecordedEvent, payload: EventPayload) throws -> String {
        var w = JSONWriter(capacity: 256, forDisplay: true)
        w.beginObject()
        try fields(of: event, personal: nil, payload: payload, into: &w)
        w.endObject()
        return w.text
    }

    private static func fields(of event: RecordedEvent, personal: PersonalDataReader?, payload: EventPayload? = nil, into w: inout JSONWriter) throws {
        w.key("position"); w.int(event.position)
        w.key("stream"); w.string(event.stream)
        w.key("version"); w.int(event.version)
        w.key("eventId"); w.string(event.eventId)
        w.key("type"); w.string(event.type)
        w.key("schemaVersion"); w.int(Int64(event.schemaVersion))
        w.key("occurredAt"); w.string(event.occurredAt)
        w.key("recordedAt"); w.string(event.recordedAt)
        w.key("data"); w.raw(try payload?.dataJSON(forDisplay: true) ?? displayData(of: event, personal: personal))
        w.key("metadata")
        if let metadata = try? JSONParser.parse(event.metadata) { w.value(metadata) } else { w.string(event.metadata) }
        w.key("hash"); w.string(event.hash.hexString)
    }

    /// The payload in the output form: a client or campaign payload, or a `RulesAdopted`
    /// (its rules document in the output form too).
    public static func displayData(of event: RecordedEvent, personal: PersonalDataReader?) throws -> String {
        guard event.type == RulesAdoption.type else {
            let payload = try StoredEvents.payload(of: event)
            return try (personal?.reveal(payload, of: event) ?? payload).dataJSON(forDisplay: true)
        }
        let adoption: RulesAdoption
        do throws(FieldError) {
            adoption = try RulesAdoption.decode(data: event.data)
        } catch {
            throw StorageError.corrupt("position \(event.position), field \(error.field): \(error.problem)")
        }
        var w = JSONWriter(capacity: 2048, forDisplay: true)
        w.beginObject()
        w.key("version"); w.string(adoption.version)
        w.key("rules"); w.raw(adoption.rules.displayJSON)
        w.key("reason"); w.string(adoption.reason)
        w.endObject()
        return w.text
    }

    /// An exported event: every stored field, data and metadata also as their exact stored
    /// text (the hash covers those bytes), and the hash of the event before it in the log.
    /// `data` shows personal fields opened (null once erased); `dataText` keeps the stored
    /// (sealed) text the hash covers.
    public static func exportLine(_ exported: ExportedEvent, personal: PersonalDataReader? = nil) throws -> String {
        var w = JSONWriter(capacity: 512, forDisplay: true)
        w.beginObject()
        try fields(of: exported.event, personal: personal, into: &w)
        w.key("dataText"); w.string(exported.event.data)
        w.key("metadataText"); w.string(exported.event.metadata)
        w.key("previousHash"); w.string(exported.previousHash.hexString)
        w.key("hashVerifies"); w.bool(exported.hashVerifies)
        w.endObject()
        return w.text
    }
}

/// One client's events for a regulator: a header line, then one line per event.
public struct AuditExport {
    public var client: String
    public var exportedAt: Timestamp
    public var events: [ExportedEvent]
    public var head: ChainHead
    /// Opens the personal fields of the exported events.
    let personal: PersonalDataReader

    /// Reads the client's events and the log's head in one snapshot.
    public init(client: String, from store: any EventStore, at moment: Timestamp) throws {
        let (events, head) = try store.export(stream: "client/" + client)
        self.client = client
        self.exportedAt = moment
        self.events = events
        self.head = head
        self.personal = PersonalDataReader(store: store)
    }

    /// Whether every exported event's hash verifies.
    public var intact: Bool { events.allSatisfy(\.hashVerifies) }

    /// The JSON Lines of the export, header first.
    public func lines() throws -> [String] {
        var header = JSONWriter()
        header.beginObject()
        header.key("client"); header.string(client)
        header.key("exportedAt"); header.string(exportedAt.iso8601)
        header.key("events"); header.int(Int64(events.count))
        header.key("headPosition"); header.int(head.position)
        header.key("headHash"); header.string(head.hash.hexString)
        header.key("canonicalForm"); header.string("schemas/hash-chain.md")
        header.endObject()
        return [header.text] + (try events.map { try EventWire.exportLine($0, personal: personal) })
    }
}
