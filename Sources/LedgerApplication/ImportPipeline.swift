import Foundation
import LedgerCore
import LedgerDomain
import LedgerStorage

extension Ledger {
    /// Imports a JSON Lines input (SPEC §2).
    ///
    /// In one transaction (the default) the work is split over two threads: a planner parses
    /// each line, checks it against its client's state (read through a connection of its own,
    /// which sees the log as it was when the import's write transaction began), runs the
    /// policies and serializes the rows; this thread extends the hash chain and writes them.
    /// A bad line anywhere rolls everything back, so nothing is committed unless every line
    /// is valid. With `batchSize`, the whole input is parsed and checked before the first
    /// batch is written (see `importEvents(_:batchSize:progress:)`).
    public func importJSONLines(
        _ input: UnsafeBufferPointer<UInt8>, batchSize: Int? = nil, progress: ((Int) -> Void)? = nil,
        batchCommitted: ((Int) -> Void)? = nil
    ) throws -> ImportReport {
        if batchSize != nil {
            return try importEvents(
                ImportLineParser.parseAll(input), batchSize: batchSize, progress: progress, batchCommitted: batchCommitted)
        }
        let source = UncheckedBuffer(input)
        // One "now" for the whole import: the moment facts are checked against.
        let now = clock.now()
        // The planner reads through a handle of its own, handed to its thread.
        let reader = UncheckedReader(store: try store.openReader())
        var kept: [String: ClientState] = [:]
        let warm = warmClients.takeAll()
        let report = try store.write { session in
            // The write lock is held from here: no other writer can commit until we do, so
            // the planner's reads are consistent with this transaction's starting point.
            let queue = PlannedChunks(capacity: 32)
            let context = UncheckedLedger(ledger: self, logWasEmpty: session.lastPosition == 0, warm: warm)
            let planner = Thread {
                let ledger = context.ledger
                var report = ImportReport()
                do {
                    var states = StateCache(ledger: ledger, reader: reader.store, session: nil, logWasEmpty: context.logWasEmpty, warm: context.warm)
                    var lines = ImportLineParser.LineReader(source.buffer)
                    var rows: [PlannedRow] = []
                    while let chunk = try lines.next(upTo: 1_024) {
                        rows.removeAll(keepingCapacity: true)
                        for event in chunk { try ledger.plan(event, now: now, states: &states, report: &report, into: &rows) }
                        guard queue.put(rows) else { break }
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
            while let rows = try queue.take() {
                try append(rows, to: session, report: &written)
                let before = done
                done += rows.count
                if done / 50_000 != before / 50_000 { progress?(done) }
            }
            let planned = queue.plannedReport
            written.received = planned.received
            written.alreadyStored = planned.alreadyStored
            written.batchesCommitted = 1
            kept = queue.plannedStates
            return written
        }
        warmClients.keep(kept)
        return report
    }
}

/// The ledger and what the planner thread needs of it. The planner reads only immutable
/// parts of the ledger (rules, rules version) and its own connection; the warm states are
/// handed over and this thread does not touch them while the planner runs.
private struct UncheckedLedger: @unchecked Sendable {
    let ledger: Ledger
    let logWasEmpty: Bool
    let warm: [String: ClientState]
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
    private var chunks: [[Ledger.PlannedRow]] = []
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
    func put(_ chunk: [Ledger.PlannedRow]) -> Bool {
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
    func take() throws -> [Ledger.PlannedRow]? {
        condition.lock()
        defer { condition.unlock() }
        while head == chunks.count, !finished { condition.wait() }
        if head < chunks.count {
            let chunk = chunks[head]
            chunks[head] = []
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
