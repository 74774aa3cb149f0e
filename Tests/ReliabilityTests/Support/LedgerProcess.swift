import Foundation
import LedgerTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Running to completion

/// How a child process ended, and what it wrote.
struct LedgerResult: Sendable, CustomStringConvertible {
    /// The exit code, or the signal number when `signaled`.
    var status: Int32
    /// True when the process was ended by a signal (a crash, or our SIGKILL).
    var signaled: Bool
    var stdout: String
    var stderr: String
    var seconds: Double

    /// Exited on its own with this code (not by a signal).
    func exited(_ code: Int32) -> Bool { !signaled && status == code }

    var description: String {
        let how = signaled ? "signal \(status)" : "exit \(status)"
        return "\(how); stderr: \(stderr.prefix(400)); stdout: \(stdout.prefix(200))"
    }
}

/// A fresh directory under the temporary directory; remove it when done.

/// Runs `clientledger args` to completion in `directory` (so a missing `--db` can never touch
/// a real ledger), with `CLIENTLEDGER_DB` unset. Output goes through files, so a large output
/// never blocks the child. Never records issues itself: safe from any thread.
func runLedger(
    _ args: [String], in directory: URL, stdin: Data? = nil, timeoutSeconds: Double = 300, memoryLimitKB: Int? = nil
) -> LedgerResult {
    do {
        let child = try LedgerChild(args, in: directory, stdin: stdin, memoryLimitKB: memoryLimitKB)
        let ended = child.wait(timeoutSeconds: timeoutSeconds)
        var result = child.result()
        if !ended {
            child.kill()
            _ = child.wait(timeoutSeconds: 30)
            result = child.result()
            result.stderr = "TIMED OUT after \(timeoutSeconds) s; " + result.stderr
        }
        child.removeFiles()
        return result
    } catch {
        return LedgerResult(status: -1, signaled: false, stdout: "", stderr: "could not run clientledger \(args): \(error)", seconds: 0)
    }
}

// MARK: - A running child

/// A `clientledger` child process whose stderr can be read line by line while it runs, and
/// which can be killed with SIGKILL at any moment (a crash: no handler runs, nothing is flushed).
final class LedgerChild: @unchecked Sendable {
    let process = Process()
    let arguments: [String]
    private let outURL: URL
    private let errURL: URL
    private let inURL: URL
    private let started = Date()
    private let exited = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var endedAt: Date?
    private var handles: [FileHandle] = []
    private var errOffset: UInt64 = 0
    private var partialLine = Data()

    /// With `memoryLimitKB`, the child runs under `ulimit -v` (through /bin/sh, which `exec`s it).
    init(_ args: [String], in directory: URL, stdin: Data? = nil, memoryLimitKB: Int? = nil) throws {
        guard let executable = CLI.executable else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: CLI.missingMessage])
        }
        arguments = args
        let tag = UUID().uuidString.prefix(8)
        outURL = directory.appendingPathComponent(".child-\(tag).out")
        errURL = directory.appendingPathComponent(".child-\(tag).err")
        inURL = directory.appendingPathComponent(".child-\(tag).in")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: inURL.path, contents: stdin ?? Data())
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let input = try FileHandle(forReadingFrom: inURL)
        handles = [out, err, input]
        if let memoryLimitKB {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -v \(memoryLimitKB) && exec \"$0\" \"$@\"", executable.path] + args
        } else {
            process.executableURL = executable
            process.arguments = args
        }
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["CLIENTLEDGER_DB"] = nil
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        process.terminationHandler = { [weak self] _ in
            guard let self else { return }
            self.lock.lock()
            self.endedAt = Date()
            self.lock.unlock()
            self.exited.signal()
        }
        do {
            try process.run()
        } catch {
            closeHandles()
            throw error
        }
    }

    var pid: Int32 { process.processIdentifier }
    var elapsed: Double { Date().timeIntervalSince(started) }

    var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return endedAt == nil
    }

    /// SIGKILL, if it is still running.
    func kill() {
        guard isRunning else { return }
        killProcess(pid)
    }

    /// Waits for the process to end; false on timeout.
    @discardableResult
    func wait(timeoutSeconds: Double) -> Bool {
        guard exited.wait(timeout: .now() + timeoutSeconds) == .success else { return false }
        exited.signal()  // later waits return at once
        process.waitUntilExit()
        return true
    }

    /// Complete stderr lines written since the last call.
    func newStderrLines() -> [String] {
        guard let handle = try? FileHandle(forReadingFrom: errURL) else { return [] }
        defer { try? handle.close() }
        lock.lock()
        defer { lock.unlock() }
        guard (try? handle.seek(toOffset: errOffset)) != nil, let data = try? handle.readToEnd(), !data.isEmpty else { return [] }
        errOffset += UInt64(data.count)
        partialLine.append(data)
        var lines: [String] = []
        while let newline = partialLine.firstIndex(of: 0x0A) {
            lines.append(String(decoding: partialLine[partialLine.startIndex..<newline], as: UTF8.self))
            partialLine = Data(partialLine[partialLine.index(after: newline)...])
        }
        return lines
    }

    /// Exit status and output; call after `wait`.
    func result() -> LedgerResult {
        lock.lock()
        let end = endedAt ?? Date()
        lock.unlock()
        let ended = !isRunning
        let signaled = ended && process.terminationReason == .uncaughtSignal
        return LedgerResult(
            status: ended ? process.terminationStatus : -1, signaled: signaled,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self),
            seconds: end.timeIntervalSince(started))
    }

    private func closeHandles() {
        for handle in handles { try? handle.close() }
        handles = []
    }

    func removeFiles() {
        closeHandles()
        for url in [outURL, errURL, inURL] { try? FileManager.default.removeItem(at: url) }
    }

    deinit {
        for handle in handles { try? handle.close() }
    }
}

/// Sends SIGKILL to `pid`.
private func killProcess(_ pid: Int32) {
    _ = kill(pid, SIGKILL)
}

// MARK: - Seeds and small utilities

/// The seed of every randomized trial in this target: `CLIENTLEDGER_TRIAL_SEED`, or a fixed
/// default, so a failing run can be replayed exactly.
enum TrialSeed {
    static let value: UInt64 = {
        if let text = ProcessInfo.processInfo.environment["CLIENTLEDGER_TRIAL_SEED"], let seed = UInt64(text) { return seed }
        return 20_260_505
    }()

    static var banner: String {
        "seed \(value) (replay with CLIENTLEDGER_TRIAL_SEED=\(value) swift test --filter ReliabilityTests)"
    }
}

/// A value shared between threads behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    @discardableResult
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    var snapshot: Value { withLock { $0 } }
}

/// Sleeps the calling thread (never used on the cooperative pool for long).
func sleepMilliseconds(_ ms: Double) {
    guard ms > 0 else { return }
    usleep(useconds_t(ms * 1000))
}

/// Copies a closed SQLite database with its `-wal` companion (if any) to `destination`.
func copyDatabase(_ source: String, to destination: String) throws {
    let fileManager = FileManager.default
    for suffix in ["", "-wal", "-shm"] {
        try? fileManager.removeItem(atPath: destination + suffix)
    }
    for suffix in ["", "-wal"] where fileManager.fileExists(atPath: source + suffix) {
        try fileManager.copyItem(atPath: source + suffix, toPath: destination + suffix)
    }
}

/// A file's bytes (for "nothing changed" checks), nil when it cannot be read.
func fileBytes(_ path: String) -> Data? {
    FileManager.default.contents(atPath: path)
}
