import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerCore
@testable import LedgerSQLite
import LedgerStorage

@Suite("The lean stored form: log rows, the events view, and the migration from the original table")
struct CompactFormTests {
    /// Every column of `events` as text (the hash as hex), through SQL only.
    static func viewRows(_ connection: Connection) throws -> [[String]] {
        let statement = try connection.prepare(
            """
            SELECT position, stream, version, event_id, type, schema_version, occurred_at, recorded_at, data, metadata, hex(hash)
            FROM events ORDER BY position
            """)
        var rows: [[String]] = []
        while try statement.step() { rows.append((0..<11).map { statement.string(at: Int32($0)) }) }
        return rows
    }

    static func decisionMetadata(cause: String, correlation: String? = nil) -> String {
        #"{"actor":"clientledger","correlationId":"\#(correlation ?? cause)","causationId":"\#(cause)","rulesVersion":"0123456789abcdef"}"#
    }

    @Test("the view's text forms are exactly the ones the ledger hashes: times 1900–9999, ids, metadata")
    func viewMatchesScan() throws {
        try withWorkspace { workspace in
            let (store, _) = try SQLiteEventStore.create(at: workspace.db)
            var generator = SystemRandomNumberGenerator()
            let low = Timestamp(iso8601: "1900-01-01T00:00:00Z")?.millisecondsSinceEpoch ?? 0
            let high = Timestamp(iso8601: "9999-12-31T23:59:59.999Z")?.millisecondsSinceEpoch ?? 0
            var events: [NewEvent] = []
            for index in 0..<500 {
                let moment = Timestamp(millisecondsSinceEpoch: Int64.random(in: low...high, using: &generator))
                var event = clientEvent("C\(index % 7)", id: index % 5 == 0 ? "not-a-uuid-\(index)" : EventID.random())
                event.occurredAt = moment
                events.append(event)
                // A decision caused by it, in the compact metadata form.
                events.append(NewEvent(
                    eventId: EventID.random(), stream: event.stream, type: "PointsAwarded", occurredAt: moment,
                    data: #"{"points":1}"#,
                    metadata: Self.decisionMetadata(cause: event.eventId, correlation: index % 3 == 0 ? "corr-\(index)" : nil)))
            }
            try store.append(events)
            let scanned = try store.events(.all)
            let viewed = try Self.viewRows(store.connection)
            #expect(scanned.count == 1000 && viewed.count == 1000)
            for (event, row) in zip(scanned, viewed) {
                let expected = [
                    String(event.position), event.stream, String(event.version), event.eventId, event.type,
                    String(event.schemaVersion), event.occurredAt, event.recordedAt, event.data, event.metadata,
                    event.hash.hexString.uppercased(),
                ]
                #expect(row == expected)
            }
            #expect(scanned.map(\.eventId) == events.map(\.eventId), "ids read back exactly, UUIDs or not")
            #expect(scanned.map(\.metadata) == events.map(\.metadata), "metadata reads back exactly")
            let inOrder = try store.verifyChain(inPartsFrom: .max)
            #expect(inOrder.isIntact)
            // Read in two halves side by side, each on one thread: the same text forms.
            let inParts = try store.verifyChain(inPartsFrom: 2)
            #expect(inParts.isIntact && inParts.partsReadAtOnce == 2, "\(inParts)")
            #expect(inParts.headHash == inOrder.headHash && inParts.eventsChecked == 1000)
            // Decisions whose cause is stored keep no metadata text: it is derived.
            #expect(try store.connection.scalarInt("SELECT count(*) FROM log WHERE metadata IS NULL") == 500)
        }
    }

    @Test("a decision whose cause is thousands of rows back verifies, its metadata derived from the cause")
    func farCause() throws {
        try withWorkspace { workspace in
            let (store, _) = try SQLiteEventStore.create(at: workspace.db)
            let uuidFact = clientEvent("C1", id: EventID.random())
            let textFact = clientEvent("C2", id: "upstream-fact-1")
            var events = [uuidFact, textFact]
            // More rows than the audit keeps at hand, so the causes are looked up.
            for index in 0..<5_000 { events.append(clientEvent("C\(3 + index % 11)", id: EventID.random())) }
            // The first decision (position 5,003) is caused by the row exactly 4,096 positions
            // back, whose place among the recent rows its own row takes.
            for fact in [events[906], uuidFact, textFact] {
                events.append(NewEvent(
                    eventId: EventID.random(), stream: fact.stream, type: "PointsAwarded", occurredAt: fact.occurredAt,
                    data: #"{"points":1}"#, metadata: Self.decisionMetadata(cause: fact.eventId)))
            }
            try store.append(events)
            #expect(try store.connection.scalarInt("SELECT count(*) FROM log WHERE cause_position IN (1, 2, 907)") == 3)
            #expect(try store.connection.scalarInt("SELECT cause_position FROM log WHERE position = 5003") == 5003 - 4096)
            let report = try store.verifyChain(inPartsFrom: .max)
            #expect(report.isIntact, "\(report)")
            // The second half (from position 2,503) finds causes in the first by lookup too.
            let inParts = try store.verifyChain(inPartsFrom: 2)
            #expect(inParts.isIntact && inParts.partsReadAtOnce == 2, "\(inParts)")
            #expect(inParts.headHash == report.headHash)
            // The decisions' hashes cover metadata derived from their causes' ids: an id found
            // wrong would have failed the audit at their positions.
            let decisions = try store.events(.all).suffix(3)
            #expect(decisions.map(\.metadata) == events.suffix(3).map(\.metadata))
        }
    }

    @Test("SQLite's strftime gives the fixed-width text of any millisecond in 1900–9999")
    func strftimeIsExact() throws {
        try withWorkspace { workspace in
            let connection = try Connection(path: workspace.db, mode: .create)
            let statement = try connection.prepare("SELECT \(CompactForm.timeTextSQL("?1"))")
            var generator = SystemRandomNumberGenerator()
            let high = Timestamp(iso8601: "9999-12-31T23:59:59.999Z")?.millisecondsSinceEpoch ?? 0
            let low = Timestamp(iso8601: "1900-01-01T00:00:00Z")?.millisecondsSinceEpoch ?? 0
            let edges: [Int64] = [low, high, 0, -1, 1, 999, 1000, 86_399_999]
            for ms in edges + (0..<20_000).map({ _ in Int64.random(in: low...high, using: &generator) }) {
                statement.reset()
                statement.bind(ms, at: 1)
                _ = try statement.step()
                #expect(statement.string(at: 0) == Timestamp(millisecondsSinceEpoch: ms).iso8601, "ms \(ms)")
            }
        }
    }

    @Test("a ledger in the original form is converted with every row and the chain head unchanged")
    func legacyMigration() throws {
        try withWorkspace { workspace in
            // A ledger as the first schema wrote it: one `events` table of text columns.
            let legacy = try Connection(path: workspace.db, mode: .create)
            try Migrator([LedgerSchema.eventLog]).migrate(legacy, at: .now())
            let insert = try legacy.prepare("INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")
            var previous = HashChain.genesis
            var versions: [String: Int64] = [:]
            let fact = EventID.random()
            let rows: [(String, String, String, String, String)] = [
                ("client/C1", fact, "FundsDeposited", #"{"amount":2000.00}"#, #"{"actor":"branch","channel":"branch"}"#),
                ("client/C1", EventID.random(), "PointsAwarded", #"{"points":2}"#, Self.decisionMetadata(cause: fact)),
                ("client/C2", "legacy-id-7", "InteractionLogged", #"{"channel":"app","kind":"inquiry"}"#, "{}"),
                ("campaign/K", EventID.random(), "CampaignDefined", #"{"name":"K"}"#, #"{"actor":"crm"}"#),
            ]
            for (offset, row) in rows.enumerated() {
                let position = Int64(offset + 1)
                let version = (versions[row.0] ?? 0) + 1
                versions[row.0] = version
                let fields = HashChain.Fields(
                    position: position, stream: row.0, version: version, eventId: row.1, type: row.2, schemaVersion: 1,
                    occurredAt: "2025-0\(offset + 1)-02T09:31:00.250Z", recordedAt: "2026-01-01T00:00:00.000Z",
                    data: row.3, metadata: row.4)
                let hash = HashChain.hash(previous: previous, fields)
                insert.reset()
                insert.bind(position, at: 1); insert.bind(row.0, at: 2); insert.bind(version, at: 3); insert.bind(row.1, at: 4)
                insert.bind(row.2, at: 5); insert.bind(Int64(1), at: 6); insert.bind(fields.occurredAt, at: 7)
                insert.bind(fields.recordedAt, at: 8); insert.bind(row.3, at: 9); insert.bind(row.4, at: 10); insert.bind(hash, at: 11)
                try insert.run()
                previous = hash
            }
            let before = try Self.viewRows(legacy)
            // A read-only open refuses to read an older schema; a read-write open converts it.
            #expect(throws: StorageError.self) { try SQLiteEventStore(path: workspace.db, readOnly: true) }
            let store = try SQLiteEventStore(path: workspace.db, readOnly: false)
            #expect(try Self.viewRows(store.connection) == before, "every column of every row reads as it did")
            #expect(try store.head() == ChainHead(position: 4, hash: previous), "the chain head is unchanged")
            #expect(try store.verifyChain().isIntact)
            #expect(try store.connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'events'") == 0)
            // And the converted ledger goes on as a new one would.
            try store.append([clientEvent("C2")])
            #expect(try store.verifyChain().eventsChecked == 5)
        }
    }

    @Test("a row inserted by hand with a stream or type outside the catalogues cannot hide from an audit")
    func danglingRowsAreSeen() throws {
        try withWorkspace { workspace in
            let (store, _) = try SQLiteEventStore.create(at: workspace.db)
            try store.append([clientEvent("C1"), clientEvent("C1")])
            try store.connection.execute(
                """
                INSERT INTO log(position, stream_id, version, event_id, type_id, schema_version, occurred_ms, recorded_ms, data, metadata, hash)
                VALUES (3, 999, 1, randomblob(16), 999, 1, 0, 0, '{}', '{}', zeroblob(32))
                """)
            let report = try store.verifyChain()
            #expect(report.firstBadPosition == 3)
            #expect(try Self.viewRows(store.connection).count == 3, "the view shows the row too")
        }
    }
}

@Suite("Decision metadata: only the exact derived form is compacted")
struct DecisionMetadataTests {
    typealias Metadata = CompactForm.DecisionMetadata
    static let version = "0123456789abcdef"

    @Test("the derived form parses, and writes back byte for byte")
    func roundTrip() throws {
        let cause = "5b0f3a52-6c1e-4a8b-9d4f-0a1b2c3d4e5f"
        for correlation in [cause, "corr-42"] {
            let text = Metadata.text(correlation: correlation, cause: cause, rulesVersion: Self.version)
            let parsed = try #require(Metadata(text))
            #expect(parsed.cause == cause)
            #expect(parsed.correlation == (correlation == cause ? nil : correlation))
            #expect(parsed.rulesVersion == Self.version)
            #expect(parsed.text == text)
        }
    }

    @Test("anything else is kept as text", arguments: [
        #"{"actor":"clientledger","correlationId":"a","causationId":"b","rulesVersion":"0123456789abcdef","x":1}"#,
        #"{"actor":"clientledger","correlationId":"a","causationId":"b","rulesVersion":"0123456789abcde"}"#,
        #"{"actor":"clientledger","correlationId":"","causationId":"b","rulesVersion":"0123456789abcdef"}"#,
        #"{"actor":"clientledger","correlationId":"a","causationId":"","rulesVersion":"0123456789abcdef"}"#,
        #"{"actor":"clientledger","correlationId":"a\"b","causationId":"b","rulesVersion":"0123456789abcdef"}"#,
        #"{"actor":"clientledger","correlationId":"a b","causationId":"b","rulesVersion":"0123456789abcdef"}"#,
        #"{"actor":"clientledger","correlationId":"a","causationId":"b","rulesVersion":"0123456789abcdef"} "#,
        #"{"actor":"operator","correlationId":"a","causationId":"b","rulesVersion":"0123456789abcdef"}"#,
        #"{"actor":"clientledger","correlationId":"a","rulesVersion":"0123456789abcdef"}"#,
        "",
    ])
    func otherFormsAreNotCompacted(_ text: String) {
        #expect(Metadata(text) == nil)
    }
}
