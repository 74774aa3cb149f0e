import LedgerCore
import LedgerStorage

/// The small integers the lean stored form gives streams, event types and rules versions,
/// cached in both directions. The catalogue tables are append-only, so a cached entry never
/// goes stale; entries added by a transaction become visible to later ones only when it
/// commits (`commit`), and are forgotten when it rolls back (`rollback`).
///
/// Event types and rules versions are few; streams are one a client, so their cache is
/// bounded: past `streamLimit` names (committed, or added by the open transaction) it starts
/// again empty, and a name not cached is read from the table (on the writer's connection that
/// sees its own transaction's). An import of a million clients would otherwise hold every
/// stream's name twice over, about 100 MB. A scan of the whole log that asks for every
/// stream (`loadAllStreams`) keeps them all for as long as it needs them.
final class Catalog {
    /// Stream names cached at most, in each direction (about 3 MB a direction); tests make
    /// it small.
    var streamLimit = 1 << 16

    struct Table {
        let name: String
        let column: String
        var ids: [String: Int64] = [:]
        var names: [Int64: String] = [:]
        var pending: [String: Int64] = [:]
    }

    private(set) var streams = Table(name: "streams", column: "name")
    private(set) var types = Table(name: "event_types", column: "name")
    private(set) var rules = Table(name: "rules_versions", column: "version")
    /// Whether every stream is cached (after `loadAllStreams`).
    private var allStreamsLoaded = false

    enum Kind { case stream, type, rules }

    private func table(_ kind: Kind) -> Table {
        switch kind {
        case .stream: return streams
        case .type: return types
        case .rules: return rules
        }
    }

    private func update(_ kind: Kind, _ change: (inout Table) -> Void) {
        switch kind {
        case .stream: change(&streams)
        case .type: change(&types)
        case .rules: change(&rules)
        }
    }

    /// The id of a name, nil when it has none yet.
    func id(of name: String, _ kind: Kind, on connection: Connection) throws -> Int64? {
        let table = table(kind)
        if let id = table.ids[name] ?? table.pending[name] { return id }
        let statement = try connection.cached("SELECT id FROM \(table.name) WHERE \(table.column) = ?")
        defer { statement.reset() }
        statement.bind(name, at: 1)
        guard try statement.step() else { return nil }
        let id = statement.int64(at: 0)
        cache(name, id, kind)
        return id
    }

    /// The id of a name, adding it (inside the caller's write transaction) when it is new.
    func id(adding name: String, _ kind: Kind, on connection: Connection) throws -> Int64 {
        if let id = try id(of: name, kind, on: connection) { return id }
        let table = table(kind)
        let insert = try connection.cached("INSERT INTO \(table.name)(\(table.column)) VALUES (?)")
        insert.bind(name, at: 1)
        try insert.run()
        let id = connection.lastInsertedRowID
        let bounded = kind == .stream, limit = streamLimit
        update(kind) { table in
            // A name dropped from `pending` is found again in the table, inside the transaction.
            if bounded, table.pending.count >= limit { table.pending.removeAll(keepingCapacity: true) }
            table.pending[name] = id
        }
        return id
    }

    /// The name of an id.
    func name(of id: Int64, _ kind: Kind, on connection: Connection) throws -> String? {
        let table = table(kind)
        if let name = table.names[id] { return name }
        if let pending = table.pending.first(where: { $0.value == id }) { return pending.key }
        if kind == .stream, allStreamsLoaded { return nil }
        let statement = try connection.cached("SELECT \(table.column) FROM \(table.name) WHERE id = ?")
        defer { statement.reset() }
        statement.bind(id, at: 1)
        guard try statement.step() else { return nil }
        let name = statement.string(at: 0)
        cache(name, id, kind)
        return name
    }

    /// Caches a name read from its table; the stream cache starts again past its bound.
    private func cache(_ name: String, _ id: Int64, _ kind: Kind) {
        let bounded = kind == .stream && !allStreamsLoaded, limit = streamLimit
        update(kind) { table in
            if bounded, table.ids.count >= limit {
                table.ids.removeAll(keepingCapacity: true)
                table.names.removeAll(keepingCapacity: true)
            }
            table.ids[name] = id
            table.names[id] = name
        }
    }

    /// Caches every stream at once, for a scan of the whole log.
    func loadAllStreams(on connection: Connection) throws {
        guard !allStreamsLoaded else { return }
        let statement = try connection.prepare("SELECT id, name FROM streams")
        while try statement.step() {
            let id = statement.int64(at: 0)
            let name = statement.string(at: 1)
            streams.ids[name] = id
            streams.names[id] = name
        }
        allStreamsLoaded = true
    }

    /// The write transaction that added entries committed: they are real now.
    func commit() throws {
        for kind in [Kind.stream, .type, .rules] {
            let pending = table(kind).pending
            update(kind) { $0.pending = [:] }
            for (name, id) in pending { cache(name, id, kind) }
        }
    }

    /// The write transaction rolled back: its entries never existed. Streams read from the
    /// table inside it may have been its own, so the stream cache starts again.
    func rollback() {
        for kind in [Kind.stream, .type, .rules] { update(kind) { $0.pending = [:] } }
        update(.stream) { $0.ids = [:]; $0.names = [:] }
        allStreamsLoaded = false
    }
}

@available(*, unavailable)
extension Catalog: Sendable {}

/// Inserts rows into `log` in the lean form, inside an open write transaction.
final class RowInserter {
    struct Row {
        var position: Int64
        var stream: String
        var version: Int64
        var eventId: String
        var type: String
        var schemaVersion: Int64
        var occurredMs: Int64
        var recordedMs: Int64
        var data: String
        var metadata: String
        var hash: [UInt8]
    }

    let connection: Connection
    let catalog: Catalog
    private let insert: Statement
    /// Positions of the ids this inserter wrote last: a decision's cause is almost always
    /// among them, so its position is found without a lookup.
    private var recent: [String: Int64] = [:]
    private var recentOrder: [String] = []

    init(connection: Connection, catalog: Catalog) throws {
        self.connection = connection
        self.catalog = catalog
        insert = try connection.cached(
            """
            INSERT INTO log(position, stream_id, version, event_id, type_id, schema_version, occurred_ms, recorded_ms,
                            data, metadata, cause_position, correlation, rules_id, hash)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
            """)
    }

    /// The position of a stored (or just written) event id.
    func position(of eventId: String) throws -> Int64? {
        if let known = recent[eventId] { return known }
        let lookup = try connection.cached("SELECT position FROM log WHERE event_id = ?")
        defer { lookup.reset() }
        CompactForm.bindId(eventId, to: lookup, at: 1)
        return try lookup.step() ? lookup.int64(at: 0) : nil
    }

    func insert(_ row: Row) throws {
        insert.bind(row.position, at: 1)
        insert.bind(try catalog.id(adding: row.stream, .stream, on: connection), at: 2)
        insert.bind(row.version, at: 3)
        CompactForm.bindId(row.eventId, to: insert, at: 4)
        insert.bind(try catalog.id(adding: row.type, .type, on: connection), at: 5)
        insert.bind(row.schemaVersion, at: 6)
        insert.bind(row.occurredMs, at: 7)
        insert.bind(row.recordedMs, at: 8)
        insert.bind(row.data, at: 9)
        if let decision = CompactForm.DecisionMetadata(row.metadata), let cause = try position(of: decision.cause) {
            insert.bindNull(at: 10)
            insert.bind(cause, at: 11)
            insert.bind(decision.correlation, at: 12)
            insert.bind(try catalog.id(adding: decision.rulesVersion, .rules, on: connection), at: 13)
        } else {
            insert.bind(row.metadata, at: 10)
            insert.bindNull(at: 11)
            insert.bindNull(at: 12)
            insert.bindNull(at: 13)
        }
        insert.bind(row.hash, at: 14)
        try insert.run()
        recent[row.eventId] = row.position
        recentOrder.append(row.eventId)
        if recentOrder.count > 256 {
            for id in recentOrder.prefix(128) { recent[id] = nil }
            recentOrder.removeFirst(128)
        }
    }
}

@available(*, unavailable)
extension RowInserter: Sendable {}
