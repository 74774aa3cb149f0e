import Foundation
import LedgerCore
@testable import LedgerPostgres
import LedgerStorage
import LedgerTestSupport
import Testing

/// The log is append-only twice over on PostgreSQL: triggers refuse every change for every
/// role (the owner included), and a role granted INSERT and SELECT only is refused by the
/// server's privileges before any trigger runs.
@Suite("PostgreSQL: append-only by triggers and by privileges", .enabled(if: TestServer.isAvailable, TestServer.skipNote))
struct PostgresGuardTests {
    static func ledgerWithEvents() throws -> String {
        let location = try TestServer.makeDatabase()
        let (store, created) = try PostgresEventStore.create(try PostgresLocation(location))
        #expect(created, "the schema is new in the (empty) database")
        try store.append([
            NewEvent(eventId: EventID.random(), stream: "client/C1", type: "InteractionLogged", occurredAt: at("2026-01-01T00:00:00Z"), data: "{}"),
            NewEvent(eventId: EventID.random(), stream: "client/C1", type: "InteractionLogged", occurredAt: at("2026-01-02T00:00:00Z"), data: "{}"),
        ])
        return location
    }

    static func sqlState(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return (error as? StorageError).map { "\($0)" }
        }
    }

    @Test("UPDATE, DELETE and TRUNCATE of events and streams are refused by the triggers, even for the owner")
    func triggersRefuseChanges() throws {
        let location = try Self.ledgerWithEvents()
        defer { TestServer.dropDatabase(location) }
        let owner = try TestServer.session(location)
        for statement in [
            "UPDATE events SET data = '{\"x\":1}' WHERE position = 1", "DELETE FROM events WHERE position = 2", "TRUNCATE events",
            "UPDATE streams SET name = 'client/C2'", "DELETE FROM streams", "TRUNCATE streams CASCADE",
        ] {
            let refusal = Self.sqlState { try owner.execute(statement) }
            #expect(refusal?.contains("append-only") == true, "\(statement): \(refusal ?? "accepted")")
        }
        // An insert that would leave a gap is refused by the gap-free trigger.
        let gap = Self.sqlState {
            try owner.execute(
                """
                INSERT INTO events VALUES (9, 'client/C9', 1, 'x-gap', 'InteractionLogged', 1, '2026-01-01T00:00:00.000Z',
                    '2026-01-01T00:00:00.000Z', '{}', '{}', decode(repeat('00', 32), 'hex'))
                """)
        }
        #expect(gap?.contains("gap-free") == true, "\(gap ?? "accepted")")
        // A temporary `events` first in the search path does not stand in for the log: the
        // trigger names the ledger's schema.
        try owner.execute("SET search_path = pg_temp, clientledger")
        try owner.execute("CREATE TEMP TABLE events(position bigint)")
        try owner.execute("INSERT INTO pg_temp.events VALUES (9)")
        let shadowed = Self.sqlState {
            try owner.execute(
                """
                INSERT INTO clientledger.events VALUES (10, 'client/C9', 1, 'x-shadow', 'InteractionLogged', 1,
                    '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '{}', '{}', decode(repeat('00', 32), 'hex'))
                """)
        }
        #expect(shadowed?.contains("gap-free") == true, "\(shadowed ?? "accepted")")
        let store = try PostgresEventStore(try PostgresLocation(location), mode: .readOnly, clock: SystemClock())
        #expect(try store.head().position == 2)
        #expect(try store.verifyChain().isIntact)
    }

    @Test("a role granted INSERT and SELECT only appends through the ledger and is refused UPDATE and DELETE by privilege")
    func privilegesRefuseChanges() throws {
        let location = try Self.ledgerWithEvents()
        defer { TestServer.dropDatabase(location) }
        let owner = try TestServer.session(location)
        let role = "ledger_writer_" + String(UUID().uuidString.prefix(8)).lowercased()
        try owner.execute("CREATE ROLE \(role) LOGIN")
        defer { _ = try? owner.execute("DROP OWNED BY \(role)"); _ = try? owner.execute("DROP ROLE \(role)") }
        for grant in [
            "GRANT USAGE ON SCHEMA clientledger TO \(role)",
            "GRANT SELECT, INSERT ON events, streams TO \(role)",
            "GRANT SELECT ON schema_migrations TO \(role)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON personal_keys TO \(role)",
        ] { try owner.execute(grant) }

        var writerLocation = try PostgresLocation(location)
        writerLocation.user = role
        let writer = try PostgresEventStore(writerLocation, mode: .readWrite, clock: SystemClock())
        try writer.append([NewEvent(
            eventId: EventID.random(), stream: "client/C2", type: "InteractionLogged", occurredAt: at("2026-01-03T00:00:00Z"), data: "{}")])
        #expect(try writer.head().position == 3)

        let direct = try TestServer.session(writerLocation.description)
        for statement in ["UPDATE events SET data = '{}' WHERE position = 1", "DELETE FROM events", "TRUNCATE events"] {
            let refusal = Self.sqlState { try direct.execute(statement) }
            #expect(refusal?.contains("permission denied") == true, "\(statement) as \(role): \(refusal ?? "accepted")")
        }
        #expect(try writer.verifyChain().isIntact)
    }

    @Test("a ledger whose append-only trigger was dropped is refused for writing, nothing written")
    func droppedTriggerIsRefused() throws {
        let location = try Self.ledgerWithEvents()
        defer { TestServer.dropDatabase(location) }
        let owner = try TestServer.session(location)
        try owner.execute("DROP TRIGGER events_append_only ON events")
        do {
            _ = try PostgresBackend().open(location, readOnly: false, clock: SystemClock())
            Issue.record("the ledger opened without its guard")
        } catch StorageError.appendOnlyGuardsMissing(_, let missing) {
            #expect(missing == ["events_append_only"])
        }
        let reader = try PostgresEventStore(try PostgresLocation(location), mode: .readOnly, clock: SystemClock())
        #expect(try reader.missingAppendOnlyGuards() == ["events_append_only"])
        #expect(try reader.verifyChain().isIntact == false, "the audit reports the missing guard")
    }

    @Test("a read-only handle is refused by the server too: the session is read-only")
    func readOnlySession() throws {
        let location = try Self.ledgerWithEvents()
        defer { TestServer.dropDatabase(location) }
        let reader = try PostgresEventStore(try PostgresLocation(location), mode: .readOnly, clock: SystemClock())
        let refusal = Self.sqlState { try reader.session.execute("INSERT INTO personal_keys VALUES ('client/X', decode(repeat('00', 32), 'hex'), 0)") }
        #expect(refusal?.contains("only be read") == true, "\(refusal ?? "accepted")")
    }

    @Test("a URL without a database, with an unknown parameter, or a missing database is refused naming it, without the password")
    func badLocations() throws {
        #expect(throws: StorageError.self) { try PostgresLocation("postgres://u:secret@localhost:5432/") }
        do {
            _ = try PostgresLocation("postgres://u:secret@localhost/db?sslmode=verify-full")
            Issue.record("accepted an unknown sslmode")
        } catch {
            #expect("\(error)".contains("sslmode") && !"\(error)".contains("secret"))
        }
        guard let url = TestServer.url else { return }
        let base = try PostgresLocation(url)
        let missing = "postgres://\(base.user):secret@\(base.host):\(base.port)/no_such_ledger_db"
        do {
            _ = try PostgresBackend().open(missing, readOnly: true, clock: SystemClock())
            Issue.record("opened a missing database")
        } catch StorageError.databaseMissing(let where_) {
            #expect(!where_.contains("secret") && where_.contains("no_such_ledger_db"))
        }
    }
}
