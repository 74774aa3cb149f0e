import Foundation
import LedgerCore
import LedgerDomain
import LedgerStorage

extension Ledger {
    /// Imports a JSON Lines file (or standard input, `-`) without holding it in memory:
    /// the file is mapped and the pages already read are handed back as the import goes.
    public func importFile(
        _ input: MappedInput, batchSize: Int? = nil, progress: ((Int) -> Void)? = nil,
        batchCommitted: ((Int) -> Void)? = nil
    ) throws -> ImportReport {
        try importJSONLines(
            input.buffer, batchSize: batchSize, progress: progress, batchCommitted: batchCommitted,
            consumed: { input.release(before: $0, pass: $1) })
    }

    /// Imports a JSON Lines input (SPEC §2), streaming: memory is bounded by the clients the
    /// input touches, not by its size.
    ///
    /// The work is split over two threads: a planner parses each line, checks it against its
    /// client's state (read through a connection of its own), runs the policies and
    /// serializes the rows; this thread extends the hash chain and writes them.
    ///
    /// By default the import is one transaction: a bad line anywhere rolls everything back.
    /// With `batchSize`, every line is also checked by a streaming dry run on a third thread,
    /// which writes nothing, and nothing is committed before it has found the whole input
    /// good: the writing goes on meanwhile inside the first transaction, keeping to the first
    /// half of the lines checked, and that transaction is committed at the first batch
    /// boundary after the check has passed; from then on the import commits every
    /// `batchSize` lines. A bad line is reported before anything is committed,
    /// and the check's own report of it is the one given, whatever the writing found first.
    /// `batchCommitted` is called after each commit with the last line committed. `consumed`
    /// is told how far each pass (0: the writing, 1: the check) has read the input, so that
    /// its pages can be released; its calls never overlap.
    public func importJSONLines(
        _ input: UnsafeBufferPointer<UInt8>, batchSize: Int? = nil, progress: ((Int) -> Void)? = nil,
        batchCommitted: ((Int) -> Void)? = nil, consumed: ((_ offset: Int, _ pass: Int) -> Void)? = nil
    ) throws -> ImportReport {
        try importJSONLines(
            input, batchSize: batchSize, progress: progress, batchCommitted: batchCommitted, consumed: consumed,
            statesBesideTheCheck: ImportCheck.statesBesideTheCheck)
    }

    /// `importJSONLines`, with the size of client states past which the writing waits for a
    /// batched import's check to end (`ImportCheck.statesBesideTheCheck`; tests make it 0).
    func importJSONLines(
        _ input: UnsafeBufferPointer<UInt8>, batchSize: Int?, progress: ((Int) -> Void)?,
        batchCommitted: ((Int) -> Void)?, consumed: ((_ offset: Int, _ pass: Int) -> Void)?, statesBesideTheCheck: Int
    ) throws -> ImportReport {
        // One "now" for the whole import: the moment facts are checked against.
        let now = clock.now()
        let source = UncheckedBuffer(input)
        // Each pass hands back the pages it has read (the other reads them again from the file).
        let cursors = InputCursors(consumed: consumed)
        // The planner reads through a handle of its own, handed to its thread; so does the
        // check of a batched import.
        let reader = UncheckedReader(store: try store.openReader())
        let checkReader = try batchSize.map { _ in UncheckedReader(store: try store.openReader()) }
        var kept: [String: ClientState] = [:]
        let warm = warmClients.takeAll()
        var committed = ImportReport()
        var committedThroughLine: Int?
        var lastLine = 0
        do {
            let report = try store.write { session in
                // The write lock is held from here (between batches too: a batch's commit is
                // followed at once by the next transaction, and a writer that got in between
                // is a conflict), so the planner's reads agree with what this thread writes.
                let queue = PlannedChunks(capacity: 4)
                let book = try campaignBook(reader: store)
                let context = UncheckedLedger(ledger: self, logWasEmpty: session.lastPosition == 0, warm: warm, book: book)
                try recordRulesIfNeeded(session)
                // A batched import's check: on a thread of its own, beside the planner and the
                // writer, so that it costs the import little more than the spare core.
                let check = checkReader.map { checkReader in
                    ImportCheck { check in
                        var pass = PlanningPass(
                            context, now: now, input: source.buffer, reader: checkReader.store, checksDuplicates: true,
                            consumed: { cursors.report(1, $0) })
                        try pass.checkAll(cancelled: { check.isCancelled }, checked: { check.checked(through: $0) })
                    }
                }
                let planner = Thread {
                    // The check finds duplicate ids of a batched import; this pass only parses.
                    var pass = PlanningPass(
                        context, now: now, input: source.buffer, reader: reader.store, checksDuplicates: batchSize == nil,
                        consumed: { cursors.report(0, $0) })
                    do {
                        var inBatch = 0
                        while let chunk = try pass.read(upTo: min(1_024, batchSize.map { $0 - inBatch } ?? 1_024)) {
                            // The writing keeps to the first half of what the check has read, so
                            // the check ends while the writing is at most half-way and the
                            // batches after that are committed one by one.
                            check?.waitUntilChecked(through: 2 * (chunk.last?.line ?? 0))
                            if let check, !check.hasEnded, pass.states.residentBytes > statesBesideTheCheck {
                                // Both passes hold client states while the check runs: past
                                // this much, the writing waits for the check to end.
                                check.waitUntilStopped()
                            }
                            try pass.plan(chunk)
                            inBatch += chunk.count
                            let endsBatch = batchSize.map { inBatch >= $0 } ?? false
                            if endsBatch { inBatch = 0 }
                            guard queue.put(PlannedChunk(rows: pass.rows, lastLine: chunk.last?.line ?? 0, endsBatch: endsBatch)) else { break }
                        }
                        queue.finish(nil, report: pass.report, states: pass.states.takeClients(mostRecent: Ledger.warmAfterImport))
                    } catch {
                        queue.finish(error, report: pass.report, states: [:])
                    }
                }
                planner.stackSize = 8 << 20
                check?.start()
                planner.start()
                defer {
                    check?.cancel()
                    queue.cancel()
                    queue.waitUntilPlannerStopped()
                    check?.waitUntilStopped()
                }
                var written = ImportReport()
                var done = 0
                do {
                    while let chunk = try queue.take() {
                        try append(chunk.rows, to: session, report: &written)
                        lastLine = chunk.lastLine
                        let before = done
                        done += chunk.rows.count
                        if done / 50_000 != before / 50_000 { progress?(done) }
                        // Nothing is committed before the check has passed: until then the
                        // batches written go on in one transaction.
                        let checked = try check?.hasPassed() ?? true
                        if chunk.endsBatch, checked, queue.hasMore() {
                            try session.commitAndContinue()
                            written.batchesCommitted += 1
                            committed = written
                            committedThroughLine = chunk.lastLine
                            batchCommitted?(chunk.lastLine)
                        }
                    }
                    try check?.waitUntilPassed()
                } catch let error as InputError {
                    // The writing may stumble on a bad line before the check reports it (a
                    // duplicate id breaks a unique index): the check's report is the one given.
                    try check?.waitUntilPassed()
                    throw error
                }
                let planned = queue.plannedReport
                written.received = planned.received
                written.alreadyStored = planned.alreadyStored
                written.batchesCommitted += 1
                kept = queue.plannedStates
                return written
            }
            if batchSize != nil, lastLine > 0 { batchCommitted?(lastLine) }
            warmClients.keep(kept)
            return report
        } catch {
            guard committedThroughLine != nil else { throw error }
            throw PartialImportError(committedThroughLine: committedThroughLine, report: committed, underlying: error)
        }
    }

}

/// One reading of an import's input on one thread: its lines parsed, checked against their
/// clients' states (read through the pass's own connection) and planned, with the policies
/// run. The write pass hands its planned rows to the writer; a batched import's check plans
/// the same way and keeps nothing.
private struct PlanningPass {
    let ledger: Ledger
    let now: Timestamp
    var states: StateCache
    var lines: ImportLineParser.LineReader
    var report = Ledger.ImportReport()
    /// The rows of the last run of lines planned.
    private(set) var rows: [Ledger.PlannedRow] = []
    /// Told how far the input has been read, so that its pages can be handed back.
    private let consumed: (Int) -> Void

    init(
        _ context: UncheckedLedger, now: Timestamp, input: UnsafeBufferPointer<UInt8>, reader: any EventStore,
        checksDuplicates: Bool, consumed: @escaping (Int) -> Void
    ) {
        ledger = context.ledger
        self.now = now
        states = StateCache(
            ledger: context.ledger, reader: reader, session: nil, logWasEmpty: context.logWasEmpty, warm: context.warm,
            residentLimit: context.ledger.clientStateResidentLimit)
        states.book = context.book
        lines = ImportLineParser.LineReader(input, checksDuplicates: checksDuplicates)
        lines.rereadProgress = consumed
        self.consumed = consumed
    }

    /// The next run of at most `limit` lines, parsed; nil at the end of the input.
    mutating func read(upTo limit: Int) throws -> [IncomingEvent]? {
        try lines.next(upTo: limit)
    }

    /// Plans a run of lines read: `rows` holds their rows afterwards.
    mutating func plan(_ chunk: [IncomingEvent]) throws {
        rows.removeAll(keepingCapacity: true)
        try states.prefetch(chunk.map(\.eventId))
        for event in chunk { try ledger.plan(event, now: now, states: &states, report: &report, into: &rows) }
        consumed(lines.offset)
    }

    /// A batched import's check: every line planned and nothing kept. Runs on a thread of its
    /// own, under the import's write lock, through a read connection of its own: the log it
    /// checks against is the one the import writes to, as it was before the import (nothing is
    /// committed before the check ends). Tells `checked` the last line of each run found good;
    /// stops early, throwing `ImportCheck.Cancelled`, once `cancelled` says the import has ended.
    mutating func checkAll(cancelled: () -> Bool, checked: (Int) -> Void) throws {
        while let chunk = try read(upTo: 1_024) {
            if cancelled() { throw ImportCheck.Cancelled() }
            try plan(chunk)
            if let last = chunk.last { checked(last.line) }
        }
    }
}

/// A batched import's check, run on a thread of its own: whether it is still running, has
/// found the whole input good, or has refused a line.
final class ImportCheck: @unchecked Sendable {
    /// Thrown by a check stopped because the import ended without it.
    struct Cancelled: Error {}

    /// While the check runs, the writing pass holds a second set of client states: it waits
    /// for the check to end once its resident ones come to about this many bytes (each pass's
    /// are bounded by `StateCache.residentLimit`, the two together by this plus that).
    static let statesBesideTheCheck = 32 << 20

    private enum Outcome {
        case running
        case passed
        case failed(any Error)
    }

    private let condition = NSCondition()
    private var outcome = Outcome.running
    private var cancelled = false
    /// The last input line the check has found good.
    private var linesChecked = 0
    private var thread: Thread?

    init(_ body: @escaping @Sendable (ImportCheck) throws -> Void) {
        let thread = Thread { [unowned self] in
            var failure: (any Error)?
            do { try body(self) } catch { failure = error }
            condition.lock()
            outcome = failure.map { .failed($0) } ?? .passed
            condition.broadcast()
            condition.unlock()
        }
        thread.stackSize = 8 << 20
        self.thread = thread
    }

    func start() { thread?.start() }

    /// Notes that every line through `line` has been checked.
    func checked(through line: Int) {
        condition.lock()
        linesChecked = line
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until the check has found every line through `line` good, or has ended.
    func waitUntilChecked(through line: Int) {
        condition.lock()
        defer { condition.unlock() }
        while case .running = outcome, linesChecked < line { condition.wait() }
    }

    /// Whether the check has passed (false while it runs); throws its refusal.
    func hasPassed() throws -> Bool {
        condition.lock()
        defer { condition.unlock() }
        switch outcome {
        case .running: return false
        case .passed: return true
        case .failed(let error): throw error
        }
    }

    /// Waits for the end of the check; throws its refusal.
    func waitUntilPassed() throws {
        condition.lock()
        defer { condition.unlock() }
        while case .running = outcome { condition.wait() }
        if case .failed(let error) = outcome { throw error }
    }

    /// Whether the check has passed or refused a line.
    var hasEnded: Bool {
        condition.lock()
        defer { condition.unlock() }
        if case .running = outcome { return false }
        return true
    }

    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.unlock()
    }

    /// Waits until the check has ended (its thread no longer reads the input or its
    /// connection), whatever its outcome.
    func waitUntilStopped() {
        condition.lock()
        while case .running = outcome { condition.wait() }
        condition.unlock()
    }
}

/// Where the passes of an import report how far they have read, one call at a time.
final class InputCursors: @unchecked Sendable {
    private let lock = NSLock()
    private let consumed: ((Int, Int) -> Void)?

    init(consumed: ((Int, Int) -> Void)?) {
        self.consumed = consumed
    }

    func report(_ pass: Int, _ offset: Int) {
        guard let consumed else { return }
        lock.lock()
        defer { lock.unlock() }
        consumed(offset, pass)
    }
}

/// Planned rows of a run of input lines, and whether a batch ends with them.
struct PlannedChunk: Sendable {
    var rows: [Ledger.PlannedRow]
    var lastLine: Int
    var endsBatch: Bool
}

/// The ledger and what the planner thread needs of it. The planner reads only immutable
/// parts of the ledger (rules, rules version) and its own connection; the warm states are
/// handed over and this thread does not touch them while the planner runs.
private struct UncheckedLedger: @unchecked Sendable {
    let ledger: Ledger
    let logWasEmpty: Bool
    let warm: [String: ClientState]
    let book: CampaignBook
}

/// The planner's own read handle: this thread opens it and never touches it again.
private struct UncheckedReader: @unchecked Sendable {
    let store: any EventStore
}

/// An input buffer handed to the parser thread; the caller keeps it alive until the
/// import returns (the import waits for the parser thread).
private struct UncheckedBuffer: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<UInt8>
    init(_ buffer: UnsafeBufferPointer<UInt8>) { self.buffer = buffer }
}

/// A bounded hand-off of planned rows from the planner thread to the writer.
final class PlannedChunks: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [PlannedChunk] = []
    private var head = 0
    private let capacity: Int
    private var finished = false
    private var plannerStopped = false
    private var failure: (any Error)?
    private var cancelled = false
    private(set) var plannedReport = Ledger.ImportReport()
    private(set) var plannedStates: [String: ClientState] = [:]

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Adds a chunk; false when the writer has given up.
    func put(_ chunk: PlannedChunk) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while chunks.count - head >= capacity, !cancelled { condition.wait() }
        guard !cancelled else { return false }
        chunks.append(chunk)
        condition.broadcast()
        return true
    }

    func finish(_ error: (any Error)?, report: Ledger.ImportReport, states: [String: ClientState]) {
        condition.lock()
        finished = true
        plannerStopped = true
        failure = error
        plannedReport = report
        plannedStates = states
        condition.broadcast()
        condition.unlock()
    }

    /// The next chunk, nil at the end; throws the planner's error once every chunk before
    /// the bad line has been taken.
    /// Whether another chunk is sure to follow (or may: the planner has not finished).
    func hasMore() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while head == chunks.count, !finished { condition.wait() }
        return head < chunks.count
    }

    func take() throws -> PlannedChunk? {
        condition.lock()
        defer { condition.unlock() }
        while head == chunks.count, !finished { condition.wait() }
        if head < chunks.count {
            let chunk = chunks[head]
            chunks[head] = PlannedChunk(rows: [], lastLine: 0, endsBatch: false)
            head += 1
            if head > 64 {
                chunks.removeFirst(head)
                head = 0
            }
            condition.broadcast()
            return chunk
        }
        if let failure { throw failure }
        return nil
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    func waitUntilPlannerStopped() {
        condition.lock()
        while !plannerStopped { condition.wait() }
        condition.unlock()
    }
}
