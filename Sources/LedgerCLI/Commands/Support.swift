import ArgumentParser
import Foundation
import LedgerDomain
import LedgerProjections
import LedgerApplication
import LedgerCore
import LedgerStorage

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Ledger: a SQLite file, or a postgres://user@host:port/db URL (default: $CLIENTLEDGER_DB or ./clientledger.db).")
    var db: String?

    var databasePath: String {
        db ?? ProcessInfo.processInfo.environment["CLIENTLEDGER_DB"] ?? "clientledger.db"
    }

    /// Opens the ledger's event store; read-only commands never open it for writing.
    func openLog(readOnly: Bool) throws -> any EventStore {
        try LedgerStores.open(databasePath, readOnly: readOnly)
    }
}

/// Output format of reading commands.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// What-if rules: a rules file given on the command line instead of the rules in force in
/// the ledger. Only commands that write nothing take it (`projections status`, `rules show`;
/// `projections diff` and `rules check` name their files themselves): every command that
/// decides or builds projections uses the rules in force in the log (`rules adopt`).
struct RulesOptions: ParsableArguments {
    @Option(name: .long, help: "What-if: this rules file (YAML) instead of the rules in force in the ledger (see `rules adopt`).")
    var rules: String?

    /// The file's rules, or without one the rules in force in `log`.
    func load(_ log: any EventStore) throws -> Rules {
        try Self.load(rules, log: log)
    }

    static func load(_ path: String?, log: any EventStore) throws -> Rules {
        if let path { return try Rules(contentsOfFile: path) }
        return try RulesInLog.inForce(in: log).rules
    }
}

/// The rules in force in the ledger (the last `RulesAdopted`, the default rules before it).
func rulesInForce(_ global: GlobalOptions) throws -> Rules {
    try RulesInLog.inForce(in: try global.openLog(readOnly: true)).rules
}

/// Standard output, written through `write(2)` with every error checked (see `print`).
let standardOutput = CheckedOutput(descriptor: 1, target: "standard output", flushesEveryWrite: isatty(1) == 1)

/// Prints one line of a command's result to standard output.
///
/// This deliberately shadows `Swift.print` in this module, so that no command can bypass the
/// check: `Swift.print` ignores write errors (a full disk or a closed pipe gave exit 0 with
/// cut output). When standard output cannot be written the program stops at once with a
/// message and exit 74 — as SIGPIPE would have stopped it, but with the documented code.
/// Stopping is safe: results are printed after the transactions they report have committed,
/// and no command prints while an `OutputFile` is open.
func print(_ text: String = "") {
    do {
        try standardOutput.line(text)
    } catch {
        exitForUnwritableOutput(error)
    }
}

/// Writes out what is buffered for standard output; stops with exit 74 when it cannot, or
/// when an earlier write failed without being reported yet.
func flushStandardOutput() {
    do {
        try standardOutput.flush()
    } catch {
        exitForUnwritableOutput(error)
    }
}

/// Says why standard output could not be written and exits 74 (sysexits EX_IOERR). Every
/// report of a failed standard output ends here, so it is reported exactly once.
func exitForUnwritableOutput(_ error: OutputError) -> Never {
    printError("error: \(error.description)")
    exit(74)
}

/// Writes a line to standard error with `write(2)`: never traps, and a standard error that
/// cannot be written is ignored (there is nowhere left to report it). Standard output is
/// written out first, so that on a terminal results and messages appear in order; if that
/// fails, the failure stays recorded and is reported before the program ends.
func printError(_ message: String) {
    try? standardOutput.flush()
    let bytes = Array((message + "\n").utf8)
    bytes.withUnsafeBytes { raw in
        guard let base = raw.baseAddress else { return }
        var offset = 0
        while offset < raw.count {
            let written = write(2, base + offset, raw.count - offset)
            if written > 0 {
                offset += written
            } else if written < 0, errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
}

/// Whether standard error is a terminal (progress is shown only then).
var stderrIsTerminal: Bool { isatty(2) == 1 }

/// Runs a command body, turning the library's typed errors into a message on stderr and the
/// exit code of SPEC §6.
func runMapped(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as CleanExit {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        // Standard output failed (a closed pipe, a full disk): that is the cause to report,
        // once, whatever error it led to.
        if let failure = standardOutput.failure { exitForUnwritableOutput(failure) }
        let (code, message) = describe(error)
        printError("error: \(message)")
        throw ExitCode(code)
    }
}

/// The exit code (SPEC §6, sysexits) and message of a failure.
func describe(_ error: any Error) -> (Int32, String) {
    let (kind, message) = Failures.classify(error)
    return (kind.exitCode, message)
}

/// Reads a whole input file, or standard input for "-" (streamed, so a FIFO, a pipe or
/// `/dev/stdin` works like a plain file).
func readInput(_ path: String) throws -> [UInt8] {
    try InputFile.read(path)
}

/// Parses an option's value as a whole number of 0 or more, saying what is wrong in words
/// (`--seed must not be negative`) rather than only that the value is invalid. Options
/// with a number take their value with `parsing: .unconditional`, so that `-1` reaches
/// this check instead of being read as an option (which gave "Missing value").
func nonNegative<Number: FixedWidthInteger & Sendable>(_ option: String) -> @Sendable (String) throws -> Number {
    { text in
        if let value = Number(text) { return value }
        if let signed = Int64(text), signed < 0 { throw ValidationError("\(option) must not be negative") }
        throw ValidationError("\(option) takes a whole number, found \"\(text)\"")
    }
}

/// The name among `names` that `text` means when its letters are in another case
/// (`gold` for `Gold`), for a "did you mean" in a usage message.
func caseInsensitiveMatch(_ text: String, among names: [String]) -> String? {
    names.first { $0.lowercased() == text.lowercased() }
}

/// Parses a moment given on the command line: a date (meaning the end of that day, UTC) or
/// a full ISO-8601 time.
func parseMoment(_ text: String, option: String) throws -> Timestamp {
    guard let moment = Moments.parse(text) else {
        throw ValidationError("\(option): expected a date (2026-03-02) or a time (2026-03-02T09:31:00Z), found \"\(text)\"")
    }
    return moment
}

extension Timestamp {
    func addingMilliseconds(_ ms: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + ms)
    }
}

/// JSON text of an encodable value in the output convention, for `--format json`.
func jsonText<T: Encodable>(_ value: T) throws -> String {
    try OutputJSON.text(value)
}

/// A plain text table with aligned columns, cells escaped for display.
func table(_ header: [String], _ rows: [[String]]) -> String {
    TextTable.render(header, rows)
}
