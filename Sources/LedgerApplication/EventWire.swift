import LedgerCore
import LedgerDomain
import LedgerStorage

/// The wire form of stored events, shared by every front end: `events --format json` and the
/// HTTP service write the same bytes (the audit export has its own form, `ExportBundle`).
public enum EventWire {
    /// One stored event as a JSON object in the output form (schemas/output-conventions.md):
    /// its payload and metadata embedded as JSON, amounts as decimal strings.
    /// With `personal`, personal fields are shown opened (or null once erased); without it,
    /// in their sealed form. With `withoutPersonalFields`, they are written as null: the
    /// form for a reader whose role may not see them.
    public static func json(_ event: RecordedEvent, personal: PersonalDataReader? = nil, withoutPersonalFields: Bool = false) throws -> String {
        var w = JSONWriter(capacity: 256, forDisplay: true)
        w.beginObject()
        try fields(of: event, personal: personal, withoutPersonalFields: withoutPersonalFields, into: &w)
        w.endObject()
        return w.text
    }

    /// With the payload already read (and opened) by the caller.
    public static func json(_ event: RecordedEvent, payload: EventPayload) throws -> String {
        var w = JSONWriter(capacity: 256, forDisplay: true)
        w.beginObject()
        try fields(of: event, personal: nil, withoutPersonalFields: false, payload: payload, into: &w)
        w.endObject()
        return w.text
    }

    /// The payload fields that identify a person, by event type.
    public static let personalFields: [String: Set<String>] = [
        "ClientRegistered": ["name"],
        "ClientProfileUpdated": ["name"],
    ]

    private static func fields(
        of event: RecordedEvent, personal: PersonalDataReader?, withoutPersonalFields: Bool, payload: EventPayload? = nil,
        into w: inout JSONWriter
    ) throws {
        w.key("position"); w.int(event.position)
        w.key("stream"); w.string(event.stream)
        w.key("version"); w.int(event.version)
        w.key("eventId"); w.string(event.eventId)
        w.key("type"); w.string(event.type)
        w.key("schemaVersion"); w.int(Int64(event.schemaVersion))
        w.key("occurredAt"); w.string(event.occurredAt)
        w.key("recordedAt"); w.string(event.recordedAt)
        let data = try payload?.dataJSON(forDisplay: true) ?? displayData(of: event, personal: personal)
        if withoutPersonalFields, let hidden = personalFields[event.type], case .object(var object) = try? JSONParser.parse(data) {
            for index in object.members.indices where hidden.contains(object.members[index].key) {
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
}
