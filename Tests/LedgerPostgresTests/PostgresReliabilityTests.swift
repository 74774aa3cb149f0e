import Foundation
import LedgerApplication
import LedgerCore
@testable import LedgerPostgres
import LedgerStorage
import LedgerTestSupport
import Testing

/// Crash trials and concurrent writers on PostgreSQL: a writer killed mid-batch, the server
/// stopped as by a power cut mid-import, eight writer processes on shared streams.
@Suite("PostgreSQL: crash trials and concurrent writer processes", .enabled(if: TestServer.isAvailable, TestServer.skipNote))
struct PostgresReliabilityTests {
    /// A `clientledger` process started without waiting, to kill it.
    static func start(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Process {
        guard let executable = CLI.executable else { throw ConformanceSkip() }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment.merge(extra) { _, new in new }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs tools/test-postgres.sh with its state file (waiting through a termination handler:
    /// `waitUntilExit` can miss the end of a script whose child stays, as a server does).
    static func serverScript(_ command: String, state: String) throws -> (status: Int32, stdout: String) {
        let script = repositoryRoot().appendingPathComponent("tools/test-postgres.sh").path
        let output = state + ".\(command).out"
        FileManager.default.createFile(atPath: output, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script, command]
        var environment = ProcessInfo.processInfo.environment
        environment["CLIENTLEDGER_PG_STATE"] = state
        process.environment = environment
        process.standardOutput = handle
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        guard exited.wait(timeout: .now() + 120) == .success else {
            process.terminate()
            return (-1, "")
        }
        return (process.terminationStatus, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    static func facts(of location: String) throws -> (events: Int64, ids: Set<String>) {
        let store = try PostgresBackend().open(location, readOnly: true, clock: SystemClock())
        var ids = Set<String>()
        var count: Int64 = 0
        try store.scan(.all) { event in
            count += 1
            #expect(ids.insert(event.eventId).inserted, "event id \(event.eventId) stored twice")
            return true
        }
        let chain = try store.verifyChain()
        #expect(chain.isIntact && chain.eventsChecked == count, "chain: \(chain)")
        return (count, ids)
    }

    /// Every stream's events as content (type, occurrence, payload, in version order): what
    /// two imports of the same facts must agree on, whatever their positions and times of
    /// recording. (Projection rows are not compared: qualifying points follow the clock.)
    static func content(of location: String) throws -> [String: [String]] {
        let store = LedgerStores.isPostgresURL(location)
            ? try PostgresBackend().open(location, readOnly: true, clock: SystemClock())
            : try LedgerStores.open(location, readOnly: true)
        var streams: [String: [String]] = [:]
        try store.scan(.all) { event in
            // The ledger's own stream records when the rules were adopted: the clients' count.
            guard event.stream.hasPrefix("client/") else { return true }
            // Sealed names differ by their random keys and nonces: the rest of the payload counts.
            let data = event.data.replacingOccurrences(of: #"\{"sealed":"[0-9a-f]+"\}"#, with: "<sealed>", options: .regularExpression)
            streams[event.stream, default: []].append("\(event.version) \(event.type) \(event.occurredAt) \(data)")
            return true
        }
        return streams
    }

    static func inputIds(_ file: String) throws -> Set<String> {
        Set(try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: #""eventId":"[^"]+""#, options: .regularExpression) else { return nil }
            return String(line[range].dropFirst(11).dropLast())
        })
    }

    @Test("a batched import killed at random moments leaves whole batches and a verifiable chain; the retry stores every fact once")
    func killedWriters() throws {
        try withWorkspace { workspace in
            let file = workspace.path("seed.jsonl")
            #expect(runCLI(["seed", "--clients", "60", "--events", "6000", "--seed", "3", "--output", file]).status == 0)
            let ids = try Self.inputIds(file)
            // The same input on SQLite, in one run: the reference the trials must end equal to.
            let reference = workspace.path("reference.db")
            #expect(runCLI(["init", "--db", reference]).status == 0)
            #expect(runCLI(["import", file, "--db", reference]).status == 0)
            let expected = try Self.content(of: reference)

            for trial in 0..<3 {
                let location = try TestServer.makeDatabase()
                defer { TestServer.dropDatabase(location) }
                #expect(runCLI(["init", "--db", location], environment: ["CLIENTLEDGER_SIGNING_KEY": workspace.path("k\(trial)")]).status == 0)
                let writer = try Self.start(["import", file, "--batch-size", "500", "--db", location])
                usleep(useconds_t(300_000 + trial * 400_000))
                kill(writer.processIdentifier, SIGKILL)
                writer.waitUntilExit()
                let (stored, storedIds) = try Self.facts(of: location)
                // Whole batches of 500 input lines, or all of them: never part of a batch.
                let factsStored = storedIds.intersection(ids).count
                #expect(factsStored % 500 == 0 || factsStored == ids.count, "trial \(trial): \(factsStored) facts stored")
                let retry = runCLI(["import", file, "--batch-size", "500", "--db", location])
                #expect(retry.status == 0, "trial \(trial) retry after \(stored) events: \(retry.stderr)")
                let (_, after) = try Self.facts(of: location)
                #expect(ids.isSubset(of: after), "trial \(trial): facts missing after the retry")
                #expect(try Self.content(of: location) == expected, "trial \(trial): the ledger differs from one uninterrupted import")
                #expect(runCLI(["projections", "rebuild", "--db", location]).status == 0)
            }
        }
    }

    @Test("the server stopped as by a power cut mid-import: exit 75 or 0, nothing acknowledged lost, the retry completes the same ledger")
    func crashedServer() throws {
        try withWorkspace { workspace in
            let state = workspace.path("server.state")
            let started = try Self.serverScript("start", state: state)
            try #require(started.status == 0, "a second test server could not start")
            defer { _ = try? Self.serverScript("stop", state: state) }
            guard let url = started.stdout.split(separator: "=", maxSplits: 1).last.map({ String($0).trimmingCharacters(in: .whitespacesAndNewlines) }) else {
                Issue.record("no URL from \(started.stdout)")
                return
            }
            let location = String(url.dropLast("/postgres".count)) + "/ledger"
            let environment = ["CLIENTLEDGER_SIGNING_KEY": workspace.path("k")]
            #expect(runCLI(["init", "--db", location], environment: environment).status == 0)
            let file = workspace.path("seed.jsonl")
            #expect(runCLI(["seed", "--clients", "60", "--events", "8000", "--seed", "5", "--output", file]).status == 0)
            let reference = workspace.path("reference.db")
            #expect(runCLI(["init", "--db", reference]).status == 0)
            #expect(runCLI(["import", file, "--db", reference]).status == 0)

            let writer = try Self.start(["import", file, "--batch-size", "400", "--db", location])
            usleep(800_000)
            let crashed = try Self.serverScript("crash", state: state)
            #expect(crashed.status == 0, "the server could not be stopped")
            writer.waitUntilExit()
            #expect([0, 75].contains(writer.terminationStatus), "the writer exited \(writer.terminationStatus)")
            let restarted = try Self.serverScript("restart", state: state)
            try #require(restarted.status == 0, "the server could not be started again")

            _ = try Self.facts(of: location)  // a verifiable chain after recovery
            let retry = runCLI(["import", file, "--batch-size", "400", "--db", location])
            #expect(retry.status == 0, "retry: \(retry.stderr)")
            let (_, after) = try Self.facts(of: location)
            #expect(try Self.inputIds(file).isSubset(of: after))
            #expect(try Self.content(of: location) == Self.content(of: reference), "the ledger differs from one uninterrupted import")
            #expect(runCLI(["projections", "rebuild", "--db", location]).status == 0)
        }
    }

    @Test("eight writer processes appending to shared streams: every append stored once, gap-free, the chain intact")
    func eightWriters() throws {
        let location = try TestServer.makeDatabase()
        defer { TestServer.dropDatabase(location) }
        try withWorkspace { workspace in
            #expect(runCLI(["init", "--db", location], environment: ["CLIENTLEDGER_SIGNING_KEY": workspace.path("k")]).status == 0)
            let clients = (1...6).map { "W\($0)" }
            let registrations = clients.map {
                #"{"type":"ClientRegistered","clientId":"\#($0)","occurredAt":"2026-01-01T09:00:00Z","data":{"name":"Client \#($0)","segment":"retail","investorType":"ordinary","branch":"SH"}}"#
            }
            #expect(runCLI(["import", try workspace.write("r.jsonl", registrations.joined(separator: "\n") + "\n"), "--db", location]).status == 0)
            let writers = 8
            let perWriter = 12
            let failures = Locked([String]())
            let group = DispatchGroup()
            for writer in 0..<writers {
                group.enter()
                Thread {
                    defer { group.leave() }
                    for n in 0..<perWriter {
                        let id = String(format: "00000000-0000-4000-8000-%06d%06d", writer, n)
                        let client = clients[(writer + n) % clients.count]
                        let at = String(format: "2026-02-%02dT%02d:%02d:00Z", 1 + writer, n / 60, n % 60)
                        let line = #"{"eventId":"\#(id)","type":"FundsDeposited","clientId":"\#(client)","occurredAt":"\#(at)","data":{"amount":100.00}}"#
                        var attempts = 0
                        while true {
                            attempts += 1
                            let result = runCLI(["append", line, "--db", location], timeoutSeconds: 120)
                            if result.status == 0 { break }
                            if result.status == 75, attempts < 50 { continue }
                            failures.withLock { $0.append("writer \(writer) event \(n): \(result.status) \(result.stderr)") }
                            break
                        }
                    }
                }.start()
            }
            #expect(group.wait(timeout: .now() + 600) == .success, "the writers did not finish in 10 minutes")
            for failure in failures.snapshot.prefix(10) { Issue.record("\(failure)") }
            let store = try PostgresBackend().open(location, readOnly: true, clock: SystemClock())
            var deposits = [String: Int]()
            var positions: [Int64] = []
            try store.scan(.all) { event in
                positions.append(event.position)
                if event.type == "FundsDeposited" { deposits[event.eventId, default: 0] += 1 }
                return true
            }
            #expect(deposits.count == writers * perWriter && deposits.values.allSatisfy { $0 == 1 }, "deposits stored: \(deposits.count)")
            #expect(positions == Array(1...Int64(positions.count)), "positions are not 1…n")
            #expect(try store.verifyChain().isIntact)
        }
    }
}

/// A value shared by threads, behind a lock.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    var snapshot: Value { lock.lock(); defer { lock.unlock() }; return value }
    func withLock<R>(_ body: (inout Value) -> R) -> R { lock.lock(); defer { lock.unlock() }; return body(&value) }
}
