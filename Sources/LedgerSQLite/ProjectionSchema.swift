import LedgerStorage

/// The projections' tables, as migrations of their own (recorded in `schema_migrations`
/// next to the log's). Every table here is derived data: it can be dropped and rebuilt from
/// position 0 at any time.
enum ProjectionSchema {
    /// Table names of each projection (the fold snapshots belong to all three).
    static let tables: [ProjectionName: [String]] = [
        .membership: ["membership", "membership_tier_history"],
        .retention: ["retention_clients", "retention_months"],
        .eligibility: ["eligibility"],
    ]

    /// The CREATE statements of one table, for the live name or a fresh `__new` copy.
    static func create(_ table: String, as name: String) -> String {
        switch table {
        case "membership":
            return """
                CREATE TABLE \(name)(
                    client TEXT PRIMARY KEY, tier TEXT NOT NULL, tier_since TEXT, rules_tier TEXT NOT NULL,
                    points_available INTEGER NOT NULL, points_expiring_90d INTEGER NOT NULL,
                    points_lifetime INTEGER NOT NULL, points_qualifying INTEGER NOT NULL,
                    points_redeemed INTEGER NOT NULL, points_expired INTEGER NOT NULL, points_adjusted INTEGER NOT NULL,
                    net_assets_cents INTEGER NOT NULL, offboarded INTEGER NOT NULL, as_of TEXT NOT NULL)
                """
        case "membership_tier_history":
            return """
                CREATE TABLE \(name)(
                    client TEXT NOT NULL, at TEXT NOT NULL, from_tier TEXT NOT NULL, to_tier TEXT NOT NULL,
                    reason TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (client, seq))
                """
        case "retention_clients":
            return """
                CREATE TABLE \(name)(
                    client TEXT PRIMARY KEY, registered_day INTEGER, first_activity_day INTEGER,
                    last_activity_day INTEGER, offboarded_day INTEGER, reactivation_days TEXT NOT NULL)
                """
        case "retention_months":
            return """
                CREATE TABLE \(name)(
                    client TEXT NOT NULL, month INTEGER NOT NULL, active_days INTEGER NOT NULL,
                    activities INTEGER NOT NULL, traded_cents INTEGER NOT NULL, purchased_cents INTEGER NOT NULL,
                    deposited_cents INTEGER NOT NULL, withdrawn_cents INTEGER NOT NULL,
                    promoters INTEGER NOT NULL, passives INTEGER NOT NULL, detractors INTEGER NOT NULL,
                    daily BLOB NOT NULL, PRIMARY KEY (client, month))
                """
        case "eligibility":
            return """
                CREATE TABLE \(name)(
                    client TEXT NOT NULL, product TEXT NOT NULL, eligible INTEGER NOT NULL,
                    failed_checks TEXT NOT NULL, risk_valid_until TEXT, PRIMARY KEY (client, product))
                """
        case "projection_fold_pages":
            return """
                CREATE TABLE \(name)(
                    client TEXT NOT NULL, page INTEGER NOT NULL, lots BLOB NOT NULL, PRIMARY KEY (client, page))
                """
        default:  // projection_fold
            return """
                CREATE TABLE \(name)(
                    client TEXT PRIMARY KEY, version INTEGER NOT NULL, snapshot BLOB NOT NULL,
                    pages INTEGER NOT NULL DEFAULT 0)
                """
        }
    }

    /// The tables as the first migration made them (a shipped migration never changes; the
    /// later ones bring the tables to what `create` makes today).
    private static func createAsShipped(_ table: String) -> String {
        if table == "projection_fold" {
            return "CREATE TABLE projection_fold(client TEXT PRIMARY KEY, version INTEGER NOT NULL, snapshot BLOB NOT NULL)"
        }
        guard table == "eligibility" else { return create(table, as: table) }
        return """
            CREATE TABLE eligibility(
                client TEXT NOT NULL, product TEXT NOT NULL, eligible INTEGER NOT NULL,
                failed_checks TEXT NOT NULL, risk_valid_until TEXT, as_of TEXT NOT NULL,
                PRIMARY KEY (client, product))
            """
    }

    static let migration = Migration(
        name: "0101_projections",
        sql: (["membership", "membership_tier_history", "retention_clients", "retention_months", "eligibility", "projection_fold"]
            .map { createAsShipped($0) + ";" } + [
                """
                CREATE INDEX eligibility_by_product ON eligibility(product, eligible);
                CREATE TABLE projection_checkpoints(
                    name TEXT PRIMARY KEY, position INTEGER NOT NULL, rules_version TEXT NOT NULL,
                    built_at TEXT NOT NULL);
                INSERT INTO projection_checkpoints(name, position, rules_version, built_at) VALUES
                    ('membership', 0, '', ''), ('retention', 0, '', ''), ('eligibility', 0, '', ''), ('fold', 0, '', '');
                """,
            ]).joined(separator: "\n"))

    /// An eligibility row's moment was the membership row's `as_of` over again, and never
    /// read: without it, a catch-up leaves a client's unchanged eligibility rows as they are.
    static let eligibilityWithoutMoment = Migration(
        name: "0102_eligibility_without_as_of", sql: "ALTER TABLE eligibility DROP COLUMN as_of;")

    /// A client's older point lots in pages of their own, so that a catch-up that adds a lot
    /// writes the client's snapshot again but not its thousand older lots. Snapshots of the
    /// format before are refused by a catch-up, which asks for a rebuild.
    static let foldPages = Migration(
        name: "0103_projection_fold_pages",
        sql: """
            CREATE TABLE projection_fold_pages(
                client TEXT NOT NULL, page INTEGER NOT NULL, lots BLOB NOT NULL, PRIMARY KEY (client, page));
            ALTER TABLE projection_fold ADD COLUMN pages INTEGER NOT NULL DEFAULT 0;
            """)

    static let migrations = [migration, eligibilityWithoutMoment, foldPages]
}
