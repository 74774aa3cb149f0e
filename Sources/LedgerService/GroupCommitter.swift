import Foundation
import LedgerApplication
import LedgerCore
import LedgerDomain
import LedgerStorage

/// The service's one writer: requests hand it their events, and it commits whatever has
/// gathered since its last commit in one transaction (one fsync) through the same
/// `Ledger.importEvents` the CLI's `append` and `import` call. Each request is answered only
/// once its transaction has committed. A request whose event the ledger refuses fails
/// alone: it is taken out of the group and the rest is committed without it.
final class GroupCommitter: @unchecked Sendable {
    typealias Outcomes = [Ledger.FactOutcome]

    /// What a commit did, for metrics and the live feed.
    struct Commit: Sendable {
        var head: Int64
        var eventsAppended: Int
        var requests: Int
    }

    private struct Submission {
        var events: [IncomingEvent]
        var continuation: CheckedContinuation<Outcomes, any Error>
    }

    private let ledger: Ledger
    private let condition = NSCondition()
    private var pending: [Submission] = []
    private var pendingEvents = 0
    private var closed = false
    private var stopped = false
    private let maxGroupEvents: Int
    private let maxPendingEvents: Int
    private let committed: @Sendable (Commit) -> Void

    init(
        location: String, rules: Rules, clock: any LedgerClock, maxGroupEvents: Int, maxPendingEvents: Int,
        committed: @escaping @Sendable (Commit) -> Void
    ) throws {
        let store = try LedgerStores.open(location, readOnly: false, clock: clock)
        // The rules in force in the log; the first write adopts the defaults when it has none.
        ledger = try Ledger.open(store: store, clock: clock)
        self.maxGroupEvents = max(1, maxGroupEvents)
        self.maxPendingEvents = max(1, maxPendingEvents)
        self.committed = committed
        let thread = Thread { [self] in run() }
        thread.name = "clientledger.writer"
        thread.start()
    }

    /// Commits `events` (in a group with other requests' events); returns where each went.
    func submit(_ events: [IncomingEvent]) async throws -> Outcomes {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            if closed {
                continuation.resume(throwing: Problem.busy("the service is shutting down; nothing was written, retry on another instance or later"))
                return
            }
            if pendingEvents > 0, pendingEvents + events.count > maxPendingEvents {
                continuation.resume(throwing: Problem.busy("\(pendingEvents) events are waiting to be written; nothing was written, retry"))
                return
            }
            pending.append(Submission(events: events, continuation: continuation))
            pendingEvents += events.count
            condition.signal()
        }
    }

    /// Stops taking requests, commits (or refuses) every one already taken, and waits for
    /// the writer to finish.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while pending.isEmpty, !closed { condition.wait() }
            if pending.isEmpty {
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            var group: [Submission] = []
            var count = 0
            while let first = pending.first, group.isEmpty || count + first.events.count <= maxGroupEvents {
                group.append(pending.removeFirst())
                count += first.events.count
            }
            pendingEvents -= count
            // Requests that arrive while this group is written are queued: they make the next group.
            condition.unlock()
            commit(group)
        }
    }

    /// One transaction for the group; a refused event's request is answered with its error
    /// and the others are tried again without it.
    private func commit(_ group: [Submission]) {
        var remaining = group
        while !remaining.isEmpty {
            var events: [IncomingEvent] = []
            // For each line of the combined input: its request and its own line there.
            var origin: [(request: Int, line: Int)] = []
            for (index, submission) in remaining.enumerated() {
                for var event in submission.events {
                    origin.append((index, event.line))
                    event.line = origin.count
                    events.append(event)
                }
            }
            do {
                let report = try ledger.importEvents(events, recordOutcomes: true)
                var answers = Array(repeating: Outcomes(), count: remaining.count)
                for var outcome in report.outcomes ?? [] where outcome.line >= 1 && outcome.line <= origin.count {
                    let (request, line) = origin[outcome.line - 1]
                    outcome.line = line
                    answers[request].append(outcome)
                }
                let head = report.lastPosition ?? (try? ledger.store.head().position) ?? 0
                committed(Commit(head: head, eventsAppended: report.factsWritten + report.decisionsWritten, requests: remaining.count))
                for (index, submission) in remaining.enumerated() { submission.continuation.resume(returning: answers[index]) }
                return
            } catch var error as InputError {
                guard let line = error.line, line >= 1, line <= origin.count else {
                    for submission in remaining { submission.continuation.resume(throwing: error) }
                    return
                }
                let (request, ownLine) = origin[line - 1]
                error.line = ownLine
                remaining[request].continuation.resume(throwing: error)
                remaining.remove(at: request)
            } catch {
                for submission in remaining { submission.continuation.resume(throwing: error) }
                return
            }
        }
    }
}
