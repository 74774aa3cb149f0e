import Foundation
import Testing

@testable import LedgerStore

// MARK: - Running the real executable

/// Where the built `clientledger` executable is: the build directory that holds this test
/// bundle, found by walking up from the bundle (or from the test process's own path).
enum CLI {
    static let executable: URL? = locate()

    private static func locate() -> URL? {
        var starts = [Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        starts.append(Bundle.module.bundleURL.deletingLastPathComponent())
        let fileManager = FileManager.default
        for start in starts {
            var directory = start.standardizedFileURL
            for _ in 0..<6 {
                let candidate = directory.appendingPathComponent("clientledger")
                var isDirectory: ObjCBool = false
                if fileManager.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                    fileManager.isExecutableFile(atPath: candidate.path)
                {
                    return candidate
                }
                let parent = directory.deletingLastPathComponent()
                if parent.path == directory.path { break }
                directory = parent
            }
        }
        return nil
    }

    static var missingMessage: String {
        "the clientledger executable was not found next to the test bundle (\(Bundle.main.bundleURL.path), "
            + "\(CommandLine.arguments[0])); build it first: swift build --build-tests"
    }
}

/// Runs `clientledger` with `args`, feeding `stdin` when given, and waits for it (killing it,
/// and recording an issue, if it runs longer than `timeoutSeconds`).
/// Output goes through files, so a large output can never block the child on a full pipe.
func runCLI(
    _ args: [String], stdin: Data? = nil, timeoutSeconds: Int = 180, sourceLocation: SourceLocation = #_sourceLocation
)
    -> (status: Int32, stdout: String, stderr: String)
{
    guard let executable = CLI.executable else {
        Issue.record("\(CLI.missingMessage)", sourceLocation: sourceLocation)
        return (-1, "", CLI.missingMessage)
    }
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("clientledger-run-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: scratch) }
    do {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        let inURL = scratch.appendingPathComponent("stdin")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: inURL.path, contents: stdin ?? Data())
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let input = try FileHandle(forReadingFrom: inURL)
        defer {
            try? out.close()
            try? err.close()
            try? input.close()
        }

        let process = Process()
        process.executableURL = executable
        process.arguments = args
        // Run in the scratch directory so a missing --db can never touch a real ledger.
        process.currentDirectoryURL = scratch
        var environment = ProcessInfo.processInfo.environment
        environment["CLIENTLEDGER_DB"] = nil
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        if exited.wait(timeout: .now() + .seconds(timeoutSeconds)) == .timedOut {
            process.terminate()
            _ = exited.wait(timeout: .now() + .seconds(10))
            Issue.record("clientledger \(args.prefix(4)) did not finish within \(timeoutSeconds) s (hung?)", sourceLocation: sourceLocation)
        }
        process.waitUntilExit()
        let stdout = String(decoding: try Data(contentsOf: outURL), as: UTF8.self)
        let stderr = String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
        return (process.terminationStatus, stdout, stderr)
    } catch {
        Issue.record("could not run clientledger \(args): \(error)", sourceLocation: sourceLocation)
        return (-1, "", "\(error)")
    }
}

// MARK: - Temporary ledgers

/// A fresh directory under the temporary directory, with a ledger path inside it.
struct Workspace {
    let directory: URL
    var db: String { directory.appendingPathComponent("ledger.db").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ClientLedgerCLITests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Writes a file into the workspace and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let path = path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

func withWorkspace(_ body: (Workspace) throws -> Void) throws {
    let workspace = try Workspace()
    defer { workspace.remove() }
    try body(workspace)
}

// MARK: - Reading the log directly

/// Every row of `events`, each column as text (the hash as hex), in position order, plus the count.
struct LogSnapshot: Equatable, CustomStringConvertible {
    var rows: [[String]]
    var count: Int64
    var description: String { "\(count) events" }
}

func snapshot(_ db: String) throws -> LogSnapshot {
    let connection = try Connection(path: db, mode: .readOnly)
    return try connection.read {
        // Every column of the table is listed; a test below checks there are no others.
        let statement = try connection.prepare(
            """
            SELECT position, stream, version, event_id, type, schema_version, occurred_at, recorded_at,
                   data, metadata, hex(hash) FROM events ORDER BY position
            """)
        var rows: [[String]] = []
        while try statement.step() {
            rows.append((0..<11).map { statement.string(at: Int32($0)) })
        }
        let count = try connection.scalarInt("SELECT count(*) FROM events")
        return LogSnapshot(rows: rows, count: count)
    }
}

/// Number of columns of the events table (the snapshot reads 11).
func eventColumnCount(_ db: String) throws -> Int64 {
    let connection = try Connection(path: db, mode: .readOnly)
    return try connection.scalarInt("SELECT count(*) FROM pragma_table_info('events')")
}

func eventCount(_ db: String, where condition: String = "1", _ bindings: [String] = []) throws -> Int64 {
    let connection = try Connection(path: db, mode: .readOnly)
    return try connection.scalarInt("SELECT count(*) FROM events WHERE \(condition)", bindings)
}

/// One stored event, looked up by id.
struct StoredRow {
    var position: Int64
    var stream: String
    var type: String
    var data: String
    var metadata: String
}

func storedEvent(_ db: String, id: String) throws -> StoredRow? {
    let connection = try Connection(path: db, mode: .readOnly)
    let statement = try connection.prepare("SELECT position, stream, type, data, metadata FROM events WHERE event_id = ?")
    statement.bind(id, at: 1)
    guard try statement.step() else { return nil }
    return StoredRow(
        position: statement.int64(at: 0), stream: statement.string(at: 1), type: statement.string(at: 2),
        data: statement.string(at: 3), metadata: statement.string(at: 4))
}

// MARK: - Files of the repository and of the test bundle

/// The repository root, from this source file's path.
func repositoryRoot(_ filePath: String = #filePath) -> URL {
    URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// The bad-input corpus directory copied into the test bundle.
func badInputDirectory() throws -> URL {
    try #require(Bundle.module.url(forResource: "BadInput", withExtension: nil), "BadInput is missing from the test bundle")
}

/// Parses JSON text into Foundation values.
func parseJSON(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
}

/// POSIX permission bits of a file.
func permissions(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
}

/// Whether `sqlite3` (the command-line shell) is on the PATH.
func sqlite3Path() -> String? {
    let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    for directory in directories + ["/usr/bin", "/usr/local/bin"] {
        let candidate = "\(directory)/sqlite3"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// Runs any program and waits for it (for sqlite3 and python3).
func runTool(_ executable: String, _ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + args
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tool-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("out")
    let errURL = scratch.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    defer {
        try? out.close()
        try? err.close()
    }
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return (
        process.terminationStatus, String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
        String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
    )
}

/// The same expectation helper as in LedgerStoreTests (Swift 6.3.1 miscompiles some nested
/// `#expect(throws:)` closures).
@discardableResult
func expectError<E: Error>(
    _ errorType: E.Type, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) -> E? {
    do {
        try body()
    } catch let error as E {
        return error
    } catch {
        Issue.record("expected \(E.self), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
    Issue.record("expected \(E.self) to be thrown, nothing was thrown", sourceLocation: sourceLocation)
    return nil
}
