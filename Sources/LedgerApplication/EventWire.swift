import LedgerCore
import LedgerDomain
import LedgerStorage

/// The wire form of stored events, shared by every front end: `events --format json`, the
/// audit export, and the coming HTTP service write the same bytes.
public enum EventWire {
    /// One stored event as a JSON object in the output form (schemas/output-conventions.md):
    /// its payload and metadata embedded as JSON, amounts as decimal strings.
    /// With `withoutPersonalFields`, the personal fields of the payload (`personalFields`)
    /// are written as null: the form for a reader whose role may not see them.
    public static func json(_ event: RecordedEvent, withoutPersonalFields: Bool = false) throws -> String {
        var w = JSONWriter(capacity: 256, forDisplay: true)
        w.beginObject()
        try fields(of: event, into: &w, withoutPersonalFields: withoutPersonalFields)
        w.endObject()
        return w.text
    }

    /// The payload fields that identify a person, by event type.
    public static let personalFields: [String: Set<String>] = [
        "ClientRegistered": ["name"],
        "ClientProfileUpdated": ["name"],
    ]

    private static func fields(of event: RecordedEvent, into w: inout JSONWriter, withoutPersonalFields: Bool = false) throws {
        w.key("position"); w.int(event.position)
        w.key("stream"); w.string(event.stream)
        w.key("version"); w.int(event.version)
        w.key("eventId"); w.string(event.eventId)
        w.key("type"); w.string(event.type)
        w.key("schemaVersion"); w.int(Int64(event.schemaVersion))
        w.key("occurredAt"); w.string(event.occurredAt)
        w.key("recordedAt"); w.string(event.recordedAt)
        let data = try StoredEvents.payload(of: event).dataJSON(forDisplay: true)
        if withoutPersonalFields, let personal = personalFields[event.type], case .object(var object) = try? JSONParser.parse(data) {
            for index in object.members.indices where personal.contains(object.members[index].key) {
                object.members[index].value = .null
            }
            w.key("data"); w.value(.object(object))
        } else {
            w.key("data"); w.raw(data)
        }
        w.key("metadata")
        if let metadata = try? JSONParser.parse(event.metadata) { w.value(metadata) } else { w.string(event.metadata) }
        w.key("hash"); w.string(event.hash.hexString)
    }

    /// An exported event: every stored field, data and metadata also as their exact stored
    /// text (the hash covers those bytes), and the hash of the event before it in the log.
    public static func exportLine(_ exported: ExportedEvent) throws -> String {
        var w = JSONWriter(capacity: 512, forDisplay: true)
        w.beginObject()
        try fields(of: exported.event, into: &w)
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

    /// Reads the client's events and the log's head in one snapshot.
    public init(client: String, from store: any EventStore, at moment: Timestamp) throws {
        let (events, head) = try store.export(stream: "client/" + client)
        self.client = client
        self.exportedAt = moment
        self.events = events
        self.head = head
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
        return [header.text] + (try events.map(EventWire.exportLine))
    }
}
