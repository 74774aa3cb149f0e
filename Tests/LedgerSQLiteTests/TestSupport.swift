import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerCore
import LedgerSQLite
import LedgerStorage

/// Runs `body` with a newly created ledger in a fresh temporary file.
func withNewLog<R>(_ body: (SQLiteEventStore, Workspace) throws -> R) throws -> R {
    try withWorkspace { database in
        let (log, created) = try SQLiteEventStore.create(at: database.db)
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

