import ArgumentParser
import Foundation
import LedgerDomain
import LedgerApplication
import LedgerCore
import LedgerStorage

// MARK: - init

extension ClientLedger {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the ledger database (mode 0600) and its signing key, or upgrade an existing one to the current schema.")

        @OptionGroup var global: GlobalOptions

        func run() throws {
            try runMapped {
                let (log, created) = try LedgerStores.create(global.databasePath)
                let head = try log.head()
                let (key, keyCreated) = try SigningKey.loadOrCreate(forDatabase: global.databasePath)
                print(created
                    ? "created ledger \(log.location)"
                    : "ledger \(log.location) is ready (\(head.position) events)")
                if keyCreated {
                    print("signing key \(key.path) (mode 0600), public key \(key.publicKey.hexString)")
                }
            }
        }
    }
}

// MARK: - import

extension ClientLedger {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import facts from JSON Lines (a file, or - for standard input).",
            discussion: """
                Every line is checked before anything is written. By default the whole import is one
                transaction: all or nothing. With --batch-size N the input is checked in full before
                the first commit (holding the write lock, so no other writer changes the log in
                between); the writing starts alongside the check, behind it, and what it has
                written when the check passes (at most half the input) is committed at the next
                batch boundary, then every N events. Each
                commit is reported on stderr as "committed through line L"; if a later batch is
                refused, the message says which lines were committed. Lines whose eventId is already stored are skipped, so running
                the same file again never duplicates anything (lines without an eventId get one
                derived from their content). Decision types (PointsAwarded, PointsExpired,
                TierChanged) are refused: only the ledger's policies write them.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "JSON Lines file, or - for standard input.")
        var file: String

        @Option(parsing: .unconditional, help: "Commit every N events instead of once at the end (N ≥ 1).")
        var batchSize: Int?

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        func validate() throws {
            if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        }

        func run() throws {
            try runMapped {
                let log = try global.openLog(readOnly: false)
                let input = try MappedInput(file)
                let started = Date()
                let ledger = try Ledger.open(store: log)
                let showProgress = stderrIsTerminal
                let report = try ledger.importFile(
                    input, batchSize: batchSize,
                    progress: { done in if showProgress { printError("  \(done) events…") } },
                    batchCommitted: { line in printError("committed through line \(line)") })
                let seconds = Date().timeIntervalSince(started)
                if format == .json {
                    print(try jsonText(ImportSummary(report, seconds: seconds)))
                } else {
                    var text = "imported \(report.factsWritten) events (+\(report.decisionsWritten) decisions)"
                    if report.alreadyStored > 0 { text += ", \(report.alreadyStored) already stored" }
                    if let first = report.firstPosition, let last = report.lastPosition { text += ", positions \(first)–\(last)" }
                    text += String(format: " in %.2f s", seconds)
                    print(text)
                }
            }
        }
    }
}

// MARK: - append

extension ClientLedger {
    struct Append: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append one fact, given as one JSON object (the import line format).",
            discussion: """
                Example: clientledger append '{"type":"FundsDeposited","clientId":"C000001",
                "occurredAt":"2026-03-02T09:31:00Z","data":{"amount":5000.00}}' --expected-version 12
                A wrong --expected-version is a conflict (exit 75) and nothing is written.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The event as JSON, or - to read it from standard input.")
        var event: String

        @Option(parsing: .unconditional, help: "The stream's version before this event (0: the stream must not exist).")
        var expectedVersion: Int64?

        func validate() throws {
            if let expectedVersion, expectedVersion < 0 { throw ValidationError("--expected-version must not be negative") }
        }

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                let log = try global.openLog(readOnly: false)
                let bytes = event == "-" ? try readInput("-") : Array(event.utf8)
                var incoming = try bytes.withUnsafeBufferPointer { try ImportLineParser.parseAll($0) }
                guard incoming.count == 1 else {
                    throw InputError(line: nil, field: nil, problem: "append takes exactly one event; use import for \(incoming.count)")
                }
                if let expectedVersion {
                    if let given = incoming[0].expectedVersion, given != expectedVersion {
                        throw ValidationError("--expected-version \(expectedVersion) disagrees with the event's expectedVersion \(given)")
                    }
                    incoming[0].expectedVersion = expectedVersion
                }
                let report = try Ledger.open(store: log).importEvents(incoming)
                let position = report.firstPosition ?? 0
                if format == .json {
                    print(try jsonText(ImportSummary(report, seconds: 0)))
                } else if report.alreadyStored > 0 {
                    print("already stored: \(incoming[0].eventId) (nothing written)")
                } else {
                    print("appended \(incoming[0].eventId) at position \(position) (+\(report.decisionsWritten) decisions)")
                }
            }
        }
    }
}

// MARK: - events

extension ClientLedger {
    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the log: by stream, type, position range and time range.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "Only this stream (client/<id> or campaign/<id>).")
        var stream: String?

        @Option(help: "Only this client (same as --stream client/<id>).")
        var client: String?

        @Option(help: "Only these event types (repeat, or separate with commas).")
        var type: [String] = []

        @Option(parsing: .unconditional, help: "First position.") var from: Int64?
        @Option(parsing: .unconditional, help: "Last position.") var to: Int64?
        @Option(help: "Occurred at or after this time.") var since: String?
        @Option(help: "Occurred at or before this time (a date means the end of that day).") var until: String?
        @Option(parsing: .unconditional, help: "At most this many events.") var limit: Int?

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        func validate() throws {
            if stream != nil, client != nil { throw ValidationError("give --stream or --client, not both") }
            if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
            if let from, from < 0 { throw ValidationError("--from must not be negative") }
            if let to, to < 0 { throw ValidationError("--to must not be negative") }
            for name in types where EventType(rawValue: name) == nil && name != RulesAdoption.type {
                let hint = caseInsensitiveMatch(name, among: EventType.allCases.map(\.rawValue)).map { "; did you mean \($0)?" } ?? ""
                throw ValidationError("--type: unknown event type \"\(name)\"" + hint)
            }
        }

        var types: [String] { type.flatMap { $0.split(separator: ",").map(String.init) } }

        func run() throws {
            try runMapped {
                let log = try global.openLog(readOnly: true)
                let query = EventQuery(
                    stream: stream ?? client.map { "client/" + $0 }, types: types, fromPosition: from, toPosition: to,
                    occurredFrom: try since.map { try Timestamp(iso8601: $0) ?? parseMoment($0, option: "--since") },
                    occurredTo: try until.map { try parseMoment($0, option: "--until") }, limit: limit)
                var rows: [[String]] = []
                var first = true
                // Personal fields are shown opened, or null once erased (the stored text is sealed).
                let personal = PersonalDataReader(store: log)
                if format == .json { print("[") }
                try log.scan(query) { event in
                    if format == .json {
                        print((first ? "" : ",") + (try EventWire.json(event, personal: personal)))
                        first = false
                    } else {
                        rows.append([String(event.position), event.stream, String(event.version), event.type, event.occurredAt,
                                     try EventWire.displayData(of: event, personal: personal)])
                    }
                    return true
                }
                if format == .json {
                    print("]")
                } else {
                    print(table(["position", "stream", "version", "type", "occurredAt", "data"], rows))
                }
            }
        }
    }
}
