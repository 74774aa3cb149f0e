import ArgumentParser
import Foundation
import LedgerDomain
import LedgerProjections
import LedgerApplication
import LedgerCore
import LedgerStorage

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Ledger database file (default: $CLIENTLEDGER_DB or ./clientledger.db).")
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

/// Options for commands that apply rules.
struct RulesOptions: ParsableArguments {
    @Option(name: .long, help: "Rules file (YAML). Default: the rules shipped with the ledger (SPEC §4).")
    var rules: String?

    func load() throws -> Rules {
        try Self.load(rules)
    }

    /// The rules in a file, or the shipped defaults without one.
    static func load(_ path: String?) throws -> Rules {
        if let path { return try Rules(contentsOfFile: path) }
        return try Rules.defaults()
    }
}

/// Writes to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
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
        let (code, message) = describe(error)
        printError("error: \(message)")
        throw ExitCode(code)
    }
}

/// The exit code (SPEC §6, sysexits) and message of a failure.
func describe(_ error: any Error) -> (Int32, String) {
    if let error = error as? MissingFile { return (66, error.description) }
    let (kind, message) = Failures.classify(error)
    switch kind {
    case .badInput: return (65, message)
    case .temporary: return (75, message)
    case .missing, .cannotWrite: return (66, message)
    case .checkFailed: return (1, message)
    case .outputFailed: return (74, message)
    case .internalFailure: return (70, message)
    }
}

struct MissingFile: Error, CustomStringConvertible {
    var path: String
    var description: String { "cannot read \(path): no such file" }
}

/// Reads a whole file, or standard input for "-".
func readInput(_ path: String) throws -> Data {
    if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
    guard let data = FileManager.default.contents(atPath: path) else { throw MissingFile(path: path) }
    return data
}

/// Parses a moment given on the command line: a date (meaning the end of that day, UTC) or
/// a full ISO-8601 time.
func parseMoment(_ text: String, option: String) throws -> Timestamp {
    guard let moment = Timestamp(iso8601: text) else {
        throw ValidationError("\(option): expected a date (2026-03-02) or a time (2026-03-02T09:31:00Z), found \"\(text)\"")
    }
    if text.count == 10 { return moment.adding(days: 1).addingMilliseconds(-1) }
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
