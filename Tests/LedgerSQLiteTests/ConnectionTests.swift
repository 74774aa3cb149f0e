import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerCore
import LedgerSQLite
import LedgerStorage

@Suite("Connection transactions")
struct ConnectionTests {
    struct Refused: Error, Equatable { var reason: String }

    static func open(_ database: Workspace) throws -> Connection {
        let connection = try Connection(path: database.db, mode: .create)
        try connection.execute("CREATE TABLE items(name TEXT NOT NULL UNIQUE)")
        return connection
    }

    static func names(_ connection: Connection) throws -> [String] {
        let statement = try connection.prepare("SELECT name FROM items ORDER BY rowid")
        var names: [String] = []
        while try statement.step() { names.append(statement.string(at: 0)) }
        return names
    }

    static func insert(_ connection: Connection, _ name: String) throws {
        let statement = try connection.cached("INSERT INTO items(name) VALUES (?)")
        statement.bind(name, at: 1)
        try statement.run()
    }

    @Test("a committed write is visible to another connection")
    func commits() throws {
        try withWorkspace { database in
            let connection = try Self.open(database)
            let result = try connection.write { () throws -> Int in
                try Self.insert(connection, "a")
                #expect(connection.isInTransaction)
                return 7
            }
            #expect(result == 7)
            #expect(!connection.isInTransaction)
            let other = try Connection(path: database.db, mode: .readOnly)
            #expect(try Self.names(other) == ["a"])
        }
    }

    @Test("an error thrown by the body rolls everything back and is rethrown as is")
    func thrownErrorRollsBack() throws {
        try withWorkspace { database in
            let connection = try Self.open(database)
            try Self.insert(connection, "kept")
            let error = expectError(Refused.self) {
                try connection.write {
                    try Self.insert(connection, "b")
                    try Self.insert(connection, "c")
                    throw Refused(reason: "stop")
                }
            }
            #expect(error == Refused(reason: "stop"))
            #expect(!connection.isInTransaction)
            #expect(try Self.names(connection) == ["kept"])
            // The connection is usable afterwards.
            try connection.write { try Self.insert(connection, "d") }
            #expect(try Self.names(connection) == ["kept", "d"])
        }
    }

    @Test("a failing statement inside the body rolls back and keeps SQLite's own error")
    func sqliteErrorRollsBack() throws {
        try withWorkspace { database in
            let connection = try Self.open(database)
            let error = expectError(SQLiteError.self) {
                try connection.write {
                    try Self.insert(connection, "x")
                    try Self.insert(connection, "x")  // UNIQUE violation
                }
            }
            #expect(error?.isUniqueViolation == true)
            #expect(error?.message.contains("UNIQUE") == true)
            #expect(error?.sql?.contains("INSERT INTO items") == true)
            #expect(try Self.names(connection).isEmpty)
        }
    }

    @Test("a nested write that fails rolls back only itself; the outer work commits")
    func nestedSavepointRollback() throws {
        try withWorkspace { database in
            let connection = try Self.open(database)
            try connection.write {
                try Self.insert(connection, "outer-1")
                let inner = expectError(Refused.self) {
                    try connection.write {
                        try Self.insert(connection, "inner")
                        #expect(try Self.names(connection) == ["outer-1", "inner"])
                        throw Refused(reason: "inner")
                    }
                }
                #expect(inner == Refused(reason: "inner"))
                #expect(connection.isInTransaction)
                try Self.insert(connection, "outer-2")
            }
            #expect(!connection.isInTransaction)
            let other = try Connection(path: database.db, mode: .readOnly)
            #expect(try Self.names(other) == ["outer-1", "outer-2"])
        }
    }

    @Test("a nested write that succeeds is committed with the outer one, or rolled back with it")
    func nestedSavepointRelease() throws {
        try withWorkspace { database in
            let connection = try Self.open(database)
            try connection.write {
                try Self.insert(connection, "a")
                try connection.write {
                    try Self.insert(connection, "b")
                    try connection.write { try Self.insert(connection, "c") }
                }
            }
            #expect(try Self.names(connection) == ["a", "b", "c"])
            expectError(Refused.self) {
                try connection.write {
                    try connection.write { try Self.insert(connection, "d") }
                    throw Refused(reason: "outer")
                }
            }
            #expect(try Self.names(connection) == ["a", "b", "c"])
            #expect(!connection.isInTransaction)
        }
    }

    @Test("a write takes the lock at once: a second writer times out as busy")
    func secondWriterBusy() throws {
        try withWorkspace { database in
            let first = try Self.open(database)
            let second = try Connection(path: database.db, mode: .readWrite, busyTimeoutMilliseconds: 50)
            try first.write {
                let error = expectError(SQLiteError.self) {
                    try second.write { try Self.insert(second, "late") }
                }
                #expect(error?.isBusy == true)
                #expect(StorageError(try #require(error), location: "test").description.contains("busy"))
                try Self.insert(first, "first")
            }
            #expect(try Self.names(second) == ["first"])
        }
    }

    @Test("read sees one snapshot and leaves no transaction open")
    func readSnapshot() throws {
        try withWorkspace { database in
            let writer = try Self.open(database)
            try Self.insert(writer, "a")
            let reader = try Connection(path: database.db, mode: .readOnly)
            try reader.read {
                #expect(try Self.names(reader) == ["a"])
                try Self.insert(writer, "b")
                #expect(try Self.names(reader) == ["a"])
            }
            #expect(!reader.isInTransaction)
            #expect(try Self.names(reader) == ["a", "b"])
        }
    }

    @Test("a read-only connection cannot write")
    func readOnlyCannotWrite() throws {
        try withWorkspace { database in
            _ = try Self.open(database)
            let reader = try Connection(path: database.db, mode: .readOnly)
            let error = expectError(SQLiteError.self) { try reader.execute("INSERT INTO items(name) VALUES ('x')") }
            #expect(error?.primaryCode == 8)  // SQLITE_READONLY
        }
    }
}
