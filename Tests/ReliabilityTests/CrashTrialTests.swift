import Foundation
import LedgerDomain
import LedgerProjections
import LedgerCore
import LedgerSQLite
import LedgerStorage
import LedgerTestSupport
import Testing

/// Crash trials: the real `clientledger` is killed with SIGKILL (no handler, no flush, like a
/// power cut for the process) at random moments of a batched import or of a projection rebuild,
/// and the database it leaves is checked. Seeded: `CLIENTLEDGER_TRIAL_SEED` replays a run.
@Suite("Crash trials: SIGKILL during batched imports and projection rebuilds")
struct CrashTrialTests {
    static let importTrials = 16
    static let rebuildTrials = 6
    /// Trials run two at a time (the CI machine has 2 cores).
    static let lanes = 2

    @Test("a batched import killed at a random moment leaves whole batches 1…L, a verifiable chain, and completes on retry")
    func killedImports() throws {
        print("crash trials (import): \(TrialSeed.banner)")
        let reference = try SharedReference.instance.acquire()
        defer { SharedReference.instance.release() }
        let plans = ImportTrialPlan.plans(count: Self.importTrials, reference: reference)
        let reports = Locked<[TrialReport]>([])
        DispatchQueue.concurrentPerform(iterations: Self.lanes) { lane in
            for plan in plans where plan.index % Self.lanes == lane {
                let report = runImportTrial(plan, reference: reference)
                reports.withLock { $0.append(report) }
            }
        }
        let done = reports.snapshot.sorted { $0.index < $1.index }
        #expect(done.count == Self.importTrials)
        for report in done {
            print("  " + report.summary)
            for problem in report.problems { Issue.record("import trial \(report.index) (\(report.plan)): \(problem)") }
        }
        let midway = done.filter(\.stoppedMidway).count
        print("  \(midway) of \(done.count) trials were killed with part of the input committed")
        #expect(midway > 0, "no trial killed an import between its first and its last batch: the kill moments need tuning")
    }

    @Test("a projection rebuild killed at a random moment leaves the old projection serving, and a new rebuild is exact")
    func killedRebuilds() throws {
        print("crash trials (rebuild): \(TrialSeed.banner)")
        let reference = try SharedReference.instance.acquire()
        defer { SharedReference.instance.release() }
        let setup = try RebuildSetup(reference: reference)
        var rng = SeededGenerator(seed: TrialSeed.value &+ 0x5EB0_11D)
        var outcomes: [String: Int] = [:]
        for index in 0..<Self.rebuildTrials {
            // Mostly in the second half of the run, where the rebuild writes and swaps.
            let delay = Double.random(in: (setup.rebuildSeconds * 200)...(setup.rebuildSeconds * 1400), using: &rng)
            let report = runRebuildTrial(index: index, killAfterMs: delay, setup: setup, reference: reference)
            print("  " + report.summary)
            outcomes[report.outcome, default: 0] += 1
            for problem in report.problems { Issue.record("rebuild trial \(index) (kill after \(Int(delay)) ms): \(problem)") }
        }
        print("  outcomes: \(outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
    }
}

// MARK: - The reference: seeded input, one clean import

/// A seeded JSON Lines file and the log a clean, uninterrupted import of it gives.
struct CrashReference: Sendable {
    static let clients = 300
    static let events = 40_000

    let scratch: Workspace
    let input: String
    /// The database of the clean import (one transaction, no batches).
    let database: String
    /// The eventId of line i + 1 (the seeded file has no blank lines).
    let factIds: [String]
    /// The clean import's log, without the clock-dependent columns.
    let rows: [LogRow]
    let importSeconds: Double

    var lineCount: Int { factIds.count }

    init(label: String) throws {
        scratch = try Workspace(label)
        input = scratch.path("seeded.jsonl")
        database = scratch.path("reference.db")
        let seeded = runLedger(
            ["seed", "--clients", String(Self.clients), "--events", String(Self.events), "--seed", String(TrialSeed.value),
             "--output", input], in: scratch.directory)
        guard seeded.exited(0) else { throw TrialFailure("seed failed: \(seeded)") }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: input))
        let parsed = try bytes.withUnsafeBytes { raw in try ImportLineParser.parseAll(raw.bindMemory(to: UInt8.self)) }
        guard parsed.enumerated().allSatisfy({ $0.element.line == $0.offset + 1 }) else {
            throw TrialFailure("the seeded file has blank or skipped lines; line numbers and fact indexes differ")
        }
        factIds = parsed.map(\.eventId)

        guard runLedger(["init", "--db", database], in: scratch.directory).exited(0) else { throw TrialFailure("init failed") }
        let clean = runLedger(["import", input, "--db", database], in: scratch.directory)
        guard clean.exited(0) else { throw TrialFailure("the clean reference import failed: \(clean)") }
        importSeconds = clean.seconds
        rows = try readLogRows(database)
        let facts = rows.filter(\.isFact).map(\.eventId)
        guard facts == factIds else { throw TrialFailure("the clean import did not store the lines' facts in line order") }
        let problems = logShapeProblems(rows) + transactionProblems(rows)
        guard problems.isEmpty else { throw TrialFailure("the clean reference log is malformed: \(problems)") }
        print("  reference: \(factIds.count) facts, \(rows.count) events, clean import \(String(format: "%.2f", importSeconds)) s")
    }
}

/// One reference for the tests that run at the same time; removed when the last one is done.
final class SharedReference: @unchecked Sendable {
    static let instance = SharedReference()
    private let lock = NSLock()
    private var reference: CrashReference?
    private var users = 0

    func acquire() throws -> CrashReference {
        lock.lock()
        defer { lock.unlock() }
        if let reference {
            users += 1
            return reference
        }
        let made = try CrashReference(label: "crash-trials")
        reference = made
        users = 1
        return made
    }

    func release() {
        lock.lock()
        defer { lock.unlock() }
        users -= 1
        if users == 0 {
            reference?.scratch.remove()
            reference = nil
        }
    }
}

/// What one trial saw.
struct TrialReport: Sendable {
    var index: Int
    var plan: String
    var summary: String
    var problems: [String]
    var stoppedMidway: Bool
    var outcome = ""
}

// MARK: - Import trials

struct ImportTrialPlan: Sendable, CustomStringConvertible {
    enum Kill: Sendable {
        /// Kill this long after the start (may land before the first commit, or after the end).
        case afterDelay(ms: Double)
        /// Kill this long after the `count`-th "committed through line" report (lands mid-batch).
        case afterCommits(count: Int, thenMs: Double)
    }

    var index: Int
    var batchSize: Int
    var kill: Kill

    var description: String {
        switch kill {
        case .afterDelay(let ms): return "--batch-size \(batchSize), SIGKILL at \(Int(ms)) ms"
        case .afterCommits(let count, let ms): return "--batch-size \(batchSize), SIGKILL \(Int(ms)) ms after commit report \(count)"
        }
    }

    /// Seeded plans: batch sizes 500–5000; a third killed after a random delay over the whole
    /// run, the rest shortly after a random batch report (so most kills land inside a batch).
    /// Nothing is committed before the import's check has passed, and the writing runs beside
    /// it, so the reports come in the later part of the run: the report waited for is one of
    /// the first third of the batches.
    static func plans(count: Int, reference: CrashReference) -> [ImportTrialPlan] {
        var rng = SeededGenerator(seed: TrialSeed.value)
        let lines = Double(reference.lineCount)
        // A batched import checks the whole input first, then commits: slower than a clean one.
        let totalMs = reference.importSeconds * 1000 * 2
        return (0..<count).map { index in
            let batchSize = Int.random(in: 500...5000, using: &rng)
            let batches = (reference.lineCount + batchSize - 1) / batchSize
            if index % 3 == 0 {
                return ImportTrialPlan(index: index, batchSize: batchSize, kill: .afterDelay(ms: Double.random(in: 0...totalMs, using: &rng)))
            }
            let batchMs = reference.importSeconds * 1000 * Double(batchSize) / lines
            return ImportTrialPlan(
                index: index, batchSize: batchSize,
                kill: .afterCommits(count: Int.random(in: 1...max(1, (batches - 1) / 3), using: &rng),
                                    thenMs: Double.random(in: 0...(batchMs * 1.5), using: &rng)))
        }
    }
}

private func committedLine(_ text: String) -> Int? {
    guard let range = text.range(of: "committed through line ") else { return nil }
    return Int(text[range.upperBound...].prefix { $0.isNumber })
}

/// One import trial: fresh ledger, import killed per the plan, checks, re-import, checks.
func runImportTrial(_ plan: ImportTrialPlan, reference: CrashReference) -> TrialReport {
    var problems: [String] = []
    var report = TrialReport(index: plan.index, plan: plan.description, summary: "", problems: [], stoppedMidway: false)
    let directory = reference.scratch.directory.appendingPathComponent("import-trial-\(plan.index)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let db = directory.appendingPathComponent("ledger.db").path
    let batch = plan.batchSize
    let total = reference.lineCount
    do {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        guard runLedger(["init", "--db", db], in: directory).exited(0) else { throw TrialFailure("init failed") }

        // 1. Start the import and kill it.
        let child = try LedgerChild(["import", reference.input, "--batch-size", String(batch), "--db", db], in: directory)
        defer { child.removeFiles() }
        var lines: [String] = []
        var commits = 0
        let deadline = 120.0
        switch plan.kill {
        case .afterDelay(let ms):
            while child.isRunning, child.elapsed * 1000 < ms { sleepMilliseconds(2) }
        case .afterCommits(let count, let ms):
            while child.isRunning, commits < count, child.elapsed < deadline {
                let fresh = child.newStderrLines()
                lines += fresh
                commits += fresh.filter { committedLine($0) != nil }.count
                if commits < count { sleepMilliseconds(1) }
            }
            sleepMilliseconds(ms)
        }
        let killedAt = child.elapsed
        child.kill()
        guard child.wait(timeoutSeconds: 30) else { throw TrialFailure("the import did not end after SIGKILL") }
        lines += child.newStderrLines()
        let ended = child.result()
        if !ended.signaled, !ended.exited(0) {
            problems.append("the import ended on its own with \(ended)")
        }
        let reported = lines.compactMap(committedLine)
        let lastReported = reported.last ?? 0

        var phases: [(String, Date)] = [("kill", Date())]
        // 2. The database opens, the chain verifies (the CLI and the library agree).
        let audit = runLedger(["audit", "verify", "--db", db], in: directory)
        if !audit.exited(0) || !audit.stdout.contains("chain intact") {
            problems.append("audit verify after the kill: \(audit)")
        }
        phases.append(("audit", Date()))
        let log = try SQLiteEventStore(path: db, readOnly: true)
        let chain = try log.verifyChain()
        phases.append(("verifyChain", Date()))
        if !chain.isIntact {
            problems.append("verifyChain after the kill: bad at \(chain.firstBadPosition ?? -1): \(chain.problem ?? "") \(chain.missingTriggers)")
        }

        // 3. All or nothing per batch: the facts are exactly lines 1…L, L a batch boundary.
        let rows = try readLogRows(db)
        if chain.eventsChecked != Int64(rows.count) { problems.append("verifyChain checked \(chain.eventsChecked) of \(rows.count) events") }
        problems += logShapeProblems(rows)
        let facts = rows.filter(\.isFact).map(\.eventId)
        let stored = facts.count
        if facts != Array(reference.factIds.prefix(stored)) {
            let firstWrong = zip(facts, reference.factIds).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? stored
            problems.append("the \(stored) stored facts are not the facts of lines 1…\(stored) (first difference at fact \(firstWrong + 1))")
        }
        if !(stored == 0 || stored == total || stored % batch == 0) {
            problems.append("\(stored) facts are stored: not a batch boundary of --batch-size \(batch) (a batch was committed in part)")
        }
        for (offset, line) in reported.enumerated() {
            if !(line % batch == 0 || line == total) || (offset > 0 && line <= reported[offset - 1]) {
                problems.append("reported \"committed through line \(line)\" is not the next batch boundary (reports: \(reported))")
                break
            }
        }
        if lastReported > stored {
            problems.append("reported committed through line \(lastReported), but only lines 1…\(stored) are stored: a reported commit was lost")
        }
        if stored > lastReported + batch {
            problems.append("lines 1…\(stored) are stored, but only \(lastReported) were reported: more than one batch committed unreported")
        }
        if rows != Array(reference.rows.prefix(rows.count)) {
            let index = zip(rows, reference.rows).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? rows.count
            let got = index < rows.count ? rows[index].brief : "nothing"
            let want = index < reference.rows.count ? reference.rows[index].brief : "nothing"
            problems.append("the log is not a prefix of the clean import's log: at position \(index + 1) found \(got), clean run has \(want)")
        } else if rows.count < reference.rows.count {
            let next = reference.rows[rows.count]
            if next.isDecision, let cause = next.causationId, facts.contains(cause) {
                problems.append("\(next.brief), a decision of a stored fact, is missing: a fact was committed without its decisions")
            }
        }

        phases.append(("checks", Date()))
        // 4. The same import again completes, and the log is exactly the clean run's.
        let again = runLedger(["import", reference.input, "--batch-size", String(batch), "--db", db], in: directory)
        if !again.exited(0) {
            problems.append("re-running the import: \(again)")
        } else {
            if !again.stdout.contains("imported \(total - stored) events") {
                problems.append("re-run should write exactly the \(total - stored) missing facts: \(again.stdout)")
            }
            if stored > 0, !again.stdout.contains("\(stored) already stored") {
                problems.append("re-run should skip the \(stored) stored facts: \(again.stdout)")
            }
        }
        phases.append(("reimport", Date()))
        let final = try readLogRows(db)
        phases.append(("readfinal", Date()))
        if final != reference.rows {
            let index = zip(final, reference.rows).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(final.count, reference.rows.count)
            problems.append("after the re-run the log differs from the clean import's (\(final.count) vs \(reference.rows.count) events, first difference at position \(index + 1))")
        }
        let finalChain = try SQLiteEventStore(path: db, readOnly: true).verifyChain()
        if !finalChain.isIntact || finalChain.eventsChecked != Int64(final.count) {
            problems.append("verifyChain after the re-run: \(finalChain)")
        }
        phases.append(("finalverify", Date()))
        let timing = zip(phases.dropFirst(), phases).map { "\($0.0.0) \(String(format: "%.1f", $0.0.1.timeIntervalSince($0.1.1)))" }.joined(separator: ", ")

        let how = ended.signaled ? "killed at \(String(format: "%.2f", killedAt)) s" : "finished before the kill"
        report.summary = "trial \(plan.index): \(plan) → \(how); \(stored)/\(total) facts stored, last report \(lastReported) (\(reported.count) reports); re-run \(again.exited(0) ? "ok" : "FAILED") [\(timing)]"
        report.stoppedMidway = ended.signaled && stored > 0 && stored < total
    } catch {
        problems.append("trial could not run: \(error)")
        report.summary = "trial \(plan.index): \(plan) → could not run: \(error)"
    }
    report.problems = problems
    return report
}

// MARK: - Rebuild trials

/// A ledger whose projections were built when half the input was imported; the rest was
/// imported after. A rebuild of it changes every projection, so the old and the new
/// projections are told apart.
struct RebuildSetup {
    static let asOf = Timestamp(iso8601: "2026-06-30T12:00:00Z") ?? Timestamp(millisecondsSinceEpoch: 0)

    let template: String
    let oldCheckpoints: [CheckpointRow]
    let oldProjection: [String: [[String]]]
    /// The clean reference log's projections, rebuilt in-process as of `asOf`.
    let exactReference: [String: [[String]]]
    /// The same, without the clock-dependent columns (for rebuilds made by the CLI, as of now).
    let clockFreeReference: [String: [[String]]]
    let rebuildSeconds: Double
    let rulesVersion: String

    init(reference: CrashReference) throws {
        let scratch = reference.scratch
        template = scratch.path("template.db")
        let half = scratch.path("first-half.jsonl")
        let text = try String(contentsOfFile: reference.input, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        try (lines.prefix(reference.lineCount / 2).joined(separator: "\n") + "\n").write(toFile: half, atomically: true, encoding: .utf8)
        for step in [["init", "--db", template], ["import", half, "--db", template], ["projections", "rebuild", "--db", template],
                     ["import", reference.input, "--db", template]]
        {
            let result = runLedger(step, in: scratch.directory)
            guard result.exited(0) else { throw TrialFailure("\(step.prefix(2)): \(result)") }
        }
        guard try readLogRows(template) == reference.rows else {
            throw TrialFailure("a file imported in two parts gave another log than a clean import")
        }
        oldCheckpoints = try checkpointRows(template)
        oldProjection = try projectionRows(template, excludingClockColumns: false)
        rulesVersion = try Rules.defaults().version
        let head = Int64(reference.rows.count)
        guard !oldCheckpoints.isEmpty, oldCheckpoints.allSatisfy({ $0.position < head }) else {
            throw TrialFailure("the template's projections should stop at the first half: \(oldCheckpoints)")
        }

        let exact = scratch.path("reference-projections.db")
        try copyDatabase(reference.database, to: exact)
        try rebuildProjections(exact, asOf: Self.asOf)
        exactReference = try projectionRows(exact, excludingClockColumns: false)
        clockFreeReference = try projectionRows(exact, excludingClockColumns: true)

        let calibration = scratch.path("calibration.db")
        try copyDatabase(template, to: calibration)
        let timed = runLedger(["projections", "rebuild", "--db", calibration], in: scratch.directory)
        guard timed.exited(0) else { throw TrialFailure("calibration rebuild: \(timed)") }
        rebuildSeconds = timed.seconds
        if let difference = firstDifference(try projectionRows(calibration, excludingClockColumns: true), clockFreeReference) {
            throw TrialFailure("an uninterrupted CLI rebuild differs from the in-process one: \(difference)")
        }
        print("  rebuild setup: projections first built at position \(oldCheckpoints[0].position) of \(head); a full rebuild takes \(String(format: "%.2f", rebuildSeconds)) s")
    }
}

func runRebuildTrial(index: Int, killAfterMs delay: Double, setup: RebuildSetup, reference: CrashReference) -> TrialReport {
    var problems: [String] = []
    var report = TrialReport(index: index, plan: "kill after \(Int(delay)) ms", summary: "", problems: [], stoppedMidway: false)
    let directory = reference.scratch.directory.appendingPathComponent("rebuild-trial-\(index)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let db = directory.appendingPathComponent("ledger.db").path
    let head = Int64(reference.rows.count)
    do {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try copyDatabase(setup.template, to: db)
        let child = try LedgerChild(["projections", "rebuild", "--db", db], in: directory)
        defer { child.removeFiles() }
        while child.isRunning, child.elapsed * 1000 < delay { sleepMilliseconds(2) }
        let killedAt = child.elapsed
        child.kill()
        guard child.wait(timeoutSeconds: 30) else { throw TrialFailure("the rebuild did not end after SIGKILL") }
        let ended = child.result()
        if !ended.signaled, !ended.exited(0) { problems.append("the rebuild ended on its own with \(ended)") }

        // The log is untouched and verifies.
        let audit = runLedger(["audit", "verify", "--db", db], in: directory)
        if !audit.exited(0) { problems.append("audit verify after the kill: \(audit)") }
        let chain = try SQLiteEventStore(path: db, readOnly: true).verifyChain()
        if !chain.isIntact { problems.append("verifyChain after the kill: \(chain.problem ?? "") \(chain.missingTriggers)") }
        if try readLogRows(db) != reference.rows { problems.append("a killed rebuild changed the event log") }

        // Readers see the old projection or the new one, never a mix.
        let leftovers = try leftoverRebuildTables(db)
        if !leftovers.isEmpty { problems.append("half-built tables are visible: \(leftovers)") }
        let checkpoints = try checkpointRows(db)
        if checkpoints == setup.oldCheckpoints {
            report.outcome = "old projection serving"
            if let difference = firstDifference(try projectionRows(db, excludingClockColumns: false), setup.oldProjection) {
                problems.append("the checkpoint is the old one but the rows changed: \(difference)")
            }
        } else if checkpoints.allSatisfy({ $0.position == head }),
            checkpoints.filter({ $0.name != "fold" }).allSatisfy({ $0.rulesVersion == setup.rulesVersion && !$0.builtAt.isEmpty })
        {
            report.outcome = "new projection serving"
            if let difference = firstDifference(try projectionRows(db, excludingClockColumns: true), setup.clockFreeReference) {
                problems.append("the checkpoint is at the head but the rows are not a full rebuild: \(difference)")
            }
        } else {
            report.outcome = "MIXED"
            problems.append("checkpoints are neither the old ones \(setup.oldCheckpoints) nor all at the head \(head): \(checkpoints)")
        }

        // A new rebuild, by the CLI and in-process, gives the clean run's rows.
        let again = runLedger(["projections", "rebuild", "--db", db], in: directory)
        if !again.exited(0) {
            problems.append("projections rebuild after the kill: \(again)")
        } else if let difference = firstDifference(try projectionRows(db, excludingClockColumns: true), setup.clockFreeReference) {
            problems.append("the CLI rebuild after the kill differs from the clean run's: \(difference)")
        }
        try rebuildProjections(db, asOf: RebuildSetup.asOf)
        if let difference = firstDifference(try projectionRows(db, excludingClockColumns: false), setup.exactReference) {
            problems.append("a rebuild as of \(RebuildSetup.asOf) differs from the clean run's: \(difference)")
        }
        let how = ended.signaled ? "killed at \(String(format: "%.2f", killedAt)) s" : "finished before the kill"
        report.summary = "rebuild trial \(index): SIGKILL at \(Int(delay)) ms → \(how); \(report.outcome); rebuild again \(again.exited(0) ? "ok" : "FAILED")"
        report.stoppedMidway = ended.signaled
    } catch {
        problems.append("trial could not run: \(error)")
        report.summary = "rebuild trial \(index): could not run: \(error)"
    }
    report.problems = problems
    return report
}
