import Foundation
import LedgerDomain
import LedgerCore
import LedgerSQLite
import LedgerStorage
import LedgerTestSupport
import Testing

/// Four `clientledger append` processes at a time write to the same ten client streams with
/// optimistic concurrency, while a reader checks every snapshot it sees.
@Suite("Concurrent writers: separate processes appending to shared streams")
struct ConcurrentWriterTests {
    static let writers = 4
    static let appendsPerWriter = 150
    static let clients = (1...10).map { String(format: "C%02d", $0) }

    @Test("no lost or duplicated events, gap-free positions, whole transactions visible, conflicts exit 75")
    func concurrentAppends() throws {
        print("concurrent writers: \(TrialSeed.banner)")
        let scratch = try Workspace("concurrent")
        defer { scratch.remove() }
        let db = scratch.path("ledger.db")
        let directory = scratch.directory
        #expect(runLedger(["init", "--db", db], in: directory).exited(0))
        let registrations = Self.clients.enumerated().map { index, client in
            #"{"eventId":"\#(uuid(0xC0FFEE, UInt64(index)))","type":"ClientRegistered","clientId":"\#(client)","occurredAt":"2026-01-01T09:00:00Z","data":{"name":"Client \#(client)","segment":"retail","investorType":"ordinary","branch":"SH-Lujiazui"}}"#
        }
        let registrationFile = scratch.path("registrations.jsonl")
        try (registrations.joined(separator: "\n") + "\n").write(toFile: registrationFile, atomically: true, encoding: .utf8)
        let registered = runLedger(["import", registrationFile, "--db", db], in: directory)
        try #require(registered.exited(0), "registering the clients: \(registered)")

        let outcomes = Locked(WriterOutcomes())
        let reader = Locked(ReaderOutcomes())
        let writersDone = Locked(false)
        let group = DispatchGroup()
        let started = Date()

        let readerThread = Thread {
            readSnapshots(db: db, until: { writersDone.snapshot }, into: reader)
            group.leave()
        }
        group.enter()
        readerThread.start()

        let writersGroup = DispatchGroup()
        for writer in 0..<Self.writers {
            writersGroup.enter()
            let thread = Thread {
                appendConcurrently(writer: writer, count: Self.appendsPerWriter, db: db, directory: directory, into: outcomes)
                writersGroup.leave()
            }
            thread.start()
        }
        let finished = writersGroup.wait(timeout: .now() + 600)
        writersDone.withLock { $0 = true }
        #expect(finished == .success, "the writers did not finish within 10 minutes")
        _ = group.wait(timeout: .now() + 120)
        let seconds = Date().timeIntervalSince(started)

        let written = outcomes.snapshot
        let seen = reader.snapshot
        print(
            "  \(written.appended.count) appends by \(Self.writers) processes at a time in \(String(format: "%.1f", seconds)) s; "
                + "\(written.conflicts) conflicts, \(written.busy) busy (exit 75), retried; "
                + "reader checked \(seen.snapshots) snapshots (largest \(seen.largest) events)")

        // Exit codes are 0 or 75 only; nothing crashed.
        for problem in written.problems.prefix(20) { Issue.record("writer: \(problem)") }
        #expect(written.exitCodes.isSubset(of: [0, 75]), "exit codes seen: \(written.exitCodes.sorted())")
        #expect(written.appended.count == Self.writers * Self.appendsPerWriter, "every append eventually succeeds")

        // The reader never saw a gap, a version jump, a broken chain or half a transaction.
        for problem in seen.problems.prefix(20) { Issue.record("reader: \(problem)") }
        #expect(seen.snapshots > 0, "the reader never read a snapshot")

        // The final log: every successful append exactly once, nothing else, gap-free.
        let rows = try readLogRows(db)
        for problem in (logShapeProblems(rows) + transactionProblems(rows)).prefix(20) { Issue.record("final log: \(problem)") }
        var count: [String: Int] = [:]
        for row in rows where row.isFact { count[row.eventId, default: 0] += 1 }
        let lost = written.appended.filter { count[$0] != 1 }
        #expect(lost.isEmpty, "appends reported successful but not stored exactly once: \(lost.prefix(5))")
        #expect(count.count == written.appended.count + Self.clients.count, "facts stored: \(count.count), appended: \(written.appended.count) + \(Self.clients.count) registrations")
        let chain = try SQLiteEventStore(path: db, readOnly: true).verifyChain()
        #expect(chain.isIntact && chain.eventsChecked == Int64(rows.count), "verifyChain: \(chain)")
        let audit = runLedger(["audit", "verify", "--db", db], in: directory)
        #expect(audit.exited(0), "audit verify: \(audit)")
    }
}

/// A version-4-shaped UUID from two numbers (deterministic ids, so a retry resends the same id).
func uuid(_ high: UInt64, _ low: UInt64) -> String {
    let a = high & 0xFFFF_FFFF_FFFF
    let b = low
    return String(
        format: "%08llx-%04llx-4%03llx-8%03llx-%012llx", (a >> 16) & 0xFFFF_FFFF, a & 0xFFFF, (b >> 48) & 0xFFF,
        (b >> 36) & 0xFFF, b & 0xFFFF_FFFF_FFFF)
}

struct WriterOutcomes: Sendable {
    var appended: [String] = []
    var conflicts = 0
    var busy = 0
    var exitCodes: Set<Int32> = []
    var problems: [String] = []
}

struct ReaderOutcomes: Sendable {
    var snapshots = 0
    var largest = 0
    var problems: [String] = []
}

/// One writer: `count` appends, each with the stream's version read just before as
/// `--expected-version`; on exit 75 it re-reads and retries with the same event id.
func appendConcurrently(writer: Int, count: Int, db: String, directory: URL, into outcomes: Locked<WriterOutcomes>) {
    var rng = SeededGenerator(seed: TrialSeed.value &+ UInt64(writer) &* 7919)
    let log: SQLiteEventStore
    do {
        log = try SQLiteEventStore(path: db, readOnly: true)
    } catch {
        outcomes.withLock { $0.problems.append("writer \(writer) cannot open the log: \(error)") }
        return
    }
    let base = Timestamp(iso8601: "2026-02-01T00:00:00Z")?.millisecondsSinceEpoch ?? 0
    for n in 0..<count {
        let client = ConcurrentWriterTests.clients[Int.random(in: 0..<ConcurrentWriterTests.clients.count, using: &rng)]
        let eventId = uuid(UInt64(writer + 1) << 32 | 0xA11, UInt64(n) << 20 | rng.next() & 0xFFFFF)
        let at = Timestamp(millisecondsSinceEpoch: base + Int64(writer * 10_000 + n) * 60_000).iso8601
        let roll = Int.random(in: 0..<10, using: &rng)
        let type: String
        let data: String
        switch roll {
        case 0..<5:
            type = "InteractionLogged"
            data = #"{"channel":"app","kind":"inquiry"}"#
        case 5..<8:
            type = "FundsDeposited"
            data = #"{"amount":\#(Int.random(in: 1_000...40_000, using: &rng)).00}"#
        default:
            type = "TradeExecuted"
            data = #"{"orderId":"O-\#(writer)-\#(n)","productId":"EQ-600519","notional":\#(Int.random(in: 100...20_000, using: &rng)).50}"#
        }
        let line = #"{"eventId":"\#(eventId)","type":"\#(type)","clientId":"\#(client)","occurredAt":"\#(at)","data":\#(data),"metadata":{"actor":"writer-\#(writer)"}}"#
        var attempt = 0
        while true {
            attempt += 1
            let expected: Int64
            do {
                expected = try log.version(of: "client/" + client)
            } catch {
                outcomes.withLock { $0.problems.append("writer \(writer) cannot read the version: \(error)") }
                return
            }
            let result = runLedger(["append", line, "--expected-version", String(expected), "--db", db], in: directory, timeoutSeconds: 60)
            outcomes.withLock { $0.exitCodes.insert(result.signaled ? 128 + result.status : result.status) }
            if result.exited(0) {
                outcomes.withLock { state in
                    if result.stdout.contains("already stored") {
                        state.problems.append("\(eventId): an append that exited 75 had written the event (a retry found it stored)")
                    }
                    state.appended.append(eventId)
                }
                break
            }
            if result.exited(75) {
                outcomes.withLock { state in
                    if result.stderr.contains("conflict") { state.conflicts += 1 } else { state.busy += 1 }
                }
                if attempt < 500 {
                    sleepMilliseconds(Double(Int.random(in: 0...5, using: &rng)))
                    continue
                }
            }
            outcomes.withLock { $0.problems.append("\(eventId) on \(client), attempt \(attempt): \(result)") }
            break
        }
    }
}

/// The reader: repeatedly takes one read snapshot and checks it, until `until()` is true.
func readSnapshots(db: String, until: () -> Bool, into outcomes: Locked<ReaderOutcomes>) {
    let log: SQLiteEventStore
    do {
        log = try SQLiteEventStore(path: db, readOnly: true)
    } catch {
        outcomes.withLock { $0.problems.append("the reader cannot open the log: \(error)") }
        return
    }
    repeat {
        do {
            let (rows, chain) = try log.connection.read { () throws -> ([LogRow], ChainReport) in
                let rows = try readLogRows(log.connection)
                return (rows, try log.verifyChain())
            }
            var problems = logShapeProblems(rows) + transactionProblems(rows)
            if !chain.isIntact || chain.eventsChecked != Int64(rows.count) {
                problems.append("verifyChain on the same snapshot: \(chain.eventsChecked) of \(rows.count) events, bad at \(chain.firstBadPosition ?? -1) \(chain.problem ?? "") \(chain.missingTriggers)")
            }
            // A fact that earns points is never visible without its award.
            let awarded = Set(rows.filter { $0.type == "PointsAwarded" }.compactMap(\.causationId))
            for row in rows where (row.type == "FundsDeposited" || row.type == "TradeExecuted") && !awarded.contains(row.eventId) {
                problems.append("\(row.brief) is visible without its PointsAwarded")
                break
            }
            outcomes.withLock { state in
                state.snapshots += 1
                state.largest = max(state.largest, rows.count)
                if state.problems.count < 50 { state.problems += problems.map { "snapshot \(state.snapshots): \($0)" } }
            }
        } catch {
            outcomes.withLock { $0.problems.append("a read failed: \(error)") }
        }
        sleepMilliseconds(5)
    } while !until()
}
