import Foundation
import Testing

// MARK: - Running the real executable

/// Where the built `clientledger` executable is: the build directory that holds this test
/// bundle, found by walking up from the bundle (or from the test process's own path).
public enum CLI {
    public static let executable: URL? = locate()

    private static func locate() -> URL? {
        let starts = [Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
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

    public static var missingMessage: String {
        "the clientledger executable was not found next to the test bundle (\(Bundle.main.bundleURL.path), "
            + "\(CommandLine.arguments[0])); build it first: swift build --build-tests"
    }
}

/// Runs `clientledger` with `args`, feeding `stdin` when given, and waits for it (killing it,
/// and recording an issue, if it runs longer than `timeoutSeconds`).
/// Output goes through files, so a large output can never block the child on a full pipe.
public func runCLI(
    _ args: [String], stdin: Data? = nil, environment extra: [String: String] = [:], timeoutSeconds: Int = 180, sourceLocation: SourceLocation = #_sourceLocation
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
        environment.merge(extra) { _, new in new }
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

/// Whether `sqlite3` (the command-line shell) is on the PATH.
public func sqlite3Path() -> String? {
    let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    for directory in directories + ["/usr/bin", "/usr/local/bin"] {
        let candidate = "\(directory)/sqlite3"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// Runs any program and waits for it (for sqlite3 and python3).
public func runTool(_ executable: String, _ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
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
