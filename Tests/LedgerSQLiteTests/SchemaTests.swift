import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerCore
import LedgerSQLite
import LedgerStorage

@Suite("Schema, migrations and connection settings")
struct SchemaTests {
    @Test("a new database file is readable and writable by its owner only (0600)")
    func newFileMode() throws {
        try withNewLog { log, database in
            #expect(try permissions(database.db) == 0o600)
            // Write something so that SQLite creates the WAL file: it must not be wider.
            try log.append([clientEvent("C1")])
            let wal = database.db + "-wal"
            if FileManager.default.fileExists(atPath: wal) {
                #expect(try permissions(wal) == 0o600)
            }
        }
    }

    @Test("create reports a new file once, and an existing one afterwards")
    func createReportsExisting() throws {
        try withWorkspace { database in
            let first = try SQLiteEventStore.create(at: database.db)
            #expect(first.created)
            let second = try SQLiteEventStore.create(at: database.db)
            #expect(!second.created)
        }
    }

    @Test("every migration is recorded in schema_migrations, in order")
    func migrationsRecorded() throws {
        try withNewLog { log, _ in
            let applied = try Migrator(LedgerSchema.migrations).applied(in: log.connection)
            #expect(applied == LedgerSchema.migrations.map(\.name))
            #expect(applied.first == "0001_event_log")
            #expect(try log.connection.scalarInt("SELECT count(*) FROM schema_migrations") == Int64(LedgerSchema.migrations.count))
            #expect(try Migrator(LedgerSchema.migrations).pending(in: log.connection).isEmpty)
            for table in ["log", "streams", "event_types", "rules_versions", "ledger_info", "schema_migrations"] {
                #expect(try log.connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", [table]) == 1)
            }
            // `events` stays readable by every existing query and tool, as a view of `log`.
            #expect(try log.connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE type = 'view' AND name = 'events'") == 1)
        }
    }

    @Test("reopening an up-to-date database applies nothing new")
    func reopenAppliesNothing() throws {
        try withWorkspace { database in
            do {
                let (log, _) = try SQLiteEventStore.create(at: database.db)
                try log.append([clientEvent("C1")])
            }
            let reopened = try SQLiteEventStore(path: database.db, readOnly: false)
            #expect(try Migrator(LedgerSchema.migrations).migrate(reopened.connection, at: .now()).isEmpty)
            #expect(try reopened.connection.scalarInt("SELECT count(*) FROM schema_migrations") == Int64(LedgerSchema.migrations.count))
            #expect(try reopened.connection.scalarInt("SELECT count(*) FROM events") == 1)
            // Opening it through create again must not re-run the migration either.
            let again = try SQLiteEventStore.create(at: database.db)
            #expect(!again.created)
            #expect(try again.store.connection.scalarInt("SELECT count(*) FROM schema_migrations") == Int64(LedgerSchema.migrations.count))
        }
    }

    @Test("a pending migration is applied on a read-write open and recorded after the first")
    func laterMigrationApplied() throws {
        try withWorkspace { database in
            _ = try SQLiteEventStore.create(at: database.db)
            let connection = try Connection(path: database.db, mode: .readWrite)
            let extra = Migration(name: "9999_test_extra", sql: "CREATE TABLE test_extra(x INTEGER)")
            let migrator = Migrator(LedgerSchema.migrations + [extra])
            #expect(try migrator.pending(in: connection).map(\.name) == ["9999_test_extra"])
            #expect(try migrator.migrate(connection, at: .now()) == ["9999_test_extra"])
            #expect(try migrator.applied(in: connection) == LedgerSchema.migrations.map(\.name) + ["9999_test_extra"])
            #expect(try migrator.migrate(connection, at: .now()).isEmpty)
        }
    }

    @Test("schemas/events.sql is the SQL of the event-log migration")
    func schemaFileMatchesMigration() throws {
        let url = repositoryRoot().appendingPathComponent("schemas/events.sql")
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.trimmingCharacters(in: .whitespacesAndNewlines)
            == LedgerSchema.eventLog.sql.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test("the connection uses WAL, synchronous=FULL, foreign keys and a busy timeout")
    func pragmas() throws {
        try withNewLog { log, database in
            for connection in [log.connection, try Connection(path: database.db, mode: .readWrite)] {
                #expect(try connection.scalarString("PRAGMA journal_mode").lowercased() == "wal")
                #expect(try connection.scalarInt("PRAGMA synchronous") == 2)
                #expect(try connection.scalarInt("PRAGMA foreign_keys") == 1)
                #expect(try connection.scalarInt("PRAGMA busy_timeout") == 5_000)
            }
            let readOnly = try Connection(path: database.db, mode: .readOnly)
            #expect(try readOnly.scalarString("PRAGMA journal_mode").lowercased() == "wal")
            #expect(try readOnly.scalarInt("PRAGMA busy_timeout") > 0)
            let custom = try Connection(path: database.db, mode: .readWrite, busyTimeoutMilliseconds: 1234)
            #expect(try custom.scalarInt("PRAGMA busy_timeout") == 1234)
        }
    }
}
