import LedgerCore
import LedgerDomain
import LedgerStorage

/// The wire form of stored events, shared by every front end: `events --format json` and the
/// coming HTTP service write the same bytes (the audit export has its own form, `ExportBundle`).
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
}
