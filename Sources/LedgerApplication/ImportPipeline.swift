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
            consumed: { input.release(before: $0) })
    }

    /// Imports a JSON Lines input (SPEC §2), streaming: memory is bounded by the clients the
    /// input touches, not by its size.
    ///
    /// The work is split over two threads: a planner parses each line, checks it against its
    /// client's state (read through a connection of its own), runs the policies and
    /// serializes the rows; this thread extends the hash chain and writes them.
    ///
    /// By default the import is one transaction: a bad line anywhere rolls everything back.
    /// With `batchSize`, every line is first checked in a streaming dry run that writes
    /// nothing (a bad line is reported before anything is committed), then the same input is
    /// read again and committed every `batchSize` lines; `batchCommitted` is called after
    /// each commit with the last line committed. `consumed` is told how far the input has
    /// been read, so that its pages can be released.
    public func importJSONLines(
        _ input: UnsafeBufferPointer<UInt8>, batchSize: Int? = nil, progress: ((Int) -> Void)? = nil,
        batchCommitted: ((Int) -> Void)? = nil, consumed: ((Int) -> Void)? = nil
    ) throws -> ImportReport {
        // One "now" for the whole import: the moment facts are checked against.
        let now = clock.now()
        let source = UncheckedBuffer(input)
        let release = UncheckedRelease(consumed: consumed)
        // The planner reads through a handle of its own, handed to its thread.
        let reader = UncheckedReader(store: try store.openReader())
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
                let planner = Thread {
                    let ledger = context.ledger
                    var report = ImportReport()
                    do {
                        if batchSize != nil {
                            // A batched import checks every line before the first commit. On
                            // this thread, so the write pass reuses the memory the check freed.
                            try ledger.checkAll(
                                source.buffer, now: now, reader: reader.store, logWasEmpty: context.logWasEmpty,
                                warm: context.warm, book: context.book, consumed: release.consumed)
                        }
                        var states = StateCache(
                            ledger: ledger, reader: reader.store, session: nil, logWasEmpty: context.logWasEmpty, warm: context.warm)
                        states.book = context.book
                        var lines = ImportLineParser.LineReader(source.buffer)
                        lines.rereadProgress = release.consumed
                        var rows: [PlannedRow] = []
                        var inBatch = 0
                        while let chunk = try lines.next(upTo: min(1_024, batchSize.map { $0 - inBatch } ?? 1_024)) {
                            rows.removeAll(keepingCapacity: true)
                            try states.prefetch(chunk.map(\.eventId))
                            for event in chunk { try ledger.plan(event, now: now, states: &states, report: &report, into: &rows) }
                            inBatch += chunk.count
                            let endsBatch = batchSize.map { inBatch >= $0 } ?? false
                            if endsBatch { inBatch = 0 }
                            guard queue.put(PlannedChunk(rows: rows, lastLine: chunk.last?.line ?? 0, endsBatch: endsBatch)) else { break }
                            release.consumed?(lines.offset)
                        }
                        queue.finish(nil, report: report, states: states.takeClients())
                    } catch {
                        queue.finish(error, report: report, states: [:])
                    }
                }
                planner.stackSize = 8 << 20
                planner.start()
                defer {
                    queue.cancel()
                    queue.waitUntilPlannerStopped()
                }
                var written = ImportReport()
                var done = 0
                while let chunk = try queue.take() {
                    try append(chunk.rows, to: session, report: &written)
                    lastLine = chunk.lastLine
                    let before = done
                    done += chunk.rows.count
                    if done / 50_000 != before / 50_000 { progress?(done) }
                    if chunk.endsBatch, queue.hasMore() {
                        try session.commitAndContinue()
                        written.batchesCommitted += 1
                        committed = written
                        committedThroughLine = chunk.lastLine
                        batchCommitted?(chunk.lastLine)
                    }
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

    /// A batched import's first pass: every line parsed and checked against its client's
    /// state, with the policies run, and nothing written. Runs on the planner's thread, under
    /// the import's write lock, through the planner's read connection: the log it checks
    /// against is the one the write pass writes to.
    fileprivate func checkAll(
        _ input: UnsafeBufferPointer<UInt8>, now: Timestamp, reader: any EventStore, logWasEmpty: Bool,
        warm: [String: ClientState], book: CampaignBook, consumed: ((Int) -> Void)?
    ) throws {
        var report = ImportReport()
        var states = StateCache(ledger: self, reader: reader, session: nil, logWasEmpty: logWasEmpty, warm: warm)
        states.book = book
        var lines = ImportLineParser.LineReader(input)
        lines.rereadProgress = consumed
        var rows: [PlannedRow] = []
        while let chunk = try lines.next(upTo: 1_024) {
            try states.prefetch(chunk.map(\.eventId))
            for event in chunk {
                rows.removeAll(keepingCapacity: true)
                try plan(event, now: now, states: &states, report: &report, into: &rows)
            }
            consumed?(lines.offset)
        }
    }
}

/// Planned rows of a run of input lines, and whether a batch ends with them.
struct PlannedChunk: Sendable {
    var rows: [Ledger.PlannedRow]
    var lastLine: Int
    var endsBatch: Bool
}

/// Where the planner reports how far it has read (the caller releases those pages).
private struct UncheckedRelease: @unchecked Sendable {
    let consumed: ((Int) -> Void)?
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
