import LedgerCore
import LedgerStorage

/// The projection tables in the ledger's own SQLite file, on the event store's connection:
/// a projection write is one SQLite transaction that also sees the log.
public final class SQLiteProjectionStore: ProjectionStore {
    let store: SQLiteEventStore
    private var connection: Connection { store.connection }
    public var log: any EventStore { store }

    init(store: SQLiteEventStore) {
        self.store = store
    }

    public func isInstalled() throws -> Bool {
        try store.mapped { try connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE name = 'projection_checkpoints'") == 1 }
    }

    public func missingTables() throws -> [String] {
        guard try isInstalled() else { return [] }
        return try store.mapped {
            let statement = try connection.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            var present: Set<String> = []
            while try statement.step() { present.insert(statement.string(at: 0)) }
            return SQLiteProjectionTransaction.allTables.filter { !present.contains($0) }
        }
    }

    public func install() throws {
        guard !store.isReadOnly else { return }
        _ = try store.mapped { try Migrator(ProjectionSchema.migrations).migrate(connection, at: store.clock.now()) }
    }

    public func checkpoints() throws -> [ProjectionCheckpoint] {
        try store.mapped {
            let statement = try connection.prepare(
                "SELECT name, position, rules_version, built_at FROM projection_checkpoints ORDER BY name")
            var result: [ProjectionCheckpoint] = []
            while try statement.step() {
                result.append(ProjectionCheckpoint(
                    name: statement.string(at: 0), position: statement.int64(at: 1),
                    rulesVersion: statement.string(at: 2), builtAt: statement.string(at: 3)))
            }
            return result
        }
    }

    public func foldCount() throws -> Int {
        try store.mapped { Int(try connection.scalarInt("SELECT count(*) FROM projection_fold")) }
    }

    public func write<R>(_ body: (any ProjectionTransaction) throws -> R) throws -> R {
        guard !store.isReadOnly else { throw StorageError.readOnly(location: store.path) }
        return try store.mapped {
            try connection.write { try body(SQLiteProjectionTransaction(connection: connection)) }
        }
    }

    public func read<R>(_ body: () throws -> R) throws -> R {
        try store.read(body)
    }

    public func useSmallCache(_ small: Bool) throws {
        try store.mapped { try connection.execute(small ? "PRAGMA cache_size=-32768" : "PRAGMA cache_size=-262144") }
    }

    public func releaseMemory() {
        connection.releaseMemory()
    }

    // MARK: - Queries

    public func membership(client: String?, tier: String?) throws -> [MembershipRecord] {
        try store.mapped {
            let statement = try filtered(
                """
                SELECT client, tier, tier_since, rules_tier, points_available, points_expiring_90d, points_lifetime,
                       points_qualifying, points_redeemed, points_expired, points_adjusted, net_assets_cents,
                       offboarded, as_of FROM membership
                """, [("client", client), ("tier", tier)], orderBy: "client")
            var rows: [MembershipRecord] = []
            while try statement.step() {
                rows.append(MembershipRecord(
                    client: statement.string(at: 0), tier: statement.string(at: 1), tierSince: statement.optionalString(at: 2),
                    rulesTier: statement.string(at: 3), pointsAvailable: statement.int64(at: 4),
                    pointsExpiring90d: statement.int64(at: 5), pointsLifetime: statement.int64(at: 6),
                    pointsQualifying: statement.int64(at: 7), pointsRedeemed: statement.int64(at: 8),
                    pointsExpired: statement.int64(at: 9), pointsAdjusted: statement.int64(at: 10),
                    netAssetsCents: statement.int64(at: 11), offboarded: statement.int64(at: 12) != 0,
                    asOf: statement.string(at: 13)))
            }
            return rows
        }
    }

    /// `select` with `column = value` for each given filter, ordered; the statement bound.
    private func filtered(_ select: String, _ filters: [(column: String, value: String?)], orderBy: String) throws -> Statement {
        let given = filters.compactMap { filter in filter.value.map { (filter.column, $0) } }
        var sql = select
        if !given.isEmpty { sql += " WHERE " + given.map { "\($0.0) = ?" }.joined(separator: " AND ") }
        let statement = try connection.prepare(sql + " ORDER BY " + orderBy)
        for (index, filter) in given.enumerated() { statement.bind(filter.1, at: Int32(index + 1)) }
        return statement
    }

    public func tierHistory(client: String) throws -> [TierChangeRecord] {
        try store.mapped {
            let statement = try connection.cached(
                "SELECT at, from_tier, to_tier, reason, seq FROM membership_tier_history WHERE client = ? ORDER BY seq")
            defer { statement.reset() }
            statement.bind(client, at: 1)
            var changes: [TierChangeRecord] = []
            while try statement.step() {
                changes.append(TierChangeRecord(
                    at: statement.string(at: 0), from: statement.string(at: 1), to: statement.string(at: 2),
                    reason: statement.string(at: 3), seq: statement.int(at: 4)))
            }
            return changes
        }
    }

    public func eligibility(client: String?, product: String?) throws -> [EligibilityRecord] {
        try store.mapped {
            let statement = try filtered(
                "SELECT client, product, eligible, failed_checks, risk_valid_until FROM eligibility",
                [("client", client), ("product", product)], orderBy: "client, product")
            var rows: [EligibilityRecord] = []
            while try statement.step() {
                rows.append(EligibilityRecord(
                    client: statement.string(at: 0), product: statement.string(at: 1), eligible: statement.int64(at: 2) != 0,
                    failedChecks: ListText.strings(statement.string(at: 3)), riskValidUntil: statement.optionalString(at: 4)))
            }
            return rows
        }
    }

    public func retentionClients() throws -> [RetentionClientRecord] {
        try store.mapped {
            let statement = try connection.prepare(
                "SELECT client, registered_day, first_activity_day, last_activity_day, offboarded_day, reactivation_days FROM retention_clients ORDER BY client")
            var rows: [RetentionClientRecord] = []
            func optional(_ column: Int32) -> Int64? { statement.isNull(at: column) ? nil : statement.int64(at: column) }
            while try statement.step() {
                rows.append(RetentionClientRecord(
                    client: statement.string(at: 0), registeredDay: optional(1), firstActivityDay: optional(2),
                    lastActivityDay: optional(3), offboardedDay: optional(4),
                    reactivationDays: ListText.integers(statement.string(at: 5))))
            }
            return rows
        }
    }

    public func retentionMonths(through month: Int64, _ body: (String, Int64, [UInt8]) throws -> Void) throws {
        try store.mapped {
            let statement = try connection.prepare(
                "SELECT client, month, daily FROM retention_months WHERE month <= ? ORDER BY client, month")
            statement.bind(month, at: 1)
            while try statement.step() {
                try body(statement.string(at: 0), statement.int64(at: 1), statement.blob(at: 2))
            }
        }
    }

    public func foldSnapshots(_ body: (String, StoredFold) throws -> Void) throws {
        try store.mapped {
            let statement = try connection.prepare("SELECT client, snapshot, pages FROM projection_fold ORDER BY client")
            while try statement.step() {
                let client = statement.string(at: 0)
                var fold = StoredFold(snapshot: statement.blob(at: 1))
                if statement.int64(at: 2) > 0 { fold.pages = try SQLiteProjectionTransaction.pages(of: client, on: connection) }
                try body(client, fold)
            }
        }
    }
}

extension SQLiteEventStore {
    /// The projection tables of this ledger's file.
    public func projectionStore() -> any ProjectionStore {
        SQLiteProjectionStore(store: self)
    }
}

// MARK: - Writing

final class SQLiteProjectionTransaction: ProjectionTransaction {
    let connection: Connection
    /// The INSERT statements `put` has used in this transaction.
    private var inserts: [InsertKey: Statement] = [:]

    init(connection: Connection) {
        self.connection = connection
    }

    static let allTables = ProjectionSchema.tables.values.flatMap { $0 }.sorted() + ["projection_fold", "projection_fold_pages"]

    func foldSnapshot(client: String) throws -> StoredFold? {
        let statement = try connection.cached("SELECT snapshot, pages FROM projection_fold WHERE client = ?")
        defer { statement.reset() }
        statement.bind(client, at: 1)
        guard try statement.step() else { return nil }
        var fold = StoredFold(snapshot: statement.blob(at: 0))
        if statement.int64(at: 1) > 0 { fold.pages = try Self.pages(of: client, on: connection) }
        return fold
    }

    /// A client's pages of lots, in order.
    static func pages(of client: String, on connection: Connection) throws -> [[UInt8]] {
        let statement = try connection.cached("SELECT lots FROM projection_fold_pages WHERE client = ? ORDER BY page")
        defer { statement.reset() }
        statement.bind(client, at: 1)
        var pages: [[UInt8]] = []
        while try statement.step() { pages.append(statement.blob(at: 0)) }
        return pages
    }

    func monthActivity(client: String, month: Int64) throws -> [UInt8]? {
        let statement = try connection.cached("SELECT daily FROM retention_months WHERE client = ? AND month = ?")
        defer { statement.reset() }
        statement.bind(client, at: 1)
        statement.bind(month, at: 2)
        return try statement.step() ? statement.blob(at: 0) : nil
    }

    /// The tables `put` writes, with their columns in binding order and their keys (the same
    /// as ProjectionSchema's CREATE statements: the two change together).
    private enum Table: Int {
        case membership, tierHistory, retentionClients, retentionMonths, eligibility, fold, foldPages

        var name: String {
            ["membership", "membership_tier_history", "retention_clients", "retention_months", "eligibility", "projection_fold",
             "projection_fold_pages"][rawValue]
        }

        var columns: Int { columnNames.count }

        /// The columns in the order `put` binds them.
        var columnNames: [String] {
            switch self {
            case .membership:
                return ["client", "tier", "tier_since", "rules_tier", "points_available", "points_expiring_90d",
                        "points_lifetime", "points_qualifying", "points_redeemed", "points_expired", "points_adjusted",
                        "net_assets_cents", "offboarded", "as_of"]
            case .tierHistory: return ["client", "at", "from_tier", "to_tier", "reason", "seq"]
            case .retentionClients:
                return ["client", "registered_day", "first_activity_day", "last_activity_day", "offboarded_day", "reactivation_days"]
            case .retentionMonths:
                return ["client", "month", "active_days", "activities", "traded_cents", "purchased_cents", "deposited_cents",
                        "withdrawn_cents", "promoters", "passives", "detractors", "daily"]
            case .eligibility: return ["client", "product", "eligible", "failed_checks", "risk_valid_until"]
            case .fold: return ["client", "version", "snapshot", "pages"]
            case .foldPages: return ["client", "page", "lots"]
            }
        }

        /// The primary key's columns.
        var keyNames: [String] {
            switch self {
            case .tierHistory: return ["client", "seq"]
            case .retentionMonths: return ["client", "month"]
            case .eligibility: return ["client", "product"]
            case .foldPages: return ["client", "page"]
            default: return ["client"]
            }
        }

        /// What a catch-up's write does with a row already there: the new values, and only
        /// when one of them differs, so that SQLite leaves an unchanged row's pages alone (a
        /// client's eligibility for most products rarely changes with one more fact).
        var upsert: String {
            let keys = keyNames
            let others = columnNames.filter { !keys.contains($0) }
            return " ON CONFLICT(\(keys.joined(separator: ", "))) DO UPDATE SET "
                + others.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
                + " WHERE " + others.map { "\($0) IS NOT excluded.\($0)" }.joined(separator: " OR ")
        }
    }

    private struct InsertKey: Hashable {
        var table: Int
        var rows: Int
        var fresh: Bool
    }

    /// Rows of one table per INSERT at most: a client's months, eligibility and tier changes
    /// go in one statement each (a statement's start and end cost more than a row's values).
    private static let rowsPerInsert = 32

    /// An INSERT of `rows` rows into `table`: plain into fresh tables (a rebuild writes each
    /// client once; a second row would be a fault, and fails), an upsert into live ones (a
    /// catch-up writes again the clients it touched, and leaves alone the rows that come out
    /// the same). Kept for the transaction, so the SQL is neither built nor looked up again.
    private func insert(_ table: Table, rows: Int, into tables: ProjectionTables) throws -> Statement {
        let key = InsertKey(table: table.rawValue, rows: rows, fresh: tables == .fresh)
        if let statement = inserts[key] {
            statement.reset()
            return statement
        }
        let columns = table.columns
        let values = (0..<rows).map { row in
            "(" + (1...columns).map { "?\(row * columns + $0)" }.joined(separator: ", ") + ")"
        }.joined(separator: ", ")
        let names = "(" + table.columnNames.joined(separator: ", ") + ")"
        let statement = try connection.cached(
            tables == .fresh
                ? "INSERT INTO \(table.name)__new\(names) VALUES \(values)"
                : "INSERT INTO \(table.name)\(names) VALUES \(values)\(table.upsert)")
        inserts[key] = statement
        return statement
    }

    /// Binds `records` in groups of at most `rowsPerInsert`, each group one INSERT; `bind`
    /// binds one record from the given first parameter index.
    private func insertAll<Record>(
        _ records: [Record], into table: Table, _ tables: ProjectionTables, _ bind: (Statement, Record, Int32) -> Void
    ) throws {
        var start = 0
        while start < records.count {
            let end = min(records.count, start + Self.rowsPerInsert)
            let statement = try insert(table, rows: end - start, into: tables)
            for (offset, record) in records[start..<end].enumerated() {
                bind(statement, record, Int32(offset * table.columns + 1))
            }
            try statement.run()
            start = end
        }
    }

    func put(_ rows: ClientRows, into tables: ProjectionTables) throws {
        let client = rows.membership.client
        let m = rows.membership
        let membership = try insert(.membership, rows: 1, into: tables)
        membership.bind(client, at: 1)
        membership.bind(m.tier, at: 2)
        membership.bind(m.tierSince, at: 3)
        membership.bind(m.rulesTier, at: 4)
        membership.bind(m.pointsAvailable, at: 5)
        membership.bind(m.pointsExpiring90d, at: 6)
        membership.bind(m.pointsLifetime, at: 7)
        membership.bind(m.pointsQualifying, at: 8)
        membership.bind(m.pointsRedeemed, at: 9)
        membership.bind(m.pointsExpired, at: 10)
        membership.bind(m.pointsAdjusted, at: 11)
        membership.bind(m.netAssetsCents, at: 12)
        membership.bind(m.offboarded ? 1 : 0, at: 13)
        membership.bind(m.asOf, at: 14)
        try membership.run()

        if tables == .live {
            // Changes from the first one replaced on: a correction may have shortened the history.
            try deleteRows(of: client, from: "membership_tier_history", whereAtLeast: "seq", rows.tierHistoryFrom)
        }
        try insertAll(rows.tierHistory, into: .tierHistory, tables) { statement, change, at in
            statement.bind(client, at: at)
            statement.bind(change.at, at: at + 1)
            statement.bind(change.from, at: at + 2)
            statement.bind(change.to, at: at + 3)
            statement.bind(change.reason, at: at + 4)
            statement.bind(change.seq, at: at + 5)
        }

        let retention = try insert(.retentionClients, rows: 1, into: tables)
        let r = rows.retention
        retention.bind(client, at: 1)
        bind(retention, r.registeredDay, at: 2)
        bind(retention, r.firstActivityDay, at: 3)
        bind(retention, r.lastActivityDay, at: 4)
        bind(retention, r.offboardedDay, at: 5)
        retention.bind(ListText.text(r.reactivationDays), at: 6)
        try retention.run()

        try insertAll(rows.months, into: .retentionMonths, tables) { statement, row, at in
            statement.bind(client, at: at)
            statement.bind(row.month, at: at + 1)
            statement.bind(row.activeDays, at: at + 2)
            statement.bind(row.activities, at: at + 3)
            statement.bind(row.tradedCents, at: at + 4)
            statement.bind(row.purchasedCents, at: at + 5)
            statement.bind(row.depositedCents, at: at + 6)
            statement.bind(row.withdrawnCents, at: at + 7)
            statement.bind(row.promoters, at: at + 8)
            statement.bind(row.passives, at: at + 9)
            statement.bind(row.detractors, at: at + 10)
            statement.bind(row.daily, at: at + 11)
        }

        try insertAll(rows.eligibility, into: .eligibility, tables) { statement, row, at in
            statement.bind(client, at: at)
            statement.bind(row.product, at: at + 1)
            statement.bind(row.eligible ? 1 : 0, at: at + 2)
            statement.bind(ListText.text(row.failedChecks), at: at + 3)
            statement.bind(row.riskValidUntil, at: at + 4)
        }

        let snapshot = try insert(.fold, rows: 1, into: tables)
        snapshot.bind(client, at: 1)
        snapshot.bind(rows.foldVersion, at: 2)
        snapshot.bind(rows.foldSnapshot, at: 3)
        snapshot.bind(rows.foldPageCount, at: 4)
        try snapshot.run()
        if tables == .live {
            // Pages past the client's count now: its lots fit in fewer.
            try deleteRows(of: client, from: "projection_fold_pages", whereAtLeast: "page", rows.foldPageCount)
        }
        try insertAll(rows.foldPages, into: .foldPages, tables) { statement, page, at in
            statement.bind(client, at: at)
            statement.bind(page.index, at: at + 1)
            statement.bind(page.lots, at: at + 2)
        }
    }

    /// Deletes a client's rows of a live table whose `column` is `from` or more (the stale
    /// tail of a list the client's new rows replace).
    private func deleteRows(of client: String, from table: String, whereAtLeast column: String, _ from: Int64) throws {
        let statement = try connection.cached("DELETE FROM \(table) WHERE client = ?1 AND \(column) >= ?2")
        statement.bind(client, at: 1)
        statement.bind(from, at: 2)
        try statement.run()
    }

    private func bind(_ statement: Statement, _ value: Int64?, at index: Int32) {
        if let value { statement.bind(value, at: index) } else { statement.bindNull(at: index) }
    }

    func setCheckpoint(_ position: Int64, rulesVersion: String?, builtAt: Timestamp?) throws {
        let statement = try connection.prepare(
            rulesVersion == nil
                ? "UPDATE projection_checkpoints SET position = ?1"
                : "UPDATE projection_checkpoints SET position = ?1, rules_version = ?2, built_at = ?3")
        statement.bind(position, at: 1)
        if let rulesVersion {
            statement.bind(rulesVersion, at: 2)
            statement.bind((builtAt ?? .now()).iso8601, at: 3)
        }
        try statement.run()
    }

    func createFreshTables() throws {
        for table in Self.allTables {
            try connection.execute("DROP TABLE IF EXISTS \(table)__new; " + ProjectionSchema.create(table, as: table + "__new"))
        }
    }

    func swapInFreshTables() throws {
        for table in Self.allTables {
            // IF EXISTS: a live table dropped by hand is simply replaced (a rebuild repairs it).
            try connection.execute("DROP TABLE IF EXISTS \(table); ALTER TABLE \(table)__new RENAME TO \(table)")
        }
        try connection.execute("CREATE INDEX IF NOT EXISTS eligibility_by_product ON eligibility(product, eligible)")
    }

    func dropFreshTables() throws {
        for table in Self.allTables { try connection.execute("DROP TABLE IF EXISTS \(table)__new") }
    }
}

@available(*, unavailable)
extension SQLiteProjectionTransaction: Sendable {}
