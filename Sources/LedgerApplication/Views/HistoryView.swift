import LedgerCore
import LedgerDomain

/// One step of a client's history as every front end writes it: the event, what caused it,
/// and the client's state after it.
public enum HistoryView {
    /// The CSV header and one row per step.
    public static let csvHeader = CSV.row([
        "position", "version", "type", "occurredAt", "recordedAt", "causationId", "tier", "pointsAvailable", "netAssets", "data",
        "pointsQualifying", "riskLevel", "riskValidUntil", "stage", "holdings", "eligibilityGained", "eligibilityLost", "rulesVersion",
    ])

    public static func csvRow(_ step: HistoryStep) throws -> String {
        let state = step.stateAfter
        return CSV.row([
            String(step.event.position), String(step.event.version), step.event.type, step.event.occurredAt,
            step.event.recordedAt, step.metadata.causationId ?? "", state.tier.rawValue, String(step.pointsAvailable),
            state.netAssets.decimalText, step.payload.dataJSON(forDisplay: true),
            String(step.pointsQualifying), state.risk?.level.rawValue ?? "", step.riskValidUntil?.iso8601 ?? "",
            step.stage?.rawValue ?? "", state.holdings.sorted().joined(separator: " "),
            step.eligibilityGained.joined(separator: " "), step.eligibilityLost.joined(separator: " "), step.metadata.rulesVersion ?? "",
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
        w.key("pointsQualifying"); w.int(step.pointsQualifying)
        w.key("netAssets"); w.money(state.netAssets)
        w.key("riskLevel"); if let risk = state.risk { w.string(risk.level.rawValue) } else { w.null() }
        w.key("riskValidUntil"); if let until = step.riskValidUntil { w.string(until.iso8601) } else { w.null() }
        w.key("riskValid"); w.bool(step.riskValid)
        w.key("stage"); if let stage = step.stage { w.string(stage.rawValue) } else { w.null() }
        w.key("holdings"); w.beginArray(); for holding in state.holdings.sorted() { w.string(holding) }; w.endArray()
        w.key("offboarded"); w.bool(state.isOffboarded)
        w.key("personalDataErased"); w.bool(state.erasedAt != nil)
        w.key("eligibleFor"); w.beginArray(); for id in step.eligibleFor { w.string(id) }; w.endArray()
        w.endObject()
        w.key("eligibilityChanges"); w.beginObject()
        w.key("gained"); w.beginArray(); for id in step.eligibilityGained { w.string(id) }; w.endArray()
        w.key("lost"); w.beginArray(); for id in step.eligibilityLost { w.string(id) }; w.endArray()
        w.endObject()
        w.key("causeChain"); w.beginArray()
        for link in step.causeChain {
            w.beginObject()
            w.key("eventId"); w.string(link.eventId)
            w.key("position"); if let position = link.position { w.int(position) } else { w.null() }
            w.key("type"); if let type = link.type { w.string(type) } else { w.null() }
            w.key("rulesVersion"); if let version = link.rulesVersion { w.string(version) } else { w.null() }
            w.key("externalFact"); w.bool(link.isExternalFact)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.text
    }
}
