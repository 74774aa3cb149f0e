import LedgerCore
import LedgerStorage
import NIOCore
import PostgresNIO

/// The projection tables in the ledger's PostgreSQL schema, on the event store's connection.
///
/// A projection write holds the ledger's projection lock (a session advisory lock, taken
/// before the transaction begins, so that its REPEATABLE READ snapshot is taken after the
/// previous writer committed) and runs in one transaction that also reads the log.
final class PostgresProjectionStore: ProjectionStore {
    let store: PostgresEventStore
    private var session: Session { store.session }
    var log: any EventStore { store }

    init(store: PostgresEventStore) {
        self.store = store
    }

    func isInstalled() throws -> Bool {
        try PostgresMigrator.applied(on: session).contains(PostgresSchema.projections.name)
    }

    func missingTables() throws -> [String] {
        guard try isInstalled() else { return [] }
        let present = Set(try session.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1", try PostgresBindings(PostgresLocation.schema)
        ).map { try $0.makeRandomAccess().string(0) })
        return PostgresSchema.projectionTables.sorted().filter { !present.contains($0) }
    }

    func install() throws {
        guard !store.isReadOnly else { return }
        try PostgresMigrator.migrate(PostgresSchema.projectionMigrations, on: session, at: store.clock.now())
    }

    func checkpoints() throws -> [ProjectionCheckpoint] {
        try session.query("SELECT name, position, rules_version, built_at FROM projection_checkpoints ORDER BY name").map { row in
            let c = row.makeRandomAccess()
            return ProjectionCheckpoint(name: try c.string(0), position: try c.int64(1), rulesVersion: try c.string(2), builtAt: try c.string(3))
        }
    }

    func foldCount() throws -> Int {
        Int(try session.scalar("SELECT count(*) FROM projection_fold", as: Int64.self) ?? 0)
    }

    func write<R>(_ body: (any ProjectionTransaction) throws -> R) throws -> R {
        guard !store.isReadOnly else { throw StorageError.readOnly(location: store.location) }
        guard !session.inTransaction else { throw StorageError.nestedWrite }
        try session.execute("SELECT pg_advisory_lock(\(LockKey.projections))")
        defer { _ = try? session.execute("SELECT pg_advisory_unlock(\(LockKey.projections))") }
        return try session.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ") {
            let transaction = PostgresProjectionTransaction(session: session)
            let result = try body(transaction)
            try transaction.flush()
            return result
        }
    }

    func read<R>(_ body: () throws -> R) throws -> R {
        try store.read(body)
    }

    func useSmallCache(_ small: Bool) throws {}
    func releaseMemory() {}

    // MARK: - Queries

    /// `select` with `column = $n` for each given filter, ordered by byte order.
    private func filtered(_ select: String, _ filters: [(column: String, value: String?)], orderBy: [String]) throws -> [PostgresRow] {
        let given = filters.compactMap { filter in filter.value.map { (filter.column, $0) } }
        var sql = select
        var binds = PostgresBindings()
        if !given.isEmpty {
            sql += " WHERE " + given.enumerated().map { "\($1.0) = $\($0 + 1)" }.joined(separator: " AND ")
            for (_, value) in given { try binds.appendAny(value) }
        }
        sql += " ORDER BY " + orderBy.map { "\($0) COLLATE \"C\"" }.joined(separator: ", ")
        return try session.query(sql, binds)
    }

    func membership(client: String?, tier: String?) throws -> [MembershipRecord] {
        try filtered(
            """
            SELECT client, tier, tier_since, rules_tier, points_available, points_expiring_90d, points_lifetime,
                   points_qualifying, points_redeemed, points_expired, points_adjusted, net_assets_cents,
                   offboarded, as_of FROM membership
            """, [("client", client), ("tier", tier)], orderBy: ["client"]
        ).map { row in
            let c = row.makeRandomAccess()
            return MembershipRecord(
                client: try c.string(0), tier: try c.string(1), tierSince: try c.optionalString(2), rulesTier: try c.string(3),
                pointsAvailable: try c.int64(4), pointsExpiring90d: try c.int64(5), pointsLifetime: try c.int64(6),
                pointsQualifying: try c.int64(7), pointsRedeemed: try c.int64(8), pointsExpired: try c.int64(9),
                pointsAdjusted: try c.int64(10), netAssetsCents: try c.int64(11), offboarded: try c[12].decode(Bool.self),
                asOf: try c.string(13))
        }
    }

    func tierHistory(client: String) throws -> [TierChangeRecord] {
        try session.query(
            "SELECT at, from_tier, to_tier, reason, seq FROM membership_tier_history WHERE client = $1 ORDER BY seq",
            try PostgresBindings(client)
        ).map { row in
            let c = row.makeRandomAccess()
            return TierChangeRecord(at: try c.string(0), from: try c.string(1), to: try c.string(2), reason: try c.string(3), seq: Int(try c.int64(4)))
        }
    }

    func eligibility(client: String?, product: String?) throws -> [EligibilityRecord] {
        try filtered(
            "SELECT client, product, eligible, failed_checks, risk_valid_until FROM eligibility",
            [("client", client), ("product", product)], orderBy: ["client", "product"]
        ).map { row in
            let c = row.makeRandomAccess()
            return EligibilityRecord(
                client: try c.string(0), product: try c.string(1), eligible: try c[2].decode(Bool.self),
                failedChecks: ListText.strings(try c.string(3)), riskValidUntil: try c.optionalString(4))
        }
    }

    func retentionClients() throws -> [RetentionClientRecord] {
        try session.query(
            """
            SELECT client, registered_day, first_activity_day, last_activity_day, offboarded_day, reactivation_days
            FROM retention_clients ORDER BY client COLLATE "C"
            """
        ).map { row in
            let c = row.makeRandomAccess()
            return RetentionClientRecord(
                client: try c.string(0), registeredDay: try c.optionalInt64(1), firstActivityDay: try c.optionalInt64(2),
                lastActivityDay: try c.optionalInt64(3), offboardedDay: try c.optionalInt64(4),
                reactivationDays: ListText.integers(try c.string(5)))
        }
    }

    func retentionMonths(through month: Int64, _ body: (String, Int64, [UInt8]) throws -> Void) throws {
        for row in try session.query(
            "SELECT client, month, daily FROM retention_months WHERE month <= $1 ORDER BY client COLLATE \"C\", month",
            try PostgresBindings(month))
        {
            let c = row.makeRandomAccess()
            try body(try c.string(0), try c.int64(1), try c.bytes(2))
        }
    }

    func foldSnapshots(_ body: (String, StoredFold) throws -> Void) throws {
        // Every page in one query rather than one round trip per client that has pages (the
        // result of a query is held whole anyway, like the folds the insight keeps).
        var pages: [String: [[UInt8]]] = [:]
        for row in try session.query("SELECT client, lots FROM projection_fold_pages ORDER BY client, page") {
            let c = row.makeRandomAccess()
            pages[try c.string(0), default: []].append(try c.bytes(1))
        }
        for row in try session.query("SELECT client, snapshot FROM projection_fold ORDER BY client COLLATE \"C\"") {
            let c = row.makeRandomAccess()
            let client = try c.string(0)
            try body(client, StoredFold(snapshot: try c.bytes(1), pages: pages.removeValue(forKey: client) ?? []))
        }
    }
}

@available(*, unavailable)
extension PostgresProjectionStore: Sendable {}

/// Arrays of optional values, sent as arrays of values with a stand-in for "none" that the
/// statement turns back into NULL (`nullif`): the stand-ins never occur in the data (a
/// control character in a text column, the smallest integer).
enum Nullable {
    static let text = "\u{1}"
    static let textSQL = "E'\\x01'"
    static let integer = Int64.min
    static let integerSQL = "(-9223372036854775807 - 1)"

    static func texts(_ values: [String?]) -> [String] { values.map { $0 ?? text } }
    static func integers(_ values: [Int64?]) -> [Int64] { values.map { $0 ?? integer } }
}

// MARK: - Writing

/// Rows of a projection write, sent to the server in batches (one multi-row statement per
/// table for up to `batchClients` clients): a rebuild of a million clients is then a few
/// thousand round trips, not millions.
final class PostgresProjectionTransaction: ProjectionTransaction {
    private let session: Session
    private var pending: [(rows: ClientRows, tables: ProjectionTables)] = []
    private var pendingClients: Set<String> = []
    static let batchClients = 500

    init(session: Session) {
        self.session = session
    }

    func foldSnapshot(client: String) throws -> StoredFold? {
        if pendingClients.contains(client) { try flush() }
        guard let row = try session.query("SELECT snapshot, pages FROM projection_fold WHERE client = $1", try PostgresBindings(client)).first
        else { return nil }
        let c = row.makeRandomAccess()
        var fold = StoredFold(snapshot: try c.bytes(0))
        if try c.int64(1) > 0 { fold.pages = try Self.pages(of: client, on: session) }
        return fold
    }

    /// A client's pages of lots, in order.
    static func pages(of client: String, on session: Session) throws -> [[UInt8]] {
        try session.query("SELECT lots FROM projection_fold_pages WHERE client = $1 ORDER BY page", try PostgresBindings(client))
            .map { try $0.makeRandomAccess().bytes(0) }
    }

    func monthActivity(client: String, month: Int64) throws -> [UInt8]? {
        if pendingClients.contains(client) { try flush() }
        guard let row = try session.query(
            "SELECT daily FROM retention_months WHERE client = $1 AND month = $2", try PostgresBindings(client, month)).first
        else { return nil }
        return try row.makeRandomAccess().bytes(0)
    }

    func put(_ rows: ClientRows, into tables: ProjectionTables) throws {
        // A client twice in one statement cannot be upserted: the first put goes out first.
        if pendingClients.contains(rows.membership.client) || pending.last.map({ $0.tables != tables }) == true { try flush() }
        pending.append((rows, tables))
        pendingClients.insert(rows.membership.client)
        if pending.count >= Self.batchClients { try flush() }
    }

    func flush() throws {
        guard let tables = pending.first?.tables else { return }
        let suffix = tables == .fresh ? "__new" : ""
        let all = pending.map(\.rows)
        pending.removeAll(keepingCapacity: true)
        pendingClients.removeAll(keepingCapacity: true)
        let clients = all.map(\.membership.client)
        let m = all.map(\.membership)

        try session.execute(
            """
            INSERT INTO membership\(suffix)
            SELECT c1, c2, nullif(c3, \(Nullable.textSQL)), c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[],
                        $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::boolean[], $14::text[])
                 AS u(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14)
            ON CONFLICT (client) DO UPDATE SET tier = EXCLUDED.tier, tier_since = EXCLUDED.tier_since,
                rules_tier = EXCLUDED.rules_tier, points_available = EXCLUDED.points_available,
                points_expiring_90d = EXCLUDED.points_expiring_90d, points_lifetime = EXCLUDED.points_lifetime,
                points_qualifying = EXCLUDED.points_qualifying, points_redeemed = EXCLUDED.points_redeemed,
                points_expired = EXCLUDED.points_expired, points_adjusted = EXCLUDED.points_adjusted,
                net_assets_cents = EXCLUDED.net_assets_cents, offboarded = EXCLUDED.offboarded, as_of = EXCLUDED.as_of
            """,
            try PostgresBindings(
                clients, m.map(\.tier), Nullable.texts(m.map(\.tierSince)), m.map(\.rulesTier), m.map(\.pointsAvailable),
                m.map(\.pointsExpiring90d), m.map(\.pointsLifetime), m.map(\.pointsQualifying), m.map(\.pointsRedeemed),
                m.map(\.pointsExpired), m.map(\.pointsAdjusted), m.map(\.netAssetsCents), m.map(\.offboarded), m.map(\.asOf)))

        if tables == .live {
            // Changes from the first one replaced on: a correction may have shortened the history.
            try deleteRows(of: clients, from: "membership_tier_history", whereAtLeast: "seq", all.map(\.tierHistoryFrom))
        }
        let history = all.flatMap { rows in rows.tierHistory.map { (rows.membership.client, $0) } }
        if !history.isEmpty {
            try session.execute(
                """
                INSERT INTO membership_tier_history\(suffix)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
                ON CONFLICT (client, seq) DO UPDATE SET at = EXCLUDED.at, from_tier = EXCLUDED.from_tier,
                    to_tier = EXCLUDED.to_tier, reason = EXCLUDED.reason
                """,
                try PostgresBindings(
                    history.map(\.0), history.map(\.1.at), history.map(\.1.from), history.map(\.1.to), history.map(\.1.reason),
                    history.map { Int64($0.1.seq) }))
        }

        let r = all.map(\.retention)
        try session.execute(
            """
            INSERT INTO retention_clients\(suffix)
            SELECT c1, nullif(c2, \(Nullable.integerSQL)), nullif(c3, \(Nullable.integerSQL)), nullif(c4, \(Nullable.integerSQL)),
                   nullif(c5, \(Nullable.integerSQL)), c6
            FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[]) AS u(c1, c2, c3, c4, c5, c6)
            ON CONFLICT (client) DO UPDATE SET registered_day = EXCLUDED.registered_day,
                first_activity_day = EXCLUDED.first_activity_day, last_activity_day = EXCLUDED.last_activity_day,
                offboarded_day = EXCLUDED.offboarded_day, reactivation_days = EXCLUDED.reactivation_days
            """,
            try PostgresBindings(
                clients, Nullable.integers(r.map(\.registeredDay)), Nullable.integers(r.map(\.firstActivityDay)),
                Nullable.integers(r.map(\.lastActivityDay)), Nullable.integers(r.map(\.offboardedDay)),
                r.map { ListText.text($0.reactivationDays) }))

        let months = all.flatMap { rows in rows.months.map { (rows.membership.client, $0) } }
        if !months.isEmpty {
            try session.execute(
                """
                INSERT INTO retention_months\(suffix) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[],
                    $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bytea[])
                ON CONFLICT (client, month) DO UPDATE SET active_days = EXCLUDED.active_days, activities = EXCLUDED.activities,
                    traded_cents = EXCLUDED.traded_cents, purchased_cents = EXCLUDED.purchased_cents,
                    deposited_cents = EXCLUDED.deposited_cents, withdrawn_cents = EXCLUDED.withdrawn_cents,
                    promoters = EXCLUDED.promoters, passives = EXCLUDED.passives, detractors = EXCLUDED.detractors,
                    daily = EXCLUDED.daily
                """,
                try PostgresBindings(
                    months.map(\.0), months.map(\.1.month), months.map(\.1.activeDays), months.map(\.1.activities),
                    months.map(\.1.tradedCents), months.map(\.1.purchasedCents), months.map(\.1.depositedCents),
                    months.map(\.1.withdrawnCents), months.map(\.1.promoters), months.map(\.1.passives), months.map(\.1.detractors),
                    months.map { ByteBuffer(bytes: $0.1.daily) }))
        }

        // A row that comes out the same is left as it is (no new row version to vacuum).
        let eligibility = all.flatMap { rows in rows.eligibility.map { (rows.membership.client, $0) } }
        if !eligibility.isEmpty {
            try session.execute(
                """
                INSERT INTO eligibility\(suffix) AS e
                SELECT c1, c2, c3, c4, nullif(c5, \(Nullable.textSQL))
                FROM unnest($1::text[], $2::text[], $3::boolean[], $4::text[], $5::text[]) AS u(c1, c2, c3, c4, c5)
                ON CONFLICT (client, product) DO UPDATE SET eligible = EXCLUDED.eligible,
                    failed_checks = EXCLUDED.failed_checks, risk_valid_until = EXCLUDED.risk_valid_until
                WHERE (e.eligible, e.failed_checks, e.risk_valid_until)
                    IS DISTINCT FROM (EXCLUDED.eligible, EXCLUDED.failed_checks, EXCLUDED.risk_valid_until)
                """,
                try PostgresBindings(
                    eligibility.map(\.0), eligibility.map(\.1.product), eligibility.map(\.1.eligible),
                    eligibility.map { ListText.text($0.1.failedChecks) }, Nullable.texts(eligibility.map(\.1.riskValidUntil))))
        }

        try session.execute(
            """
            INSERT INTO projection_fold\(suffix) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bigint[])
            ON CONFLICT (client) DO UPDATE SET version = EXCLUDED.version, snapshot = EXCLUDED.snapshot, pages = EXCLUDED.pages
            """,
            try PostgresBindings(clients, all.map(\.foldVersion), all.map { ByteBuffer(bytes: $0.foldSnapshot) }, all.map(\.foldPageCount)))
        if tables == .live {
            // Pages past each client's count now: its lots fit in fewer.
            try deleteRows(of: clients, from: "projection_fold_pages", whereAtLeast: "page", all.map(\.foldPageCount))
        }
        let pages = all.flatMap { rows in rows.foldPages.map { (rows.membership.client, $0) } }
        if !pages.isEmpty {
            try session.execute(
                """
                INSERT INTO projection_fold_pages\(suffix) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[])
                ON CONFLICT (client, page) DO UPDATE SET lots = EXCLUDED.lots
                """,
                try PostgresBindings(pages.map(\.0), pages.map(\.1.index), pages.map { ByteBuffer(bytes: $0.1.lots) }))
        }
    }

    /// Deletes each client's rows of a live table whose `column` is the client's `from` or
    /// more (the stale tail of a list the clients' new rows replace).
    private func deleteRows(of clients: [String], from table: String, whereAtLeast column: String, _ from: [Int64]) throws {
        try session.execute(
            """
            DELETE FROM \(table) t USING unnest($1::text[], $2::bigint[]) AS d(client, from_value)
            WHERE t.client = d.client AND t.\(column) >= d.from_value
            """, try PostgresBindings(clients, from))
    }

    func setCheckpoint(_ position: Int64, rulesVersion: String?, builtAt: Timestamp?) throws {
        try flush()
        if let rulesVersion {
            try session.execute(
                "UPDATE projection_checkpoints SET position = $1, rules_version = $2, built_at = $3",
                try PostgresBindings(position, rulesVersion, (builtAt ?? .now()).iso8601))
        } else {
            try session.execute("UPDATE projection_checkpoints SET position = $1", try PostgresBindings(position))
        }
    }

    func createFreshTables() throws {
        try flush()
        for table in PostgresSchema.projectionTables {
            try session.execute("DROP TABLE IF EXISTS \(table)__new")
            try session.execute(PostgresSchema.createProjection(table, as: table + "__new"))
        }
    }

    func swapInFreshTables() throws {
        try flush()
        for table in PostgresSchema.projectionTables {
            // IF EXISTS: a live table dropped by hand is simply replaced (a rebuild repairs it).
            try session.execute("DROP TABLE IF EXISTS \(table)")
            try session.execute("ALTER TABLE \(table)__new RENAME TO \(table)")
            try session.execute("ALTER TABLE \(table) RENAME CONSTRAINT \(table)__new_pkey TO \(table)_pkey")
        }
        try session.execute("CREATE INDEX IF NOT EXISTS eligibility_by_product ON eligibility(product, eligible)")
    }

    func dropFreshTables() throws {
        pending.removeAll { $0.tables == .fresh }
        pendingClients = Set(pending.map(\.rows.membership.client))
        for table in PostgresSchema.projectionTables { try session.execute("DROP TABLE IF EXISTS \(table)__new") }
    }
}

@available(*, unavailable)
extension PostgresProjectionTransaction: Sendable {}
