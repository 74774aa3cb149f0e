import Foundation
import LedgerDomain
import LedgerProjections
import LedgerCore
import LedgerSQLite
import LedgerStorage

// MARK: - The log, read directly

/// One stored event without `recorded_at` and `hash` (which depend on the clock): two clean
/// imports of the same input give equal rows.
struct LogRow: Equatable, Hashable, Sendable {
    var position: Int64
    var stream: String
    var version: Int64
    var eventId: String
    var type: String
    var schemaVersion: Int64
    var occurredAt: String
    var data: String
    var metadata: String

    static let decisionTypes: Set<String> = [
        "PointsAwarded", "PointsExpired", "TierChanged", "PointsCorrected", "CampaignEnrolled", "SuitabilityBreachFlagged",
    ]
    var isDecision: Bool { Self.decisionTypes.contains(type) }
    /// A fact of the input: not a decision, nor the rules adoption the ledger writes itself
    /// (stream `ledger/rules`, in a ledger's first write).
    var isFact: Bool { !isDecision && stream != "ledger/rules" }

    /// `metadata.causationId` of a decision.
    var causationId: String? { EventMetadata(json: metadata).causationId }

    var brief: String { "#\(position) \(stream) v\(version) \(type) \(eventId)" }
}

/// Every row of the log, in position order, read in one snapshot on a read-only connection.
func readLogRows(_ db: String) throws -> [LogRow] {
    let connection = try Connection(path: db, mode: .readOnly)
    return try connection.read { try readLogRows(connection) }
}

/// Every row of the log, in position order, on `connection` (inside the caller's transaction).
func readLogRows(_ connection: Connection) throws -> [LogRow] {
    let statement = try connection.prepare(
        """
        SELECT position, stream, version, event_id, type, schema_version, occurred_at, data, metadata
        FROM events ORDER BY position
        """)
    var rows: [LogRow] = []
    while try statement.step() {
        rows.append(LogRow(
            position: statement.int64(at: 0), stream: statement.string(at: 1), version: statement.int64(at: 2),
            eventId: statement.string(at: 3), type: statement.string(at: 4), schemaVersion: statement.int64(at: 5),
            occurredAt: statement.string(at: 6), data: statement.string(at: 7), metadata: statement.string(at: 8)))
    }
    return rows.map(comparable)
}

/// A row as two runs of the same input can be compared: a sealed personal field holds
/// ciphertext under a fresh key and nonce in each run, and the rules adoption of a ledger's
/// first write is dated when it happened, so both are blanked (`openedPersonalFields` in
/// HostileInputTests compares the names themselves).
func comparable(_ row: LogRow) -> LogRow {
    var row = row
    if row.stream == "ledger/rules" { row.occurredAt = "" }
    let marker = #"{"sealed":""#
    guard row.data.contains(marker) else { return row }
    var out = ""
    var rest = Substring(row.data)
    while let start = rest.range(of: marker) {
        out += rest[..<start.upperBound]
        rest = rest[start.upperBound...]
        if let end = rest.firstIndex(of: "\"") { rest = rest[end...] }
        out += "…"
    }
    row.data = out + rest
    return row
}

/// Problems with the shape of a log: positions 1…n without gaps, versions 1…k per stream.
func logShapeProblems(_ rows: [LogRow]) -> [String] {
    var problems: [String] = []
    var versions: [String: Int64] = [:]
    var ids = Set<String>()
    for (index, row) in rows.enumerated() {
        if row.position != Int64(index + 1) {
            problems.append("position \(index + 1) holds \(row.position): positions are not gap-free")
            break
        }
        let expected = (versions[row.stream] ?? 0) + 1
        if row.version != expected {
            problems.append("\(row.brief): expected version \(expected) of \(row.stream)")
            break
        }
        versions[row.stream] = row.version
        if !ids.insert(row.eventId).inserted {
            problems.append("\(row.brief): event id stored twice")
            break
        }
    }
    return problems
}

/// Problems with whole transactions: each decision's cause is stored, and a cause and all the
/// decisions it caused occupy one contiguous run of positions (they are written together).
func transactionProblems(_ rows: [LogRow]) -> [String] {
    var problems: [String] = []
    var positionOfFact: [String: Int64] = [:]
    for row in rows where !row.isDecision { positionOfFact[row.eventId] = row.position }
    for row in rows where row.isDecision {
        guard let cause = row.causationId else {
            problems.append("\(row.brief): a decision without causationId")
            continue
        }
        // Decisions of periodic jobs are caused by a job run, not by a stored fact.
        guard let factPosition = positionOfFact[cause] else { continue }
        let low = min(factPosition, row.position)
        let high = max(factPosition, row.position)
        for between in rows[Int(low - 1)...Int(high - 1)] where between.eventId != cause && between.causationId != cause {
            problems.append("\(row.brief) (caused by #\(factPosition)) is separated from its cause by \(between.brief)")
            break
        }
        if problems.count > 5 { break }
    }
    return problems
}

// MARK: - Projection tables

/// The projection tables compared between two databases.
let projectionTables = ["membership", "membership_tier_history", "retention_clients", "retention_months", "eligibility"]

/// Columns whose values depend on the moment the rows were computed for (the clock).
/// `points_available` is one: a lot that has ended by the row's `asOf` is not available.
let clockDependentColumns: Set<String> = [
    "as_of", "rules_tier", "points_available", "points_expiring_90d", "points_qualifying", "eligible", "failed_checks",
]

/// Every row of each projection table as text (NULL as "∅"), in a total order. With
/// `excludingClockColumns`, the columns that depend on the as-of moment are left out.
func projectionRows(_ db: String, excludingClockColumns: Bool) throws -> [String: [[String]]] {
    let connection = try Connection(path: db, mode: .readOnly)
    return try connection.read {
        var result: [String: [[String]]] = [:]
        for table in projectionTables {
            let info = try connection.prepare("SELECT name FROM pragma_table_info('\(table)') ORDER BY cid")
            var columns: [String] = []
            while try info.step() { columns.append(info.string(at: 0)) }
            if excludingClockColumns { columns.removeAll { clockDependentColumns.contains($0) } }
            guard !columns.isEmpty else {
                result[table] = []
                continue
            }
            let list = columns.map { "\"\($0)\"" }.joined(separator: ", ")
            let statement = try connection.prepare("SELECT \(list) FROM \(table) ORDER BY \(list)")
            var rows: [[String]] = []
            while try statement.step() {
                rows.append((0..<columns.count).map { statement.optionalString(at: Int32($0)) ?? "∅" })
            }
            result[table] = [columns] + rows
        }
        return result
    }
}

/// Names and positions of the projection checkpoints.
struct CheckpointRow: Equatable, Sendable {
    var name: String
    var position: Int64
    var rulesVersion: String
    var builtAt: String
}

func checkpointRows(_ db: String) throws -> [CheckpointRow] {
    let connection = try Connection(path: db, mode: .readOnly)
    let statement = try connection.prepare(
        "SELECT name, position, rules_version, built_at FROM projection_checkpoints ORDER BY name")
    var rows: [CheckpointRow] = []
    while try statement.step() {
        rows.append(CheckpointRow(
            name: statement.string(at: 0), position: statement.int64(at: 1), rulesVersion: statement.string(at: 2),
            builtAt: statement.string(at: 3)))
    }
    return rows
}

/// Tables whose name says they are a half-built rebuild (`…__new`).
func leftoverRebuildTables(_ db: String) throws -> [String] {
    let connection = try Connection(path: db, mode: .readOnly)
    let statement = try connection.prepare("SELECT name FROM sqlite_master WHERE instr(name, '__new') > 0 ORDER BY name")
    var names: [String] = []
    while try statement.step() { names.append(statement.string(at: 0)) }
    return names
}

/// A short description of the first difference between two projections.
func firstDifference(_ left: [String: [[String]]], _ right: [String: [[String]]]) -> String? {
    for table in projectionTables {
        let a = left[table] ?? []
        let b = right[table] ?? []
        if a == b { continue }
        if a.count != b.count { return "\(table): \(a.count - 1) rows vs \(b.count - 1)" }
        for (index, (x, y)) in zip(a, b).enumerated() where x != y {
            return "\(table) row \(index): \(x) vs \(y)"
        }
    }
    return nil
}

/// Rebuilds the projections in-process with a fixed as-of moment, so that every column,
/// `as_of` included, is comparable between databases.
func rebuildProjections(_ db: String, asOf: Timestamp) throws {
    let log = try SQLiteEventStore(path: db, readOnly: false)
    let engine = try ProjectionEngine(store: log.projectionStore(), rules: try Rules.defaults(), asOf: asOf)
    try engine.rebuild()
}

/// A setup step of a trial that could not be done (not a finding about the ledger).
struct TrialFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
