import Foundation
import LedgerCore
import LedgerStorage

/// Makes the ledgers a conformance run works on: each backend's test target gives one.
public protocol EventStoreFactory: Sendable {
    /// A new, empty ledger; returns where it lives.
    func makeLedger() throws -> String
    /// Opens the ledger at `location` (a second call gives a second, independent handle).
    func open(_ location: String, readOnly: Bool) throws -> any EventStore
    /// Removes a ledger made by `makeLedger`.
    func remove(_ location: String)
}

/// A guarantee of the storage contract that a check found broken.
public struct ConformanceFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One check of the storage contract.
public struct ConformanceCase: Sendable, CustomStringConvertible {
    public let name: String
    let body: @Sendable (any EventStoreFactory, String) throws -> Void

    public var description: String { name }

    /// Runs the check on a fresh ledger of `factory`; throws `ConformanceFailure` when the
    /// backend breaks the guarantee.
    public func run(with factory: any EventStoreFactory) throws {
        let location = try factory.makeLedger()
        defer { factory.remove(location) }
        try body(factory, location)
    }
}

/// The storage contract's test suite, run by every backend's tests (after SQLKit's
/// `SQLBenchmarker`): `@Test(arguments: EventStoreConformance.cases)` with the backend's
/// factory. Each case names the guarantee of `EventStore` it checks.
public enum EventStoreConformance {
    public static let cases: [ConformanceCase] = [
        ConformanceCase(name: "positions start at 1 and are gap-free; versions count per stream", body: positionsAndVersions),
        ConformanceCase(name: "the same id with the same content returns the stored position and writes nothing", body: idempotentRetry),
        ConformanceCase(name: "the same id with other content is refused and writes nothing", body: reusedIdRefused),
        ConformanceCase(name: "after an append refused for its id, the transaction goes on at the same position", body: refusedAppendKeepsTransaction),
        ConformanceCase(name: "a wrong expected version is a conflict and writes nothing", body: expectedVersionConflict),
        ConformanceCase(name: "a write whose body throws leaves the log exactly as it was", body: atomicBatch),
        ConformanceCase(name: "the hash chain links every event to the one before it", body: hashChain),
        ConformanceCase(name: "scans filter by stream, type, position, time and limit, in position order", body: scanFilters),
        ConformanceCase(name: "a replay lends the stored bytes of one category in position order", body: replayBytes),
        ConformanceCase(name: "stream ids and counts of a category", body: streamCategories),
        ConformanceCase(name: "a read-only handle reads and refuses every write", body: readOnlyHandle),
        ConformanceCase(name: "a write nested in another write is refused", body: nestedWrite),
        ConformanceCase(name: "concurrent writers on shared streams lose nothing and never break the order", body: concurrentWriters),
        ConformanceCase(name: "a second handle sees only committed writes", body: committedVisibility),
        ConformanceCase(name: "commitAndContinue commits what came before; a later failure rolls back only what followed", body: commitAndContinue),
    ]

    // MARK: - Helpers

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ConformanceFailure(message()) }
    }

    static func event(
        _ stream: String, _ n: Int, type: String = "FundsDeposited", id: String = EventID.random(),
        occurredAt: String = "2026-01-01T00:00:00Z", data: String? = nil
    ) -> NewEvent {
        NewEvent(
            eventId: id, stream: stream, type: type,
            occurredAt: Timestamp(iso8601: occurredAt) ?? Timestamp(millisecondsSinceEpoch: 0),
            data: data ?? #"{"amount":\#(n).00}"#, metadata: #"{"actor":"conformance"}"#)
    }

    static func expectStorageError(_ body: () throws -> Void, _ matches: (StorageError) -> Bool, _ what: String) throws {
        do {
            try body()
        } catch let error as StorageError {
            try expect(matches(error), "expected \(what), got \(error)")
            return
        } catch {
            throw ConformanceFailure("expected \(what), got \(error)")
        }
        throw ConformanceFailure("expected \(what), but nothing was thrown")
    }

    // MARK: - Cases

    static func positionsAndVersions(_ factory: any EventStoreFactory, _ location: String) throws {
        let store = try factory.open(location, readOnly: false)
        try expect(try store.head() == .empty, "an empty log has head 0 and the genesis hash")
        let outcomes = try store.append([event("client/A", 1), event("client/B", 2), event("client/A", 3)])
        try expect(outcomes.map(\.position) == [1, 2, 3], "positions \(outcomes.map(\.position)), expected [1, 2, 3]")
        try expect(outcomes.map(\.version) == [1, 1, 2], "versions \(outcomes.map(\.version)), expected [1, 1, 2]")
        try expect(outcomes.allSatisfy(\.written), "every new event is written")
        let more = try store.append([event("client/B", 4)])
        try expect(more.map(\.position) == [4] && more.map(\.version) == [2], "a second batch continues at position 4, version 2")
        try expect(try store.version(of: "client/A") == 2 && store.version(of: "client/Z") == 0, "version(of:) counts events; 0 for no stream")
        let stored = try store.events(.all)
        try expect(stored.map(\.position) == [1, 2, 3, 4], "stored positions are 1…4")
    }

    static func idempotentRetry(_ factory: any EventStoreFactory, _ location: String) throws {
        let store = try factory.open(location, readOnly: false)
        let first = event("client/A", 1)
        try store.append([event("client/A", 0), first])
        let retry = try store.append([first])
        try expect(retry == [AppendOutcome(position: 2, version: 2, written: false)], "a retry returns the stored position: \(retry)")
        try expect(try store.head().position == 2, "a retry writes nothing")
        let identity = try store.storedEvent(id: first.eventId)
        try expect(identity?.position == 2 && identity?.stream == "client/A", "storedEvent(id:) finds the event")
        try expect(try store.storedEvent(id: EventID.random()) == nil, "an unknown id is not stored")
    }

    static func reusedIdRefused(_ factory: any EventStoreFactory, _ location: String) throws {
        let store = try factory.open(location, readOnly: false)
        let first = event("client/A", 1)
        try store.append([first])
        let head = try store.head()
        var other = first
        other.data = #"{"amount":2.00}"#
        try expectStorageError({ try store.append([event("client/B", 5), other]) }, {
            if case .eventIdReused(let id, let position) = $0 { return id == first.eventId && position == 1 }
            return false
        }, "eventIdReused at position 1")
        try expect(try store.head() == head, "a refused batch writes nothing, not even its other events")
        // The same refusal when the transaction appends directly, without asking first.
        try expectStorageError({ _ = try store.write { try $0.append(other) } }, {
            if case .eventIdReused = $0 { return true }
            return false
        }, "eventIdReused from a direct append")
        try expect(try store.head() == head, "a refused direct append writes nothing")
    }

    static func refusedAppendKeepsTransaction(_ factory: any EventStoreFactory, _ location: String) throws {
        let store = try factory.open(location, readOnly: false)
        let first = event("client/A", 1)
        try store.append([first])
        var taken = event("client/A", 2)
        taken.eventId = first.eventId
        let next = event("client/A", 3)
        let outcomes = try store.write { transaction -> [AppendOutcome] in
            var inner = event("client/A", 4)
            let written = try transaction.append(inner)
            inner.data = #"{"amount":9.00}"#
            for refused in [taken, inner] {
                do {
                    try transaction.append(refused)
                    throw ConformanceFailure("an append with a stored id was accepted")
                } catch StorageError.eventIdReused {
                }
            }
            return [written, try transaction.append(next)]
        }
        try expect(outcomes.map(\.position) == [2, 3] && outcomes.map(\.version) == [2, 3], "positions after refused appends: \(outcomes)")
        try expect(try store.head().position == 3, "the transaction committed what it appended")
        try expect(try store.storedEvent(id: next.eventId)?.position == 3, "the append after the refusals is stored")
        var count = 0
        try store.scan(EventQuery()) { _ in count += 1; return true }
        try expect(count == 3, "nothing of the refused appends is stored: \(count) events")
        try expect(try store.verifyChain().isIntact, "the chain verifies after refused appends")
    }

    static func expectedVersionConflict(_ factory: any EventStoreFactory, _ location: String) throws {
        let store = try factory.open(location, readOnly: false)
        try store.append([event("client/A", 1)], expected: .noStream)
        try expectStorageError({ try store.append([event("client/A", 2)], expected: .noStream) }, {
            if case .conflict(let stream, _, let actual) = $0 { return stream == "client/A" && actual == 1 }
            return false
        }, "a conflict on client/A at version 1")
        try expectStorageError({ try store.append([event("client/A", 2)], expected: .exact(5)) }, {
            if case .conflict = $0 { return true }
            return false
        }, "a conflict for expected version 5")
        try expect(try store.head().position == 1, "conflicts write nothing")
        try store.append([event("client/A", 2)], expected: .exact(1))
        try expect(try store.version(of: "client/A") == 2, "the right expected version appends")
    }

    static func atomicBatch(_ factory: any EventStoreFactory, _ location: String) throws {
        let store = try factory.open(location, readOnly: false)
        try store.append([event("client/A", 1)])
        let before = try store.events(.all)
        struct Abort: Error {}
        do {
            try store.write { transaction in
                try transaction.append(event("client/A", 2))
                try transaction.append(event("client/B", 3))
                throw Abort()
            }
            throw ConformanceFailure("the body's error was not rethrown")
        } catch is Abort {}
        try expect(try store.events(.all) == before, "a failed write leaves every event as it was")
        let after = try store.append([event("client/B", 4)])
        try expect(after.map(\.position) == [2], "the next write takes position 2: no gap was left")
    }

    static func hashChain(_ factory: any EventStoreFactory, _ location: String) throws {
        let store = try factory.open(location, readOnly: false)
        try store.append((1...5).map { event("client/C\($0 % 2)", $0) })
        var previous = HashChain.genesis
        for stored in try store.events(.all) {
            let computed = HashChain.hash(previous: previous, stored.chainFields)
            try expect(computed == stored.hash, "position \(stored.position): stored hash is not SHA-256(previous ‖ canonical bytes)")
            try expect(try store.hash(at: stored.position) == stored.hash, "hash(at:) returns the stored hash")
            previous = computed
        }
        try expect(try store.head().hash == previous, "the head's hash is the last event's")
        let report = try store.verifyChain()
        try expect(report.isIntact && report.eventsChecked == 5, "verifyChain finds an intact chain of 5: \(report)")
        try expect(try store.missingAppendOnlyGuards().isEmpty, "a new ledger has every append-only guard")
    }

    static func scanFilters(_ factory: any EventStoreFactory, _ location: String) throws {
        let store = try factory.open(location, readOnly: false)
        try store.append([
            event("client/A", 1, occurredAt: "2026-01-01T00:00:00Z"),
            event("client/B", 2, type: "TradeExecuted", occurredAt: "2026-02-01T00:00:00Z"),
            event("client/A", 3, type: "TradeExecuted", occurredAt: "2026-03-01T00:00:00Z"),
            event("campaign/X", 4, type: "CampaignDefined", occurredAt: "2026-04-01T00:00:00Z"),
        ])
        func positions(_ query: EventQuery) throws -> [Int64] { try store.events(query).map(\.position) }
        try expect(try positions(EventQuery(stream: "client/A")) == [1, 3], "by stream")
        try expect(try positions(EventQuery(types: ["TradeExecuted"])) == [2, 3], "by type")
        try expect(try positions(EventQuery(fromPosition: 2, toPosition: 3)) == [2, 3], "by position range")
        try expect(
            try positions(EventQuery(occurredFrom: Timestamp(iso8601: "2026-02-01T00:00:00Z"), occurredTo: Timestamp(iso8601: "2026-03-01T00:00:00Z"))) == [2, 3],
            "by occurredAt, both bounds inclusive")
        try expect(try positions(EventQuery(limit: 2)) == [1, 2], "limit keeps the first in position order")
        try expect(try positions(EventQuery(stream: "client/none")) == [], "no match is an empty answer")
        var seen = 0
        try store.scan(.all) { _ in seen += 1; return seen < 2 }
        try expect(seen == 2, "a scan stops when the body returns false")
    }

    static func replayBytes(_ factory: any EventStoreFactory, _ location: String) throws {
        let store = try factory.open(location, readOnly: false)
        try store.append([event("client/A", 1), event("campaign/X", 2, type: "CampaignDefined"), event("client/B", 3)])
        var rows: [(Int64, String, String)] = []
        try store.replay(category: "client", after: 0, through: 3) { row in
            rows.append((row.position, row.stream, String(decoding: row.data, as: UTF8.self)))
        }
        try expect(rows.map(\.0) == [1, 3], "only the category's events, in position order: \(rows.map(\.0))")
        try expect(rows.map(\.1) == ["client/A", "client/B"], "the stream's bytes")
        try expect(rows.map(\.2) == [#"{"amount":1.00}"#, #"{"amount":3.00}"#], "the stored payload bytes")
        var after: [Int64] = []
        try store.replay(category: "client", after: 1, through: 2) { after.append($0.position) }
        try expect(after == [], "after and through bound the positions")
    }

    static func streamCategories(_ factory: any EventStoreFactory, _ location: String) throws {
        let store = try factory.open(location, readOnly: false)
        try store.append([event("client/B", 1), event("client/A", 2), event("client/B", 3), event("campaign/X", 4)])
        try expect(try store.streamIds(category: "client") == ["A", "B"], "client ids, in order")
        try expect(try store.streamCount(category: "client") == 2, "two client streams")
        try expect(try store.streamIds(category: "campaign") == ["X"], "campaign ids")
        // Asked again after more streams (a backend may keep the query prepared): the answer
        // is today's, and each category's own.
        try store.append([event("campaign/W", 5), event("client/C", 6)])
        try expect(try store.streamIds(category: "campaign") == ["W", "X"], "campaign ids after a new campaign")
        try expect(try store.streamIds(category: "client") == ["A", "B", "C"], "client ids after a new client")
        try expect(try store.streamIds(category: "nothing").isEmpty, "no ids of a category with no streams")
    }

    static func readOnlyHandle(_ factory: any EventStoreFactory, _ location: String) throws {
        do {
            let writer = try factory.open(location, readOnly: false)
            try writer.append([event("client/A", 1)])
        }
        let reader = try factory.open(location, readOnly: true)
        try expect(reader.isReadOnly, "the handle says it is read-only")
        try expect(try reader.events(.all).count == 1, "a read-only handle reads")
        try expectStorageError({ try reader.append([event("client/A", 2)]) }, {
            if case .readOnly = $0 { return true }
            return false
        }, "readOnly")
        try expect(try reader.head().position == 1, "nothing was written through the read-only handle")
    }

    static func nestedWrite(_ factory: any EventStoreFactory, _ location: String) throws {
        let store = try factory.open(location, readOnly: false)
        try expectStorageError({
            try store.write { _ in try store.write { $0.lastPosition } }
        }, {
            if case .nestedWrite = $0 { return true }
            return false
        }, "nestedWrite")
    }

    static func committedVisibility(_ factory: any EventStoreFactory, _ location: String) throws {
        let writer = try factory.open(location, readOnly: false)
        let reader = try factory.open(location, readOnly: true)
        try writer.write { transaction in
            try transaction.append(event("client/A", 1))
            try expect(try reader.head().position == 0, "an uncommitted event is invisible to another handle")
        }
        try expect(try reader.head().position == 1, "a committed event is visible to another handle")
    }

    static func commitAndContinue(_ factory: any EventStoreFactory, _ location: String) throws {
        let store = try factory.open(location, readOnly: false)
        let reader = try factory.open(location, readOnly: true)
        struct Abort: Error {}
        do {
            try store.write { transaction in
                try transaction.append(event("client/A", 1))
                try transaction.append(event("client/A", 2))
                try transaction.commitAndContinue()
                try expect(try reader.head().position == 2, "what came before commitAndContinue is committed and visible")
                try transaction.append(event("client/B", 3))
                throw Abort()
            }
        } catch is Abort {}
        try expect(try store.head().position == 2, "the failure after it rolled back only the event that followed")
        try expect(try store.verifyChain().isIntact, "the chain verifies")
        try store.append([event("client/B", 4)])
        try expect(try store.head().position == 3, "the log goes on at the next position")
    }

    static func concurrentWriters(_ factory: any EventStoreFactory, _ location: String) throws {
        let writers = 4
        let perWriter = 25
        let failures = FailureList()
        DispatchQueue.concurrentPerform(iterations: writers) { writer in
            do {
                let store = try factory.open(location, readOnly: false)
                var done = 0
                var attempts = 0
                while done < perWriter, attempts < perWriter * 200 {
                    attempts += 1
                    let stream = "client/S\((writer + done) % 3)"
                    do {
                        let expected = try store.version(of: stream)
                        try store.append([event(stream, writer * 1000 + done)], expected: .exact(expected))
                        done += 1
                    } catch StorageError.conflict, StorageError.busy {
                        continue
                    }
                }
                if done < perWriter { failures.add("writer \(writer) appended only \(done) of \(perWriter)") }
            } catch {
                failures.add("writer \(writer): \(error)")
            }
        }
        if let first = failures.first { throw ConformanceFailure(first) }
        let store = try factory.open(location, readOnly: true)
        let stored = try store.events(.all)
        try expect(stored.count == writers * perWriter, "\(stored.count) events stored, expected \(writers * perWriter)")
        try expect(stored.map(\.position) == (1...Int64(writers * perWriter)).map { $0 }, "positions are gap-free")
        var versions: [String: Int64] = [:]
        for event in stored {
            let expected = (versions[event.stream] ?? 0) + 1
            try expect(event.version == expected, "\(event.stream) jumps to version \(event.version) at position \(event.position)")
            versions[event.stream] = expected
        }
        try expect(Set(stored.map(\.eventId)).count == stored.count, "no event is stored twice")
        try expect(try store.verifyChain().isIntact, "the chain verifies after concurrent writes")
    }
}

/// Failures collected from several threads.
private final class FailureList: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []

    func add(_ item: String) {
        lock.lock()
        items.append(item)
        lock.unlock()
    }

    var first: String? {
        lock.lock()
        defer { lock.unlock() }
        return items.first
    }
}
