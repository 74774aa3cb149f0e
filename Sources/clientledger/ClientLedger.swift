import ArgumentParser
import Foundation

/// `clientledger`: the admin CLI of the ledger, grouped by who uses it.
@main
struct ClientLedger: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clientledger",
        abstract: "An event-sourced client-lifecycle and loyalty ledger for a securities brokerage.",
        discussion: """
            Exit codes: 0 ok; 1 a check found a problem; 64 usage; 65 bad input data;
            66 missing file or database; 70 internal error; 74 output cannot be written;
            75 temporary (conflict or busy database: retry).
            """,
        subcommands: [
            Init.self, Import.self, Append.self, Events.self, History.self, ClientCommand.self, Audit.self,
            RulesCommand.self, Tiers.self, Points.self, Projections.self, Membership.self, Eligibility.self,
            Metrics.self, Seed.self, Demo.self,
        ]
    )

    /// The entry point. Before parsing: a closed pipe or a file-size limit must make a
    /// write fail (EPIPE, EFBIG) so that it is reported with exit 74, rather than kill the
    /// process with SIGPIPE or SIGXFSZ. After the command: whatever is still buffered for
    /// standard output is written out, and checked.
    static func main() {
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)
        do {
            var command = try parseAsRoot(Array(CommandLine.arguments.dropFirst()))
            try command.run()
        } catch {
            flushStandardOutput()
            exit(withError: error)
        }
        flushStandardOutput()
    }
}
