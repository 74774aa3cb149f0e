import ArgumentParser
import Foundation
import LedgerDomain
import LedgerApplication
import LedgerCore
import LedgerStorage

extension ClientLedger {
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compliance: one client's complete history, each event with the state after it and what caused it.",
            discussion: """
                --as-of cuts by occurredAt (what had happened by then); --known-at cuts by recordedAt
                (what the firm knew then). Both take a date (the end of that day, UTC) or a time.
                """)

        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, csv }

        @OptionGroup var global: GlobalOptions
        @OptionGroup var rulesOptions: RulesOptions
        @Argument(help: "Client id.") var client: String
        @Option(help: "Only events that occurred by this time.") var asOf: String?
        @Option(help: "Only events the ledger had recorded by this time.") var knownAt: String?
        @Option(help: "Output format: text, json or csv.") var format: Format = .text

        func run() throws {
            try runMapped {
                let ledger = Ledger(store: try global.openLog(readOnly: true), rules: try rulesOptions.load())
                let steps = try ledger.history(
                    client, asOf: try asOf.map { try parseMoment($0, option: "--as-of") },
                    knownAt: try knownAt.map { try parseMoment($0, option: "--known-at") })
                switch format {
                case .json:
                    print("[")
                    for (index, step) in steps.enumerated() { print(historyJSON(step) + (index == steps.count - 1 ? "" : ",")) }
                    print("]")
                case .csv:
                    print("position,version,type,occurredAt,recordedAt,causationId,tier,pointsAvailable,netAssets,data")
                    for step in steps {
                        let state = step.stateAfter
                        print([String(step.event.position), String(step.event.version), step.event.type, step.event.occurredAt,
                               step.event.recordedAt, step.metadata.causationId ?? "", state.tier.rawValue,
                               String(state.pointsAvailable), state.netAssets.decimalText, step.event.data].map(csvField).joined(separator: ","))
                    }
                case .text:
                    if steps.isEmpty { printError("note: no event of client \(client) in that cut") }
                    print(table(["pos", "ver", "occurredAt", "type", "tier", "points", "net assets", "caused by", "data"], steps.map { step in
                        let state = step.stateAfter
                        return [String(step.event.position), String(step.event.version), String(step.event.occurredAt.prefix(19)),
                                step.event.type, state.tier.rawValue, String(state.pointsAvailable), state.netAssets.decimalText,
                                step.metadata.causationId.map { String($0.prefix(8)) } ?? "-", String(step.event.data.prefix(60))]
                    }))
                }
            }
        }

        private func csvField(_ text: String) -> String {
            guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }

        private func historyJSON(_ step: HistoryStep) -> String {
            let state = step.stateAfter
            var w = JSONWriter(capacity: 512)
            w.beginObject()
            w.key("event"); w.raw(EventWire.json(step.event))
            w.key("stateAfter"); w.beginObject()
            w.key("tier"); w.string(state.tier.rawValue)
            w.key("pointsAvailable"); w.int(state.pointsAvailable)
            w.key("lifetimePoints"); w.int(state.lifetimePoints)
            w.key("netAssets"); w.money(state.netAssets)
            w.key("riskLevel"); if let risk = state.risk { w.string(risk.level.rawValue) } else { w.null() }
            w.key("holdings"); w.beginArray(); for holding in state.holdings.sorted() { w.string(holding) }; w.endArray()
            w.key("offboarded"); w.bool(state.isOffboarded)
            w.endObject()
            w.endObject()
            return w.text
        }
    }
}
