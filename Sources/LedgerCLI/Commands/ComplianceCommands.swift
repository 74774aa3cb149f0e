import ArgumentParser
import Foundation
import LedgerDomain
import LedgerApplication
import LedgerCore
import LedgerStorage

extension ClientLedger.Audit {
    struct Suitability: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every purchase flagged as a suitability breach, and every written warning a client acknowledged.",
            discussion: """
                A purchase that does not match the client's valid risk assessment is stored and followed by
                SuitabilityBreachFlagged (reason no_valid_assessment, unsuitable, lowest_category or
                not_professional), unless the client acknowledged a written warning for that product before
                it (never for a client in the lowest category buying above R1). --from and --to cut by
                occurredAt (a date means the start of that day for --from, its end for --to).
                """)

        @OptionGroup var global: GlobalOptions
        @Option(help: "Only events that occurred at or after this time.") var from: String?
        @Option(help: "Only events that occurred at or before this time.") var to: String?
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                let fromMoment = try from.map { text -> Timestamp in
                    guard let moment = Timestamp(iso8601: text) else {
                        throw ValidationError("--from: expected a date (2026-03-02) or a time (2026-03-02T09:31:00Z), found \"\(text)\"")
                    }
                    return moment
                }
                let toMoment = try to.map { try parseMoment($0, option: "--to") }
                if let fromMoment, let toMoment, fromMoment > toMoment {
                    throw ValidationError("--from \(fromMoment.iso8601) is after --to \(toMoment.iso8601)")
                }
                let report = try SuitabilityReport(store: try global.openLog(readOnly: true), from: fromMoment, to: toMoment)
                if format == .json {
                    print(try jsonText(report))
                    return
                }
                print("suitability breaches flagged: \(report.flags.count)")
                if !report.flags.isEmpty {
                    print(table(["pos", "occurredAt", "client", "product", "risk", "client level", "reason", "purchase", "rules"], report.flags.map {
                        [String($0.position), String($0.occurredAt.prefix(19)), $0.clientId, $0.productId, $0.productRisk,
                         $0.clientLevel ?? "-", $0.reason, $0.purchaseEventId ?? "-", $0.rulesVersion ?? "-"]
                    }))
                }
                print("")
                print("warnings acknowledged: \(report.acknowledgements.count)")
                if !report.acknowledgements.isEmpty {
                    print(table(["pos", "occurredAt", "client", "product", "warning"], report.acknowledgements.map {
                        [String($0.position), String($0.occurredAt.prefix(19)), $0.clientId, $0.productId, $0.warningRef]
                    }))
                }
            }
        }
    }
}

extension ClientLedger {
    struct Forget: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compliance: erase a client's personal data (its name) and append ClientDataErased; every other fact stays.",
            discussion: """
                Destroys the client's personal-data key (the name is stored only encrypted with it), leaving
                no copy in the database file or its WAL, and appends ClientDataErased in the same
                transaction. Afterwards history, client show, events and exports show the name as erased
                (null), and audit verify still passes. Refused (exit 65, nothing written) before the
                retention period of the rules in force has passed — 20 years after offboarding by
                default; a client not offboarded has not started it — unless --override-retention says
                why, which is recorded in the event. A name stored before the ledger encrypted personal
                data cannot be erased (exit 65). Running it again for an erased client writes nothing.
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Client id.") var client: String
        @Option(help: "Why the data is erased (recorded in the event).") var reason: String
        @Option(help: "Who asked for the erasure (recorded in the event).") var requestedBy: String = "cli"
        @Option(help: "Erase before the retention period has passed, for this reason (recorded in the event).")
        var overrideRetention: String?
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                let ledger = try Ledger.open(store: try global.openLog(readOnly: false))
                let outcome = try ledger.forget(client, reason: reason, requestedBy: requestedBy, overrideRetention: overrideRetention)
                if format == .json {
                    print(try jsonText(outcome))
                } else if outcome.alreadyErased {
                    print("client \(client)'s personal data was erased already: nothing written")
                } else {
                    var text = "erased client \(client)'s personal data: key destroyed, ClientDataErased at position \(outcome.position ?? 0)"
                    if let override = outcome.retentionOverride { text += " (retention overridden: \(override.escapedForDisplay()))" }
                    print(text)
                }
                if !outcome.purged {
                    printError("warning: another connection was reading the ledger, so its WAL could not be truncated yet; run the same forget again to finish")
                }
            }
        }
    }
}
