import LedgerCore
import LedgerDomain

/// One step of a client's history as every front end writes it: the event, what caused it,
/// and the client's state after it.
public enum HistoryView {
    /// The CSV header and one row per step.
    public static let csvHeader = CSV.row([
        "position", "version", "type", "occurredAt", "recordedAt", "causationId", "tier", "pointsAvailable", "netAssets", "data",
    ])

    public static func csvRow(_ step: HistoryStep) throws -> String {
        let state = step.stateAfter
        return CSV.row([
            String(step.event.position), String(step.event.version), step.event.type, step.event.occurredAt,
            step.event.recordedAt, step.metadata.causationId ?? "", state.tier.rawValue, String(step.pointsAvailable),
            state.netAssets.decimalText, step.payload.dataJSON(forDisplay: true),
        ])
    }

    /// One step as a JSON object: `event` (the event's wire form) and `stateAfter`.
    public static func json(_ step: HistoryStep) throws -> String {
        let state = step.stateAfter
        var w = JSONWriter(capacity: 512, forDisplay: true)
        w.beginObject()
        w.key("event"); w.raw(try EventWire.json(step.event, payload: step.payload))
        w.key("stateAfter"); w.beginObject()
        w.key("tier"); w.string(state.tier.rawValue)
        w.key("pointsAvailable"); w.int(step.pointsAvailable)
        w.key("pointsLifetime"); w.int(state.lifetimePoints)
        w.key("netAssets"); w.money(state.netAssets)
        w.key("riskLevel"); if let risk = state.risk { w.string(risk.level.rawValue) } else { w.null() }
        w.key("holdings"); w.beginArray(); for holding in state.holdings.sorted() { w.string(holding) }; w.endArray()
        w.key("offboarded"); w.bool(state.isOffboarded)
        w.endObject()
        w.endObject()
        return w.text
    }
}
