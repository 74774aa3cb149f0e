import LedgerCore
import LedgerDomain
import LedgerStorage

/// The wire form of stored events, shared by every front end: `events --format json` and the
/// coming HTTP service write the same bytes (the audit export has its own form, `ExportBundle`).
public enum EventWire {
    /// One stored event as a JSON object in the output form (schemas/output-conventions.md):
    /// its payload and metadata embedded as JSON, amounts as decimal strings.
    public static func json(_ event: RecordedEvent) throws -> String {
        var w = JSONWriter(capacity: 256, forDisplay: true)
        w.beginObject()
        try fields(of: event, into: &w)
        w.endObject()
        return w.text
    }

    private static func fields(of event: RecordedEvent, into w: inout JSONWriter) throws {
        w.key("position"); w.int(event.position)
        w.key("stream"); w.string(event.stream)
        w.key("version"); w.int(event.version)
        w.key("eventId"); w.string(event.eventId)
        w.key("type"); w.string(event.type)
        w.key("schemaVersion"); w.int(Int64(event.schemaVersion))
        w.key("occurredAt"); w.string(event.occurredAt)
        w.key("recordedAt"); w.string(event.recordedAt)
        w.key("data"); w.raw(try StoredEvents.payload(of: event).dataJSON(forDisplay: true))
        w.key("metadata")
        if let metadata = try? JSONParser.parse(event.metadata) { w.value(metadata) } else { w.string(event.metadata) }
        w.key("hash"); w.string(event.hash.hexString)
    }
}
