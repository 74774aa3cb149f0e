import Foundation
import LedgerTestSupport
import Testing

import LedgerCore
import LedgerSQLite
import LedgerStorage

/// The audit of a long log reads it in two halves side by side. Here every log is "long"
/// (`inPartsFrom: 2`), and each report is held against the audit that reads in order.
@Suite("Audit in two parts: the same verdict as reading the log in order")
struct ChainPartsTests {
    static let events = 40

    /// Forty events over five streams, appended in batches of three.
    static func seeded(_ log: SQLiteEventStore) throws {
        var batch: [NewEvent] = []
        for index in 0..<events {
            batch.append(clientEvent("C\(index * 7 % 5)", data: #"{"channel":"app","kind":"inquiry","n":\#(index)}"#))
            if batch.count == 3 || index == events - 1 {
                try log.append(batch)
                batch = []
            }
        }
    }

    static func inParts(_ log: SQLiteEventStore) throws -> ChainReport { try log.verifyChain(inPartsFrom: 2) }
    static func inOrder(_ log: SQLiteEventStore) throws -> ChainReport { try log.verifyChain(inPartsFrom: .max) }

    static func expectSameVerdict(_ log: SQLiteEventStore, _ comment: Comment) throws {
        let parts = try inParts(log)
        let order = try inOrder(log)
        #expect(!parts.isIntact, comment)
        #expect(parts.firstBadPosition == order.firstBadPosition, comment)
        #expect(parts.problem == order.problem, comment)
        #expect(parts.eventsChecked == order.eventsChecked, comment)
        #expect(order.partsReadAtOnce == 1)
    }

    /// Gives every row from `position` on the hash the chain computes for it, as someone
    /// rewriting the file would after changing a row: the chain then holds, and only what
    /// it does not cover (stream versions) can give the change away.
    static func rechain(_ database: Workspace, _ log: SQLiteEventStore) throws {
        var hasher = ChainHasher()
        var rewritten: [(position: Int64, hash: String)] = []
        try log.scanChain { fields, _, stored in
            hasher.next(fields)
            if !hasher.lastEquals(stored) { rewritten.append((fields.position, hasher.last.hexString)) }
            return true
        }
        let raw = try Connection(path: database.db, mode: .readWrite)
        try? raw.execute("DROP TRIGGER log_append_only_update")
        for row in rewritten { try raw.execute("UPDATE log SET hash = X'\(row.hash)' WHERE position = \(row.position)") }
        var check = ChainHasher()
        try log.scanChain { fields, _, stored in
            check.next(fields)
            #expect(check.lastEquals(stored), "row \(fields.position) rechained")
            return true
        }
    }

    @Test("an intact log: both halves read side by side, the same count and head as in order")
    func intact() throws {
        try withNewLog { log, _ in
            try Self.seeded(log)
            let parts = try Self.inParts(log)
            let order = try Self.inOrder(log)
            #expect(parts.isIntact && order.isIntact)
            #expect(parts.partsReadAtOnce == 2)
            #expect(parts.eventsChecked == Int64(Self.events))
            #expect(parts.headHash == order.headHash)
            #expect(parts.headHash == (try log.head().hash.hexString))
        }
    }

    @Test("a row's data changed, in either half or at the middle, is reported where reading in order reports it",
          arguments: [1, 2, 19, 20, 21, 22, 39, 40])
    func changedData(position: Int) throws {
        try withNewLog { log, database in
            try Self.seeded(log)
            try ChainTests.tamper(
                database, dropping: "log_append_only_update",
                #"UPDATE log SET data = '{"channel":"app","kind":"complaint"}' WHERE position = \#(position)"#)
            try Self.expectSameVerdict(log, "data changed at \(position)")
        }
    }

    @Test("a stored hash changed is reported where reading in order reports it", arguments: [1, 20, 21, 40])
    func changedHash(position: Int) throws {
        try withNewLog { log, database in
            try Self.seeded(log)
            try ChainTests.tamper(database, dropping: "log_append_only_update", "UPDATE log SET hash = zeroblob(32) WHERE position = \(position)")
            try Self.expectSameVerdict(log, "hash changed at \(position)")
        }
    }

    @Test("a deleted row, at the middle, next to it or at either end, is a missing position", arguments: [1, 19, 20, 21, 40])
    func deletedRow(position: Int) throws {
        try withNewLog { log, database in
            try Self.seeded(log)
            try ChainTests.tamper(database, dropping: "log_append_only_delete", "DELETE FROM log WHERE position = \(position)")
            try Self.expectSameVerdict(log, "row \(position) deleted")
        }
    }

    @Test("a row slipped in before position 1 is reported")
    func rowBeforeTheFirst() throws {
        try withNewLog { log, database in
            try Self.seeded(log)
            try ChainTests.tamper(
                database, dropping: "log_gap_free",
                """
                INSERT INTO log(position, stream_id, version, event_id, type_id, schema_version, occurred_ms, recorded_ms, data, metadata, hash)
                SELECT 0, stream_id, 99, randomblob(16), type_id, 1, 0, 0, '{}', '{}', zeroblob(32) FROM log WHERE position = 1
                """)
            try Self.expectSameVerdict(log, "a row at position 0")
        }
    }

    @Test("a stream's version changed under a rewritten chain, in either half or where the stream crosses the middle",
          arguments: [3, 20, 21, 22, 30, 40])
    func versionJumpUnderAnIntactChain(position: Int) throws {
        try withNewLog { log, database in
            try Self.seeded(log)
            try ChainTests.tamper(
                database, dropping: "log_append_only_update", "UPDATE log SET version = version + 1000 WHERE position = \(position)")
            try Self.rechain(database, log)
            let order = try Self.inOrder(log)
            #expect(order.firstBadPosition == Int64(position))
            #expect(order.problem?.contains("jumps to version") == true, "\(order.problem ?? "")")
            try Self.expectSameVerdict(log, "version jump at \(position)")
        }
    }

    @Test("a stream renumbered from its first event on, under a rewritten chain, does not start at version 1")
    func streamNotStartingAtOne() throws {
        try withNewLog { log, database in
            try Self.seeded(log)
            // Every version of the stream of position 3 moves by 1,000: consecutive in each
            // half and across the middle, so only "a stream starts at 1" can catch it.
            try ChainTests.tamper(
                database, dropping: "log_append_only_update",
                "UPDATE log SET version = version + 1000 WHERE stream_id = (SELECT stream_id FROM log WHERE position = 3)")
            try Self.rechain(database, log)
            let order = try Self.inOrder(log)
            #expect(order.firstBadPosition == 3, "\(order.problem ?? "")")
            try Self.expectSameVerdict(log, "a stream starting at version 1001")
        }
    }

    @Test("the first version of a stream's events in the second half must follow its last in the first")
    func streamCrossingTheMiddle() throws {
        try withNewLog { log, database in
            try Self.seeded(log)
            // The first row of the second half (position 21) is renumbered to version 1 of a
            // stream already seen in the first half: within the second half it looks like a start.
            let raw = try Connection(path: database.db, mode: .readWrite)
            let stream = try raw.scalarInt("SELECT stream_id FROM log WHERE position = 21")
            let earlier = try raw.scalarInt("SELECT count(*) FROM log WHERE stream_id = \(stream) AND position <= 20")
            #expect(earlier > 0)
            // Its versions may then repeat: the index that forbids that goes first.
            try raw.execute("DROP INDEX log_stream_version")
            try ChainTests.tamper(
                database, dropping: "log_append_only_update",
                "UPDATE log SET version = version + 1000 WHERE stream_id = \(stream) AND position > 20")
            try raw.execute("UPDATE log SET version = version - 1000 - \(earlier) WHERE stream_id = \(stream) AND position > 20")
            try Self.rechain(database, log)
            let order = try Self.inOrder(log)
            #expect(order.firstBadPosition == 21, "\(order.problem ?? "")")
            try Self.expectSameVerdict(log, "a stream starting again at version 1 after the middle")
        }
    }
}
