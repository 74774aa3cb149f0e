import ArgumentParser
import Foundation
import LedgerApplication

/// `clientledger`: the admin CLI of the ledger, grouped by who uses it. The commands live in
/// this library so that two programs share them: `clientledger` (SQLite) and
/// `clientledger-postgres` (the same commands with the PostgreSQL backend linked in).
public struct ClientLedger: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "clientledger",
        abstract: "An event-sourced client-lifecycle and loyalty ledger for a securities brokerage.",
        discussion: """
            --db PATH may come before the subcommand or anywhere after it.
            Exit codes: 0 ok; 1 a check found a problem; 64 usage; 65 bad input data;
            66 missing file or database; 70 internal error; 74 output cannot be written;
            75 temporary (conflict or busy database: retry).
            """,
        version: ClientLedgerVersion.current,
        subcommands: [
            Init.self, Import.self, Append.self, Events.self, History.self, ClientCommand.self, Audit.self,
            RulesCommand.self, Tiers.self, Points.self, Projections.self, Membership.self, Eligibility.self,
            Metrics.self, Insight.self, Campaign.self, MarketingReport.self, Forget.self, Seed.self, Demo.self, Serve.self,
            Tokens.self, Copy.self,
        ]
    )

    /// The entry point. Before parsing: a closed pipe or a file-size limit must make a
    /// write fail (EPIPE, EFBIG) so that it is reported with exit 74, rather than kill the
    /// process with SIGPIPE or SIGXFSZ; and a `--db` given before the subcommand is moved
    /// after it (`CommandLineArguments.movingDatabaseOption`). After the command: whatever
    /// is still buffered for standard output is written out, and checked.
    ///
    /// A ledger on a backend this program does not link (a `postgres://` URL given to
    /// `clientledger`) is handed to the program that does, with the same arguments.
    public static func main() {
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)
        do {
            let given = Array(CommandLine.arguments.dropFirst())
            try BackendProgram.handOverIfNeeded(given)
            let arguments = try CommandLineArguments.movingDatabaseOption(given)
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            flushStandardOutput()
            exit(withError: error)
        }
        flushStandardOutput()
    }
}

/// Rewrites of the command line that swift-argument-parser cannot express.
enum CommandLineArguments {
    /// `--db` is global, but swift-argument-parser only gives a subcommand the options that
    /// follow its name. `clientledger --db ledger.db history C1` is therefore rewritten to
    /// `clientledger history C1 --db ledger.db`: a `--db PATH` or `--db=PATH` among the
    /// options before the subcommand is moved to the end (before a `--`, if there is one),
    /// where every subcommand accepts it. Nothing after the subcommand is touched. A
    /// command without a database (`rules show`) then refuses `--db` as it does today, and
    /// a `--db` given both before and after the subcommand is refused (exit 64) rather than
    /// one of them silently winning.
    static func movingDatabaseOption(_ arguments: [String]) throws -> [String] {
        var leading: [String] = []
        var moved: [String] = []
        var index = 0
        while index < arguments.count, arguments[index].hasPrefix("-"), arguments[index] != "--" {
            let argument = arguments[index]
            if argument == "--db", index + 1 < arguments.count {
                moved += [argument, arguments[index + 1]]
                index += 2
            } else if argument.hasPrefix("--db=") {
                moved.append(argument)
                index += 1
            } else {
                leading.append(argument)
                index += 1
            }
        }
        guard !moved.isEmpty else { return arguments }
        var rest = Array(arguments[index...])
        let end = rest.firstIndex(of: "--") ?? rest.endIndex
        if rest[..<end].contains(where: { $0 == "--db" || $0.hasPrefix("--db=") }) {
            throw ValidationError("--db is given twice (before and after the subcommand); give it once")
        }
        rest.insert(contentsOf: moved, at: end)
        return leading + rest
    }
}
