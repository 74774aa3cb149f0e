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
        @Argument(help: "Client id.") var client: String
        @Option(help: "Only events that occurred by this time.") var asOf: String?
        @Option(help: "Only events the ledger had recorded by this time.") var knownAt: String?
        @Option(help: "Output format: text, json or csv.") var format: Format = .text

        func run() throws {
            try runMapped {
                let ledger = try Ledger.open(store: try global.openLog(readOnly: true))
                let steps = try ledger.history(
                    client, asOf: try asOf.map { try parseMoment($0, option: "--as-of") },
                    knownAt: try knownAt.map { try parseMoment($0, option: "--known-at") })
                switch format {
                case .json:
                    print("[")
                    for (index, step) in steps.enumerated() { print(try HistoryView.json(step) + (index == steps.count - 1 ? "" : ",")) }
                    print("]")
                case .csv:
                    print(HistoryView.csvHeader)
                    for step in steps { print(try HistoryView.csvRow(step)) }
                case .text:
                    if steps.isEmpty { printError("note: no event of client \(client) in that cut") }
                    print(table(["pos", "ver", "occurredAt", "type", "tier", "points", "qualifying", "net assets", "risk", "stage", "holdings",
                                 "eligibility", "caused by (rules)", "data"], steps.map { step in
                        let state = step.stateAfter
                        let risk = state.risk.map { "\($0.level.rawValue)\(step.riskValid ? "" : " expired")" } ?? "-"
                        let eligibility = (step.eligibilityGained.map { "+" + $0 } + step.eligibilityLost.map { "-" + $0 }).joined(separator: " ")
                        let chain = step.causeChain.map { link in
                            (link.type ?? "job") + " " + String(link.eventId.prefix(8))
                        }.joined(separator: " ← ")
                        let cause = chain.isEmpty ? "-" : chain + (step.metadata.rulesVersion.map { " (\($0))" } ?? "")
                        return [String(step.event.position), String(step.event.version), String(step.event.occurredAt.prefix(19)),
                                step.event.type, state.tier.rawValue, String(step.pointsAvailable), String(step.pointsQualifying),
                                state.netAssets.decimalText, risk, step.stage?.rawValue ?? "-",
                                state.holdings.isEmpty ? "-" : state.holdings.sorted().joined(separator: ","),
                                eligibility.isEmpty ? "-" : eligibility, cause, String(step.payload.dataJSON(forDisplay: true).prefix(60))]
                    }))
                }
            }
        }
    }
}
