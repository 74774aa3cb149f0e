/// Failures of a storage backend, in kinds a caller can act on whatever the database is.
///
/// Adapters classify their own failures into these kinds (a unique-constraint failure on
/// `(stream, version)` becomes `conflict`, a lock timeout `busy`); callers never look at a
/// backend's message text to decide what happened.
public enum StorageError: Error, CustomStringConvertible, Sendable {
    /// The database does not exist.
    case databaseMissing(location: String)
    /// It exists but cannot be opened here (not permitted, or not readable without rights the
    /// user lacks); `reason` says which.
    case cannotOpen(location: String, reason: String)
    /// It exists but is not a ClientLedger database (not a database, truncated, or foreign).
    case notALedger(location: String, reason: String)
    /// Written by a newer program (migrations this one does not know): it is not written to.
    case schemaNewer(location: String, unknown: [String])
    /// The append-only guards (triggers, privileges) are missing or altered: nothing is
    /// written until they are restored, since the log could no longer prove it is unaltered.
    case appendOnlyGuardsMissing(location: String, missing: [String])
    /// The stream's version was not the one expected: nothing was written.
    case conflict(stream: String, expected: ExpectedVersion, actual: Int64)
    /// Another writer held the database for longer than the busy timeout.
    case busy(String)
    /// The connection to a database server was lost: what was not committed is rolled back by
    /// the server; a retry recognises events already stored by their eventId.
    case connectionLost(location: String)
    /// An event id that is already stored arrived with a different stream, type or payload.
    case eventIdReused(eventId: String, position: Int64)
    /// A write was asked of a store opened read-only, or of a database the user may only read.
    case readOnly(location: String)
    /// The disk or the database's size limit is full: the transaction was rolled back.
    case full(location: String)
    /// Stored data that cannot be read back (a damaged file, an event the program cannot decode).
    case corrupt(String)
    /// A write was begun inside another write on the same store.
    case nestedWrite
    /// Any other failure of the backend, with its own description (never the statement text).
    case backend(String)

    public var description: String {
        switch self {
        case .databaseMissing(let location):
            return "no ledger database at \(location) (run `clientledger init` first, or pass --db)"
        case .cannotOpen(let location, let reason):
            return "cannot open the ledger \(location): \(reason)"
        case .notALedger(let location, let reason):
            return "\(location) is not a usable ClientLedger database: \(reason)"
        case .schemaNewer(let location, let unknown):
            return "\(location) was written by a newer ClientLedger (schema \(unknown.joined(separator: ", ")) is unknown to this program); upgrade the program, nothing was written"
        case .appendOnlyGuardsMissing(let location, let missing):
            return "\(location): the append-only guards \(missing.joined(separator: ", ")) are missing or altered; the log can no longer be trusted, so nothing is written (run `clientledger audit verify`)"
        case .conflict(let stream, let expected, let actual):
            return "conflict on \(stream): expected version \(expected.description), found \(actual); nothing was written, retry after re-reading the stream"
        case .connectionLost(let location):
            return "the connection to the database server \(location) was lost: what was not committed was rolled back; retry (events already stored are recognised by their eventId)"
        case .busy(let detail):
            return "the database is busy (another writer holds the lock): \(detail); retry"
        case .eventIdReused(let eventId, let position):
            return "eventId \(eventId) is already stored at position \(position) with a different stream, type or payload"
        case .readOnly(let location):
            return "\(location) can only be read here (read-only file, folder or medium): nothing was written"
        case .full(let location):
            return "the disk holding \(location) is full: the transaction was rolled back, nothing was written"
        case .corrupt(let detail):
            return "the ledger holds data this program cannot read: \(detail)"
        case .nestedWrite:
            return "a write cannot be nested inside another write on the same store"
        case .backend(let detail):
            return detail
        }
    }
}
