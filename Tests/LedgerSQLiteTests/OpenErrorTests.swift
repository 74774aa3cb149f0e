import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerCore
import LedgerSQLite
import LedgerStorage

@Suite("Opening files that are not usable ledgers")
struct OpenErrorTests {
    @Test("opening a missing file throws databaseMissing and creates nothing", arguments: [true, false])
    func missingFile(readOnly: Bool) throws {
        try withWorkspace { database in
            let error = expectError(StorageError.self) { _ = try SQLiteEventStore(path: database.db, readOnly: readOnly) }
            guard case .databaseMissing(let path)? = error else {
                Issue.record("expected databaseMissing, got \(String(describing: error))")
                return
            }
            #expect(path == database.db)
            #expect(!FileManager.default.fileExists(atPath: database.db))
        }
    }

    @Test("a file of random bytes throws notALedger", arguments: [true, false])
    func randomBytes(readOnly: Bool) throws {
        try withWorkspace { database in
            var generator = SystemRandomNumberGenerator()
            var noise = (0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) }
            noise[0] = UInt8(ascii: "X")  // never the SQLite header by chance
            try Data(noise).write(to: URL(fileURLWithPath: database.db))
            let error = expectError(StorageError.self) { _ = try SQLiteEventStore(path: database.db, readOnly: readOnly) }
            guard case .notALedger(let path, _)? = error else {
                Issue.record("expected notALedger, got \(String(describing: error))")
                return
            }
            #expect(path == database.db)
            // Nothing was written into the file.
            #expect(try Data(contentsOf: URL(fileURLWithPath: database.db)) == Data(noise))
        }
    }

    @Test("a text file throws notALedger")
    func textFile() throws {
        try withWorkspace { database in
            try Data("not a database, just some words\n".utf8).write(to: URL(fileURLWithPath: database.db))
            let error = expectError(StorageError.self) { _ = try SQLiteEventStore(path: database.db, readOnly: true) }
            guard case .notALedger? = error else {
                Issue.record("expected notALedger, got \(String(describing: error))")
                return
            }
        }
    }

    @Test("a truncated copy of a real ledger gives an error, not a crash")
    func truncatedFile() throws {
        try withWorkspace { database in
            do {
                let (log, _) = try SQLiteEventStore.create(at: database.db)
                let padding = String(repeating: "x", count: 900)
                for batch in 0..<10 {
                    try log.append((0..<30).map { index in
                        clientEvent("C\(batch)", data: #"{"note":"\#(index) \#(padding)"}"#)
                    })
                }
                // Move the WAL into the main file so the copy holds every event.
                try log.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            }
            let original = try Data(contentsOf: URL(fileURLWithPath: database.db))
            #expect(original.count > 100_000)
            let copy = database.path("truncated.sqlite")
            try original.prefix(original.count / 2).write(to: URL(fileURLWithPath: copy))

            // Opening may succeed (the first page is intact) but reading the whole log must fail
            // with a typed error.
            var failure: (any Error)?
            do {
                let log = try SQLiteEventStore(path: copy, readOnly: true)
                let report = try log.verifyChain()
                _ = try log.events(.all)
                if !report.isIntact { failure = ChainBroken() }
            } catch {
                failure = error
            }
            let error = try #require(failure, "a ledger cut in half read back without any error")
            #expect(error is StorageError || error is SQLiteError, "unexpected error type: \(error)")
            if let error = error as? SQLiteError { #expect(error.isNotADatabase, "\(error)") }
        }
    }

    struct ChainBroken: Error {}

    @Test("a plain SQLite database without the ledger schema throws notALedger and is left untouched", arguments: [true, false])
    func foreignDatabase(readOnly: Bool) throws {
        try withWorkspace { database in
            do {
                let other = try Connection(path: database.db, mode: .create)
                try other.execute("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers(name) VALUES ('x')")
            }
            let error = expectError(StorageError.self) { _ = try SQLiteEventStore(path: database.db, readOnly: readOnly) }
            guard case .notALedger(let path, _)? = error else {
                Issue.record("expected notALedger, got \(String(describing: error))")
                return
            }
            #expect(path == database.db)
            let check = try Connection(path: database.db, mode: .readOnly)
            #expect(try check.scalarInt("SELECT count(*) FROM sqlite_master WHERE name IN ('events', 'schema_migrations')") == 0)
            #expect(try check.scalarInt("SELECT count(*) FROM customers") == 1)
        }
    }

    @Test("create on an existing SQLite database of another program refuses it and adds no tables")
    func createOnForeignDatabase() throws {
        try withWorkspace { database in
            do {
                let other = try Connection(path: database.db, mode: .create)
                try other.execute("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT)")
            }
            let error = expectError(StorageError.self) { _ = try SQLiteEventStore.create(at: database.db) }
            if let error {
                guard case .notALedger = error else {
                    Issue.record("expected notALedger, got \(error)")
                    return
                }
            }
            let check = try Connection(path: database.db, mode: .readOnly)
            #expect(try check.scalarInt("SELECT count(*) FROM sqlite_master WHERE name IN ('events', 'ledger_info', 'schema_migrations')") == 0)
        }
    }

    @Test("create on an empty (zero-byte) file makes it a ledger")
    func createOnEmptyFile() throws {
        try withWorkspace { database in
            #expect(FileManager.default.createFile(atPath: database.db, contents: Data()))
            let (log, _) = try SQLiteEventStore.create(at: database.db)
            #expect(try log.verifyChain().isIntact)
            #expect(try Migrator(LedgerSchema.migrations).pending(in: log.connection).isEmpty)
        }
    }

    @Test("an empty SQLite file (zero bytes) opened read-only is not a ledger")
    func emptyFileReadOnly() throws {
        try withWorkspace { database in
            #expect(FileManager.default.createFile(atPath: database.db, contents: Data()))
            let error = expectError(StorageError.self) { _ = try SQLiteEventStore(path: database.db, readOnly: true) }
            guard case .notALedger? = error else {
                Issue.record("expected notALedger, got \(String(describing: error))")
                return
            }
        }
    }

    @Test("a ledger opens read-only, and a read-only log refuses to write")
    func readOnlyRefusesWrites() throws {
        try withWorkspace { database in
            do {
                let (log, _) = try SQLiteEventStore.create(at: database.db)
                try log.append([clientEvent("A")])
            }
            let log = try SQLiteEventStore(path: database.db, readOnly: true)
            #expect(try log.events(.all).count == 1)
            expectError((any Error).self) { try log.append([clientEvent("B")]) }
            #expect(try eventCount(database.db) == 1)
        }
    }
}
