import LedgerCore
import LedgerStorage
import PostgresNIO

/// One named, ordered schema change of a PostgreSQL ledger, as statements run in one
/// transaction. A shipped migration is never edited: a change is a new one at the end.
struct PostgresMigration: Sendable {
    let name: String
    let statements: [String]
}

/// The ledger's tables in the schema `clientledger` (trigger functions name it, so that no
/// table of a session's own `search_path`, a temporary one say, can stand in for the log): the log (`events`, with the columns and
/// text forms of the SQLite ledger's `events`, so the same queries read both), its stream
/// catalogue, personal-data keys, the projections and the service's tokens.
///
/// The log is append-only twice over: triggers refuse UPDATE, DELETE and TRUNCATE for every
/// role (the owner included), and `docs/postgres.md` shows the grants that give the role the
/// ledger runs as INSERT and SELECT only. The gap-free trigger with the primary key makes
/// positions follow commit order even for a writer that does not take the ledger's lock: a
/// position can be inserted only once the one before it is committed.
enum PostgresSchema {
    static let guardedTables = ["events", "streams"]

    /// The triggers that make the log append-only; `audit verify` checks they are in place.
    static let requiredTriggers = guardedTables.flatMap { ["\($0)_append_only", "\($0)_no_truncate"] } + ["events_gap_free", "events_new_stream"]

    static let eventLog = PostgresMigration(name: "0001_event_log", statements: [
        """
        CREATE TABLE events(
            position       bigint  PRIMARY KEY CHECK (position >= 1),
            stream         text    NOT NULL,
            version        bigint  NOT NULL CHECK (version >= 1),
            event_id       text    NOT NULL UNIQUE,
            type           text    NOT NULL,
            schema_version integer NOT NULL CHECK (schema_version >= 1),
            occurred_at    text    NOT NULL,
            recorded_at    text    NOT NULL,
            data           text    NOT NULL,
            metadata       text    NOT NULL,
            hash           bytea   NOT NULL CHECK (length(hash) = 32),
            UNIQUE (stream, version)
        )
        """,
        """
        CREATE TABLE streams(
            name           text   PRIMARY KEY,
            first_position bigint NOT NULL
        )
        """,
        """
        CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP;
        END $$
        """,
        """
        CREATE FUNCTION events_check_gap_free() RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            IF NEW.position IS DISTINCT FROM (SELECT coalesce(max(position), 0) + 1 FROM clientledger.events) THEN
                RAISE EXCEPTION 'events are gap-free: position % must follow the last one', NEW.position;
            END IF;
            RETURN NEW;
        END $$
        """,
        """
        CREATE FUNCTION events_record_stream() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO clientledger.streams(name, first_position) VALUES (NEW.stream, NEW.position);
            RETURN NULL;
        END $$
        """,
        "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION refuse_change()",
        "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()",
        "CREATE TRIGGER events_gap_free BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_check_gap_free()",
        "CREATE TRIGGER events_new_stream AFTER INSERT ON events FOR EACH ROW WHEN (NEW.version = 1) EXECUTE FUNCTION events_record_stream()",
        "CREATE TRIGGER streams_append_only BEFORE UPDATE OR DELETE ON streams FOR EACH ROW EXECUTE FUNCTION refuse_change()",
        "CREATE TRIGGER streams_no_truncate BEFORE TRUNCATE ON streams FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()",
        "REVOKE UPDATE, DELETE, TRUNCATE ON events, streams FROM PUBLIC",
    ])

    /// Personal-data keys: one 32-byte AES key per stream, outside the chained log; the one
    /// table whose rows are deleted (`forget`).
    static let personalKeys = PostgresMigration(name: "0002_personal_keys", statements: [
        """
        CREATE TABLE personal_keys(
            stream     text   PRIMARY KEY,
            key        bytea  NOT NULL CHECK (length(key) = 32),
            created_ms bigint NOT NULL
        )
        """,
    ])

    static let migrations = [eventLog, personalKeys]

    // MARK: - Projections

    static let projectionTables: [String] = [
        "eligibility", "membership", "membership_tier_history", "retention_clients", "retention_months", "projection_fold",
        "projection_fold_pages",
    ]

    /// The CREATE statement of a projection table, for the live name or a fresh `__new` copy.
    /// Primary keys are named after the live table's, so a swapped-in copy keeps the name.
    static func createProjection(_ table: String, as name: String) -> String {
        let key = "CONSTRAINT \(name)_pkey PRIMARY KEY"
        switch table {
        case "membership":
            return """
                CREATE TABLE \(name)(
                    client text, tier text NOT NULL, tier_since text, rules_tier text NOT NULL,
                    points_available bigint NOT NULL, points_expiring_90d bigint NOT NULL,
                    points_lifetime bigint NOT NULL, points_qualifying bigint NOT NULL,
                    points_redeemed bigint NOT NULL, points_expired bigint NOT NULL, points_adjusted bigint NOT NULL,
                    net_assets_cents bigint NOT NULL, offboarded boolean NOT NULL, as_of text NOT NULL, \(key) (client))
                """
        case "membership_tier_history":
            return """
                CREATE TABLE \(name)(
                    client text NOT NULL, at text NOT NULL, from_tier text NOT NULL, to_tier text NOT NULL,
                    reason text NOT NULL, seq bigint NOT NULL, \(key) (client, seq))
                """
        case "retention_clients":
            return """
                CREATE TABLE \(name)(
                    client text, registered_day bigint, first_activity_day bigint,
                    last_activity_day bigint, offboarded_day bigint, reactivation_days text NOT NULL, \(key) (client))
                """
        case "retention_months":
            return """
                CREATE TABLE \(name)(
                    client text NOT NULL, month bigint NOT NULL, active_days bigint NOT NULL,
                    activities bigint NOT NULL, traded_cents bigint NOT NULL, purchased_cents bigint NOT NULL,
                    deposited_cents bigint NOT NULL, withdrawn_cents bigint NOT NULL,
                    promoters bigint NOT NULL, passives bigint NOT NULL, detractors bigint NOT NULL,
                    daily bytea NOT NULL, \(key) (client, month))
                """
        case "eligibility":
            return """
                CREATE TABLE \(name)(
                    client text NOT NULL, product text NOT NULL, eligible boolean NOT NULL,
                    failed_checks text NOT NULL, risk_valid_until text, \(key) (client, product))
                """
        case "projection_fold_pages":
            return "CREATE TABLE \(name)(client text NOT NULL, page bigint NOT NULL, lots bytea NOT NULL, \(key) (client, page))"
        default:  // projection_fold
            return """
                CREATE TABLE \(name)(
                    client text, version bigint NOT NULL, snapshot bytea NOT NULL, pages bigint NOT NULL DEFAULT 0, \(key) (client))
                """
        }
    }

    /// The tables as the first projections migration made them (a shipped migration never
    /// changes; the later ones bring them to what `createProjection` makes today).
    private static func createProjectionAsShipped(_ table: String) -> String {
        if table == "projection_fold" {
            return "CREATE TABLE projection_fold(client text, version bigint NOT NULL, snapshot bytea NOT NULL, CONSTRAINT projection_fold_pkey PRIMARY KEY (client))"
        }
        guard table == "eligibility" else { return createProjection(table, as: table) }
        return """
            CREATE TABLE eligibility(
                client text NOT NULL, product text NOT NULL, eligible boolean NOT NULL,
                failed_checks text NOT NULL, risk_valid_until text, as_of text NOT NULL,
                CONSTRAINT eligibility_pkey PRIMARY KEY (client, product))
            """
    }

    static let projections = PostgresMigration(
        name: "0101_projections",
        statements: ["eligibility", "membership", "membership_tier_history", "retention_clients", "retention_months", "projection_fold"]
            .map { createProjectionAsShipped($0) } + [
            "CREATE INDEX eligibility_by_product ON eligibility(product, eligible)",
            """
            CREATE TABLE projection_checkpoints(
                name text PRIMARY KEY, position bigint NOT NULL, rules_version text NOT NULL, built_at text NOT NULL)
            """,
            """
            INSERT INTO projection_checkpoints(name, position, rules_version, built_at) VALUES
                ('membership', 0, '', ''), ('retention', 0, '', ''), ('eligibility', 0, '', ''), ('fold', 0, '', '')
            """,
        ])

    /// An eligibility row's moment was the membership row's `as_of` over again, and never
    /// read: without it, a catch-up leaves a client's unchanged eligibility rows as they are.
    static let eligibilityWithoutMoment = PostgresMigration(
        name: "0102_eligibility_without_as_of", statements: ["ALTER TABLE eligibility DROP COLUMN as_of"])

    /// A client's older point lots in pages of their own, so that a catch-up that adds a lot
    /// writes the client's snapshot again but not its thousand older lots.
    static let foldPages = PostgresMigration(name: "0103_projection_fold_pages", statements: [
        """
        CREATE TABLE projection_fold_pages(
            client text NOT NULL, page bigint NOT NULL, lots bytea NOT NULL,
            CONSTRAINT projection_fold_pages_pkey PRIMARY KEY (client, page))
        """,
        "ALTER TABLE projection_fold ADD COLUMN pages bigint NOT NULL DEFAULT 0",
    ])

    /// The projections' migrations, in order.
    static let projectionMigrations = [projections, eligibilityWithoutMoment, foldPages]

    static let accessTokens = PostgresMigration(name: "0201_access_tokens", statements: [
        """
        CREATE TABLE access_tokens(
            id text PRIMARY KEY, hash bytea NOT NULL UNIQUE, role text NOT NULL, label text,
            created_at text NOT NULL, revoked_at text)
        """,
    ])

    static let allNames = Set((migrations + projectionMigrations + [accessTokens]).map(\.name))
}

/// Applies migrations in order, each in its own transaction under the ledger's migration lock
/// (so two programs opening a new ledger at once do not both apply one), recorded in
/// `schema_migrations`.
enum PostgresMigrator {
    static func applied(on session: Session) throws -> [String] {
        let exists = try session.scalar(
            "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'schema_migrations'",
            try PostgresBindings(PostgresLocation.schema), as: Int64.self) ?? 0
        guard exists > 0 else { return [] }
        return try session.query("SELECT name FROM schema_migrations ORDER BY id").map { try $0.makeRandomAccess().string(0) }
    }

    /// Applies the pending ones of `migrations`, each in a transaction of its own; runs no
    /// statement at all when none is pending (a role without CREATE rights opens a ledger
    /// that is up to date).
    @discardableResult
    static func migrate(_ migrations: [PostgresMigration], on session: Session, at moment: Timestamp) throws -> [String] {
        guard migrations.contains(where: { !Set((try? applied(on: session)) ?? []).contains($0.name) }) else { return [] }
        try session.transaction {
            try session.execute("SELECT pg_advisory_xact_lock(\(LockKey.migration))")
            try session.execute("CREATE SCHEMA IF NOT EXISTS \(PostgresLocation.schema)")
            try session.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations(id serial PRIMARY KEY, name text NOT NULL UNIQUE, applied_at text NOT NULL)")
        }
        var appliedNow: [String] = []
        for migration in migrations {
            try session.transaction {
                // Re-checked under the lock: another program may have applied it meanwhile.
                try session.execute("SELECT pg_advisory_xact_lock(\(LockKey.migration))")
                guard !(try applied(on: session)).contains(migration.name) else { return }
                for statement in migration.statements { try session.execute(statement) }
                try session.execute(
                    "INSERT INTO schema_migrations(name, applied_at) VALUES ($1, $2)",
                    try PostgresBindings(migration.name, moment.iso8601))
                appliedNow.append(migration.name)
            }
        }
        return appliedNow
    }
}

/// The advisory locks of a ledger (per database): writers of the log, writers of the
/// projections, and migrations.
enum LockKey {
    static let log: Int64 = 0x434C_4C47_0001  // "CLLG" 1
    static let projections: Int64 = 0x434C_4C47_0002
    static let migration: Int64 = 0x434C_4C47_0003
}
