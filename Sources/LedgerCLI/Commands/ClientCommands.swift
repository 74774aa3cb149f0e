import ArgumentParser
import Foundation
import LedgerDomain
import LedgerApplication
import LedgerCore
import LedgerStorage

extension ClientLedger {
    struct ClientCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "client",
            abstract: "A client's current state, folded from its stream.",
            subcommands: [Show.self])
    }
}

extension ClientLedger.ClientCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tier, points, lots, net assets, risk assessment and holdings of one client.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Client id, e.g. C000123.")
        var client: String

        @Option(help: "Only events that occurred up to this time (a date means the end of that day).")
        var asOf: String?

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                let log = try global.openLog(readOnly: true)
                let ledger = try Ledger.open(store: log)
                let rules = ledger.rules
                let asOfMoment = try asOf.map { try parseMoment($0, option: "--as-of") }
                let state: ClientState
                switch try ledger.readClient(client, asOf: asOfMoment) {
                case .unknown:
                    throw InputError(line: nil, field: "client", problem: "no client \(client) is registered")
                case .notYetRegistered:
                    let moment = asOfMoment ?? Timestamp.now()
                    print(format == .json
                        ? try jsonText(NoStateView(clientId: client, asOf: moment.iso8601))
                        : "client \(client): no state yet as of \(moment.iso8601) (its first event occurred later)")
                    return
                case .registered(let found):
                    state = found
                }
                let view = ClientView(state, rules: rules, asOf: asOfMoment ?? Timestamp.now())
                print(format == .json ? try jsonText(view) : view.text)
            }
        }
    }
}
