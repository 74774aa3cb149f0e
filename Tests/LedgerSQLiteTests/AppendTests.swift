import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerCore
@testable import LedgerSQLite
import LedgerStorage

@Suite("Appending to the event log")
struct AppendTests {
    @Test("positions are gap-free from 1 and versions count per stream")
    func positionsAndVersions() throws {
        try withNewLog { log, _ in
            let outcomes = try log.append([clientEvent("A"), clientEvent("B"), clientEvent("A")])
            #expect(outcomes.map(\.position) == [1, 2, 3])
            #expect(outcomes.map(\.version) == [1, 1, 2])
            #expect(outcomes.allSatisfy { $0.written })
            let more = try log.append([clientEvent("B")])
            #expect(more == [AppendOutcome(position: 4, version: 2, written: true)])
            let stored = try log.events(.all)
            #expect(stored.map(\.position) == [1, 2, 3, 4])
            #expect(stored.map(\.stream) == ["client/A", "client/B", "client/A", "client/B"])
            #expect(stored.map(\.version) == [1, 1, 2, 2])
            #expect(try log.version(of: "client/A") == 2)
            #expect(try log.version(of: "client/none") == 0)
            #expect(try log.head().position == 4)
            #expect(try log.head().hash == stored[3].hash)
        }
    }

    @Test("every event of one transaction has the same recordedAt, in the fixed-width form")
    func recordedAtPerTransaction() throws {
        try withNewLog { log, _ in
            try log.append([clientEvent("A"), clientEvent("B"), clientEvent("C")])
            let stored = try log.events(.all)
            #expect(Set(stored.map(\.recordedAt)).count == 1)
            #expect(stored.allSatisfy { $0.recordedAt.utf8.count == 24 && Timestamp(iso8601: $0.recordedAt) != nil })
            #expect(stored[0].occurredAt == "2026-03-02T09:31:00.000Z")
        }
    }

    @Test("(stream, version) is unique in the table")
    func streamVersionUnique() throws {
        try withNewLog { log, _ in
            try log.append([clientEvent("A")])
            let row = try #require(log.events(.all).first)
            let thrown = expectError(SQLiteError.self) {
                try log.connection.execute(
                    """
                    INSERT INTO log(position, stream_id, version, event_id, type_id, schema_version, occurred_ms,
                                       recorded_ms, data, metadata, hash)
                    VALUES (2, coalesce((SELECT id FROM streams WHERE name = 'client/A'), 999), 1, randomblob(16), 1, 1, 0, 0, '{}', '{}', zeroblob(32))
                    """)
            }
            let error = try #require(thrown)
            #expect(error.isUniqueViolation)
            #expect(error.message.contains("stream"))
            #expect(try eventCount(log.path) == 1)
        }
    }

    @Test("an exact expected version that does not match is a conflict and writes nothing")
    func exactVersionConflict() throws {
        try withNewLog { log, database in
            try log.append([clientEvent("A"), clientEvent("A")])
            let error = expectError(StorageError.self) {
                try log.append([clientEvent("A")], expected: .exact(1))
            }
            guard case .conflict(let stream, let expected, let actual)? = error else {
                Issue.record("expected a conflict, got \(String(describing: error))")
                return
            }
            #expect(stream == "client/A")
            #expect(expected == .exact(1))
            #expect(actual == 2)
            #expect(try eventCount(database.db) == 2)
            // The matching version is accepted.
            let outcome = try log.append([clientEvent("A")], expected: .exact(2))
            #expect(outcome.map(\.version) == [3])
        }
    }

    @Test("noStream on an existing stream is a conflict and writes nothing")
    func noStreamConflict() throws {
        try withNewLog { log, database in
            try log.append([clientEvent("A")])
            let error = expectError(StorageError.self) {
                try log.append([clientEvent("B"), clientEvent("A")], expected: .noStream)
            }
            guard case .conflict(let stream, let expected, let actual)? = error else {
                Issue.record("expected a conflict, got \(String(describing: error))")
                return
            }
            #expect(stream == "client/A")
            #expect(expected == .noStream)
            #expect(actual == 1)
            // B came first in the batch and was valid on its own: the whole batch is refused.
            #expect(try eventCount(database.db) == 1)
            #expect(try log.version(of: "client/B") == 0)
            #expect(try log.append([clientEvent("B")], expected: .noStream).map(\.version) == [1])
        }
    }

    @Test("a batch that fails mid-way writes nothing")
    func batchAllOrNothing() throws {
        try withNewLog { log, database in
            let stored = clientEvent("A")
            try log.append([stored])
            var reused = clientEvent("B", id: stored.eventId)
            reused.data = #"{"channel":"web","kind":"visit"}"#
            let error = expectError(StorageError.self) {
                try log.append([clientEvent("C"), clientEvent("D"), reused, clientEvent("E")])
            }
            guard case .eventIdReused(_, let position)? = error else {
                Issue.record("expected eventIdReused, got \(String(describing: error))")
                return
            }
            #expect(position == 1)
            #expect(try eventCount(database.db) == 1)
            #expect(try log.head().position == 1)
            // The next append continues the chain from position 2.
            #expect(try log.append([clientEvent("C")]).map(\.position) == [2])
            #expect(try log.verifyChain().isIntact)
        }
    }

    @Test("an error thrown inside a write session rolls back every append of the session")
    func sessionRollback() throws {
        struct Stop: Error {}
        try withNewLog { (log, database) throws in
            expectError(Stop.self) {
                try log.write { session in
                    try session.append(clientEvent("A"))
                    try session.append(clientEvent("A"))
                    #expect(session.lastPosition == 2)
                    throw Stop()
                }
            }
            #expect(try eventCount(database.db) == 0)
            #expect(!log.connection.isInTransaction)
        }
    }

    @Test("an event id already stored returns its stored position and writes nothing")
    func idempotentRetry() throws {
        try withNewLog { log, database in
            let first = clientEvent("A")
            try log.append([first, clientEvent("A")])
            let headBefore = try log.head()
            let retry = try log.append([first])
            #expect(retry == [AppendOutcome(position: 1, version: 1, written: false)])
            #expect(try eventCount(database.db) == 2)
            #expect(try log.head().hash == headBefore.hash)
            // Mixed with a new event: only the new one is written.
            let mixed = try log.append([first, clientEvent("B")])
            #expect(mixed.map(\.written) == [false, true])
            #expect(mixed.map(\.position) == [1, 3])
            #expect(try eventCount(database.db) == 3)
        }
    }

    @Test("an event id already stored with a different payload is eventIdReused")
    func eventIdReusedDifferentData() throws {
        try withNewLog { log, database in
            let first = clientEvent("A")
            try log.append([first])
            var changed = first
            changed.data = #"{"channel":"web","kind":"visit"}"#
            let error = expectError(StorageError.self) { try log.append([changed]) }
            guard case .eventIdReused(let eventId, let position)? = error else {
                Issue.record("expected eventIdReused, got \(String(describing: error))")
                return
            }
            #expect(eventId == first.eventId)
            #expect(position == 1)
            var otherStream = first
            otherStream.stream = "client/B"
            expectError(StorageError.self) { try log.append([otherStream]) }
            var otherType = first
            otherType.type = "SurveyAnswered"
            expectError(StorageError.self) { try log.append([otherType]) }
            #expect(try eventCount(database.db) == 1)
        }
    }

    @Test("a write nested in another is refused, and the outer write rolls back with it")
    func nestedWriteSessions() throws {
        try withNewLog { log, database in
            expectError(StorageError.self) {
                try log.write { outer in
                    try outer.append(clientEvent("A"))
                    try log.write { inner in
                        try inner.append(clientEvent("A"))
                    }
                    try outer.append(clientEvent("A"))
                }
            }
            #expect(try eventCount(database.db) == 0)
            // The connection is usable again afterwards.
            try log.write { session in try session.append(clientEvent("A")) }
            #expect(try log.events(.all).map(\.position) == [1])
            #expect(try log.verifyChain().isIntact)
        }
    }
}

@Suite("The stream cache of a writer is bounded")
struct StreamCacheBoundTests {
    /// Events of twelve streams over three transactions and one rolled back between them:
    /// two events of a stream in one transaction, streams coming back after the cache has
    /// started again, a rolled-back transaction's new streams and an event of a stored one.
    static func appendAll(_ log: SQLiteEventStore) throws -> [String] {
        let clients = (0..<12).map { "K\($0)" }
        for round in 0..<3 {
            // R1 first comes in a transaction that rolls back; it is written in the last round.
            let order = round == 2 ? ["R1"] + clients : round == 0 ? clients : clients.reversed()
            try log.append(order.flatMap { client in
                ["a", "b"].map { clientEvent(client, id: EventID.derived(from: "\(round)-\(client)-\($0)")) }
            })
            if round == 1 {
                _ = try? log.write { transaction -> Void in
                    // R1 again once the cache has started again: its id is read from the table,
                    // where only this transaction has it.
                    for client in ["R1", "R2", "R3", "R4", "R5", "R1", "K3"] { try transaction.append(clientEvent(client)) }
                    throw StorageError.backend("rolled back on purpose")
                }
            }
        }
        #expect(try log.verifyChain().isIntact)
        for client in ["R2", "R5"] { #expect(try log.version(of: "client/\(client)") == 0) }
        #expect(try log.version(of: "client/R1") == 2)
        #expect(try log.version(of: "client/K3") == 6)
        return try log.events(.all).map { "\($0.position) \($0.stream) \($0.version) \($0.eventId)" }
    }

    @Test("with room for three streams, twelve streams get the positions and versions of an unbounded cache, and a rolled-back transaction's streams are not taken for stored ones")
    func boundedCacheWritesTheSameLog() throws {
        let bounded = try withNewLog { log, _ in
            log.catalog.streamLimit = 3
            return try Self.appendAll(log)
        }
        let unbounded = try withNewLog { log, _ in try Self.appendAll(log) }
        #expect(bounded.count == 74)
        #expect(bounded == unbounded)
        let streams = try withNewLog { log, _ in
            log.catalog.streamLimit = 3
            _ = try Self.appendAll(log)
            return try log.connection.scalarInt("SELECT count(*) FROM streams")
        }
        #expect(streams == 13, "the rolled-back streams left no row")
    }
}
