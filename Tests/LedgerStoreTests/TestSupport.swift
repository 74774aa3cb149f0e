import Foundation
import Testing

@testable import LedgerStore

/// A fresh database file under the temporary directory, removed (with its `-wal` and `-shm`
/// companions) when the test is done.
struct TemporaryDatabase {
    let directory: URL
    let path: String

    init(name: String = "ledger.sqlite") throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("LedgerStoreTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent(name).path
    }

    /// Another path in the same directory (for copies).
    func sibling(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Runs `body` with a fresh temporary database path; always cleans up.
func withTemporaryDatabase<R>(_ body: (TemporaryDatabase) throws -> R) throws -> R {
    let database = try TemporaryDatabase()
    defer { database.remove() }
    return try body(database)
}

/// Runs `body` with a newly created ledger in a fresh temporary file.
func withNewLog<R>(_ body: (EventLog, TemporaryDatabase) throws -> R) throws -> R {
    try withTemporaryDatabase { database in
        let (log, created) = try EventLog.create(at: database.path)
        #expect(created)
        return try body(log, database)
    }
}

/// A client event with a fresh id.
func clientEvent(
    _ client: String, type: String = "InteractionLogged", at occurredAt: String = "2026-03-02T09:31:00Z",
    data: String = #"{"channel":"app","kind":"inquiry"}"#, id: String = EventID.random()
) -> NewEvent {
    NewEvent(
        eventId: id, stream: "client/\(client)", type: type,
        occurredAt: Timestamp(iso8601: occurredAt) ?? Timestamp(millisecondsSinceEpoch: 0),
        data: data, metadata: #"{"actor":"test"}"#)
}

/// Number of rows in `events`, read through a connection of its own.
func eventCount(_ path: String) throws -> Int64 {
    let connection = try Connection(path: path, mode: .readOnly)
    return try connection.scalarInt("SELECT count(*) FROM events")
}

/// The repository root, found from this source file's path.
func repositoryRoot(_ filePath: String = #filePath) -> URL {
    URL(fileURLWithPath: filePath)
        .deletingLastPathComponent()  // LedgerStoreTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()
}

/// POSIX permission bits of a file.
func permissions(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
}

/// The error of type `E` that `body` throws; records an issue (and returns nil) when `body`
/// throws nothing or something else.
///
/// Used instead of `#expect(throws:)`: Swift 6.3.1 miscompiles some `#expect(throws:)` closures
/// nested in other closures (a later, unrelated `try` then rethrows the expected error).
@discardableResult
func expectError<E: Error>(
    _ errorType: E.Type, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) -> E? {
    do {
        try body()
    } catch let error as E {
        return error
    } catch {
        Issue.record("expected \(E.self), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
    Issue.record("expected \(E.self) to be thrown, nothing was thrown", sourceLocation: sourceLocation)
    return nil
}
