/// Failures of the event log that a caller can act on.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    /// The database file does not exist.
    case databaseMissing(path: String)
    /// The file exists but is not a ClientLedger database (not SQLite, truncated, or foreign).
    case notALedger(path: String, reason: String)
    /// The stream's version was not the one expected: nothing was written.
    case conflict(stream: String, expected: ExpectedVersion, actual: Int64)
    /// Another connection held the database lock for longer than the busy timeout.
    case busy(String)
    /// An event id that is already stored arrived with a different stream, type or payload.
    case eventIdReused(eventId: String, position: Int64)
    /// `EventLog.write` was called inside another write on the same connection.
    case nestedWrite
    /// Any other SQLite failure.
    case sqlite(SQLiteError)

    public var description: String {
        switch self {
        case .databaseMissing(let path):
            return "no ledger database at \(path) (run `clientledger init` first, or pass --db)"
        case .notALedger(let path, let reason):
            return "\(path) is not a usable ClientLedger database: \(reason)"
        case .conflict(let stream, let expected, let actual):
            return "conflict on \(stream): expected version \(expected.description), found \(actual); nothing was written, retry after re-reading the stream"
        case .busy(let detail):
            return "the database is busy (another writer holds the lock): \(detail); retry"
        case .eventIdReused(let eventId, let position):
            return "eventId \(eventId) is already stored at position \(position) with a different stream, type or payload"
        case .nestedWrite:
            return "an event-log write cannot be nested inside another write on the same connection"
        case .sqlite(let error):
            return error.description
        }
    }

    /// Wraps a SQLite failure, turning lock timeouts into `busy`.
    public static func from(_ error: SQLiteError) -> StoreError {
        error.isBusy ? .busy(error.message) : .sqlite(error)
    }
}
