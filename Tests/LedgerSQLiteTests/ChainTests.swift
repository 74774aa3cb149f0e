import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerCore
import LedgerSQLite
import LedgerStorage

@Suite("Append-only triggers and the hash chain")
struct ChainTests {
    /// A log with five events over two streams.
    static func seeded(_ log: SQLiteEventStore) throws {
        try log.append([clientEvent("A"), clientEvent("B")])
        try log.append([clientEvent("A", type: "SurveyAnswered", data: #"{"nps":9}"#), clientEvent("B"), clientEvent("A")])
    }

    // MARK: - Triggers

    /// Changes the log behind its guards, as someone with the file could: drops `trigger`,
    /// then runs `sql` on a connection of its own. Returns the rows it changed.
    @discardableResult
    static func tamper(_ database: Workspace, dropping trigger: String, _ sql: String) throws -> Int {
        let raw = try Connection(path: database.db, mode: .readWrite)
        try raw.execute("DROP TRIGGER \(trigger)")
        try raw.execute(sql)
        return Int(raw.changes)
    }

    @Test("UPDATE of a stored event is refused by a trigger")
    func updateRefused() throws {
        try withNewLog { log, database in
            try Self.seeded(log)
            let before = try log.events(.all)
            let raw = try Connection(path: database.db, mode: .readWrite)
            let error = expectError(SQLiteError.self) {
                try raw.execute(#"UPDATE log SET data = '{"nps":0}' WHERE position = 3"#)
            }
            #expect(error?.message.contains("append-only") == true)
            #expect(error?.primaryCode == 19)  // SQLITE_CONSTRAINT (trigger)
            #expect(try log.events(.all) == before)
        }
    }

    @Test("DELETE of stored events is refused by a trigger")
    func deleteRefused() throws {
        try withNewLog { log, database in
            try Self.seeded(log)
            let raw = try Connection(path: database.db, mode: .readWrite)
            let error = expectError(SQLiteError.self) { try raw.execute("DELETE FROM log") }
            #expect(error?.message.contains("append-only") == true)
            expectError(SQLiteError.self) { try raw.execute("DELETE FROM log WHERE position = 5") }
            #expect(try eventCount(database.db) == 5)
        }
    }

    @Test("inserting a position out of sequence is refused by the gap-free trigger", arguments: [7, 100, 0, -1])
    func gapRefused(position: Int) throws {
        try withNewLog { log, database in
            try Self.seeded(log)
            let raw = try Connection(path: database.db, mode: .readWrite)
            let error = expectError(SQLiteError.self) {
                try raw.execute(
                    """
                    INSERT INTO log(position, stream_id, version, event_id, type_id, schema_version, occurred_ms,
                                       recorded_ms, data, metadata, hash)
                    VALUES (\(position), coalesce((SELECT id FROM streams WHERE name = 'client/Z'), 999), 1, randomblob(16), 1, 1, 0, 0, '{}', '{}', zeroblob(32))
                    """)
            }
            #expect(error?.message.contains("gap-free") == true)
            #expect(try eventCount(database.db) == 5)
        }
    }

    @Test("a raw insert at the next position passes the gap-free trigger (and then breaks the chain)")
    func nextPositionAccepted() throws {
        try withNewLog { log, database in
            try Self.seeded(log)
            let raw = try Connection(path: database.db, mode: .readWrite)
            try raw.execute(
                """
                INSERT INTO log(position, stream_id, version, event_id, type_id, schema_version, occurred_ms,
                                   recorded_ms, data, metadata, hash)
                VALUES (6, coalesce((SELECT id FROM streams WHERE name = 'client/Z'), 999), 1, randomblob(16), 1, 1, 0, 0, '{}', '{}', zeroblob(32))
                """)
            let report = try log.verifyChain()
            #expect(report.firstBadPosition == 6)
            #expect(report.eventsChecked == 5)
        }
    }

    // MARK: - Chain

    @Test("a fresh log verifies intact, with the head hash of the last event")
    func intactChain() throws {
        try withNewLog { log, _ in
            let empty = try log.verifyChain()
            #expect(empty.isIntact)
            #expect(empty.eventsChecked == 0)
            #expect(empty.headHash == HashChain.genesis.hexString)

            try Self.seeded(log)
            let report = try log.verifyChain()
            #expect(report.isIntact)
            #expect(report.firstBadPosition == nil)
            #expect(report.missingTriggers.isEmpty)
            #expect(report.eventsChecked == 5)
            #expect(report.headHash == (try log.head().hash.hexString))
        }
    }

    @Test("the first event's stored hash is SHA-256 over genesis and its canonical fields")
    func firstHashRecomputed() throws {
        try withNewLog { log, _ in
            try Self.seeded(log)
            let events = try log.events(.all)
            var previous = HashChain.genesis
            for event in events {
                let fields = HashChain.Fields(
                    position: event.position, stream: event.stream, version: event.version, eventId: event.eventId,
                    type: event.type, schemaVersion: Int64(event.schemaVersion), occurredAt: event.occurredAt,
                    recordedAt: event.recordedAt, data: event.data, metadata: event.metadata)
                let computed = HashChain.hash(previous: previous, fields)
                #expect(computed == event.hash, "position \(event.position)")
                #expect(computed.count == 32)
                previous = computed
            }
            // Chained: hashing position 2 over genesis instead of hash(1) gives something else.
            let second = events[1]
            let unchained = HashChain.hash(
                previous: HashChain.genesis,
                HashChain.Fields(
                    position: second.position, stream: second.stream, version: second.version, eventId: second.eventId,
                    type: second.type, schemaVersion: Int64(second.schemaVersion), occurredAt: second.occurredAt,
                    recordedAt: second.recordedAt, data: second.data, metadata: second.metadata))
            #expect(unchained != second.hash)
        }
    }

    /// The worked example of `schemas/hash-chain.md`.
    static var workedExample: HashChain.Fields { HashChain.Fields(
        position: 1, stream: "client/c1", version: 1, eventId: "3f2a8c4e-9b1d-4e7a-8c2f-5d6e7f8a9b0c",
        type: "ClientRegistered", schemaVersion: 1, occurredAt: "2026-03-02T09:31:00.000Z",
        recordedAt: "2026-03-02T09:31:00.250Z", data: #"{"name":"Zoë Müller"}"#, metadata: "{}") }

    @Test("the worked example of schemas/hash-chain.md gives the documented hash(1)")
    func workedExampleHash() throws {
        let documented = "fbff8e68fcf11d54d1151531e08208e1445a5b711dcfd32d96cbe6d32ea5ad02"
        // The value is read from the document itself, so the two cannot drift apart silently.
        let doc = try String(contentsOf: repositoryRoot().appendingPathComponent("schemas/hash-chain.md"), encoding: .utf8)
        #expect(doc.contains(documented))
        #expect(HashChain.hash(previous: HashChain.genesis, Self.workedExample).hexString == documented)
        // The 177 canonical bytes the document lists, hashed after 32 zero bytes.
        let canonicalHex = """
            0000000131\
            00000009636c69656e742f6331\
            0000000131\
            0000002433663261386334652d396231642d346537612d386332662d356436653766386139623063\
            00000010436c69656e7452656769737465726564\
            0000000131\
            00000018323032362d30332d30325430393a33313a30302e3030305a\
            00000018323032362d30332d30325430393a33313a30302e3235305a\
            000000177b226e616d65223a225a6fc3ab204dc3bc6c6c6572227d\
            000000027b7d
            """
        let canonical = try #require(bytes(hex: canonicalHex))
        #expect(canonical.count == 177)
        #expect(HashChain.sha256(HashChain.genesis + canonical).hexString == documented)
    }

    @Test("any change to one field of the worked example changes the hash")
    func everyFieldCovered() {
        let base = HashChain.hash(previous: HashChain.genesis, Self.workedExample)
        var variants: [HashChain.Fields] = []
        var f = Self.workedExample
        f.position = 2; variants.append(f); f = Self.workedExample
        f.stream = "client/c2"; variants.append(f); f = Self.workedExample
        f.version = 2; variants.append(f); f = Self.workedExample
        f.eventId = "3f2a8c4e-9b1d-4e7a-8c2f-5d6e7f8a9b0d"; variants.append(f); f = Self.workedExample
        f.type = "ClientOffboarded"; variants.append(f); f = Self.workedExample
        f.schemaVersion = 2; variants.append(f); f = Self.workedExample
        f.occurredAt = "2026-03-02T09:31:00.001Z"; variants.append(f); f = Self.workedExample
        f.recordedAt = "2026-03-02T09:31:00.251Z"; variants.append(f); f = Self.workedExample
        f.data = #"{"name":"Zoe Muller"}"#; variants.append(f); f = Self.workedExample
        f.metadata = #"{"a":1}"#; variants.append(f); f = Self.workedExample
        // Moving bytes between adjacent fields must not collide (length prefixes).
        f.stream = "client/c"; f.version = 11; variants.append(f)
        let hashes = variants.map { HashChain.hash(previous: HashChain.genesis, $0) }
        #expect(!hashes.contains(base))
        #expect(Set(hashes.map(\.hexString)).count == variants.count)
        #expect(HashChain.hash(previous: [UInt8](repeating: 1, count: 32), Self.workedExample) != base)
    }

    @Test("changing one row's data is reported at exactly that position", arguments: [1, 3, 5])
    func tamperedDataReported(position: Int) throws {
        try withNewLog { log, database in
            try Self.seeded(log)
            let changed = try Self.tamper(
                database, dropping: "log_append_only_update",
                #"UPDATE log SET data = '{"channel":"app","kind":"complaint"}' WHERE position = \#(position)"#)
            #expect(changed == 1)
            let report = try log.verifyChain()
            #expect(!report.isIntact)
            #expect(report.firstBadPosition == Int64(position))
            #expect(report.problem?.contains("hash mismatch") == true)
            #expect(report.eventsChecked == Int64(position - 1))
            #expect(report.missingTriggers == ["log_append_only_update"])
        }
    }

    @Test("changing a stored hash itself is reported at that position")
    func tamperedHashReported() throws {
        try withNewLog { log, database in
            try Self.seeded(log)
            try Self.tamper(database, dropping: "log_append_only_update", "UPDATE log SET hash = zeroblob(32) WHERE position = 4")
            #expect(try log.verifyChain().firstBadPosition == 4)
        }
    }

    @Test("a row deleted from the middle is reported as a missing position")
    func deletedRowReported() throws {
        try withNewLog { log, database in
            try Self.seeded(log)
            try Self.tamper(database, dropping: "log_append_only_delete", "DELETE FROM log WHERE position = 2")
            let report = try log.verifyChain()
            #expect(report.firstBadPosition == 2)
            #expect(report.problem?.contains("missing") == true)
            #expect(report.missingTriggers == ["log_append_only_delete"])
        }
    }

    @Test("a row slipped in before position 1 is reported, not a crash of the audit")
    func rowBeforeTheFirstReported() throws {
        try withNewLog { log, database in
            try Self.seeded(log)
            // A decision-shaped row (metadata derived from a cause) at a negative position.
            try Self.tamper(
                database, dropping: "log_gap_free",
                """
                INSERT INTO log(position, stream_id, version, event_id, type_id, schema_version, occurred_ms, recorded_ms,
                                data, metadata, cause_position, correlation, rules_id, hash)
                SELECT -5, stream_id, version + 1000, randomblob(16), type_id, schema_version, occurred_ms, recorded_ms,
                       data, NULL, -7, NULL, rules_id, hash FROM log WHERE position = 1
                """)
            let report = try log.verifyChain()
            #expect(report.firstBadPosition == 1)
            #expect(report.problem?.contains("missing") == true)
        }
    }

    @Test("a dropped trigger is reported missing", arguments: LedgerSchema.requiredTriggers)
    func droppedTriggerReported(name: String) throws {
        try withNewLog { log, database in
            try Self.seeded(log)
            let raw = try Connection(path: database.db, mode: .readWrite)
            try raw.execute("DROP TRIGGER \(name)")
            let report = try log.verifyChain()
            #expect(!report.isIntact)
            #expect(report.missingTriggers == [name])
            #expect(report.firstBadPosition == nil)
            #expect(report.eventsChecked == 5)
        }
    }

    @Test("a trigger replaced by one that does not abort counts as missing")
    func alteredTriggerReported() throws {
        try withNewLog { log, database in
            try Self.seeded(log)
            let raw = try Connection(path: database.db, mode: .readWrite)
            try raw.execute(
                """
                DROP TRIGGER log_append_only_delete;
                CREATE TRIGGER log_append_only_delete BEFORE DELETE ON log BEGIN SELECT 1; END;
                """)
            let report = try log.verifyChain()
            #expect(report.missingTriggers == ["log_append_only_delete"])
            #expect(!report.isIntact)
        }
    }
}

/// Bytes of a hexadecimal text, or nil when it is not hexadecimal.
func bytes(hex: String) -> [UInt8]? {
    let digits = Array(hex.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    var index = 0
    while index < digits.count {
        guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
        out.append(high << 4 | low)
        index += 2
    }
    return out
}

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 48...57: return c - 48
    case 97...102: return c - 87
    case 65...70: return c - 55
    default: return nil
    }
}
