import Foundation
import Testing
import LedgerTestSupport

@testable import LedgerCore
import LedgerSQLite
import LedgerStorage

// MARK: - Reading the log directly

/// Every row of `events`, each column as text (the hash as hex), in position order, plus the count.
struct LogSnapshot: Equatable, CustomStringConvertible {
    var rows: [[String]]
    var count: Int64
    var description: String { "\(count) events" }
}

func snapshot(_ db: String) throws -> LogSnapshot {
    let connection = try Connection(path: db, mode: .readOnly)
    return try connection.read {
        // Every column of the table is listed; a test below checks there are no others.
        let statement = try connection.prepare(
            """
            SELECT position, stream, version, event_id, type, schema_version, occurred_at, recorded_at,
                   data, metadata, hex(hash) FROM events ORDER BY position
            """)
        var rows: [[String]] = []
        while try statement.step() {
            rows.append((0..<11).map { statement.string(at: Int32($0)) })
        }
        let count = try connection.scalarInt("SELECT count(*) FROM events")
        return LogSnapshot(rows: rows, count: count)
    }
}

/// Number of columns of the events table (the snapshot reads 11).
func eventColumnCount(_ db: String) throws -> Int64 {
    let connection = try Connection(path: db, mode: .readOnly)
    return try connection.scalarInt("SELECT count(*) FROM pragma_table_info('events')")
}

/// Events of client and campaign streams matching `condition`: what inputs and policies wrote.
/// The rules adoptions (`ledger/rules`, written by the ledger's first write and `rules adopt`)
/// are counted only with `includingRules`.
func eventCount(_ db: String, where condition: String = "1", _ bindings: [String] = [], includingRules: Bool = false) throws -> Int64 {
    let connection = try Connection(path: db, mode: .readOnly)
    let rules = includingRules ? "1" : "stream IS NOT 'ledger/rules'"
    return try connection.scalarInt("SELECT count(*) FROM events WHERE \(rules) AND (\(condition))", bindings)
}

/// One stored event, looked up by id.
struct StoredRow {
    var position: Int64
    var stream: String
    var type: String
    var data: String
    var metadata: String
}

func storedEvent(_ db: String, id: String) throws -> StoredRow? {
    let connection = try Connection(path: db, mode: .readOnly)
    let statement = try connection.prepare("SELECT position, stream, type, data, metadata FROM events WHERE event_id = ?")
    statement.bind(id, at: 1)
    guard try statement.step() else { return nil }
    return StoredRow(
        position: statement.int64(at: 0), stream: statement.string(at: 1), type: statement.string(at: 2),
        data: statement.string(at: 3), metadata: statement.string(at: 4))
}

// MARK: - Files of the repository and of the test bundle

/// The bad-input corpus directory copied into the test bundle.
func badInputDirectory() throws -> URL {
    try #require(Bundle.module.url(forResource: "BadInput", withExtension: nil), "BadInput is missing from the test bundle")
}

/// Parses JSON text into Foundation values.
func parseJSON(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
}
