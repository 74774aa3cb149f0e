import LedgerCore

/// The three projections of the product (the fold snapshots belong to all three).
public enum ProjectionName: String, CaseIterable, Sendable, Codable, Comparable {
    case membership, retention, eligibility

    public static func < (lhs: ProjectionName, rhs: ProjectionName) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Where a projection's rows have reached and with which rules they were built.
public struct ProjectionCheckpoint: Sendable, Equatable {
    /// A projection's name, or `fold` for the shared fold snapshots.
    public var name: String
    /// Last position applied.
    public var position: Int64
    /// Rules version the rows were built with ("" before the first build).
    public var rulesVersion: String
    /// When the last rebuild swapped in ("" before the first).
    public var builtAt: String

    public init(name: String, position: Int64, rulesVersion: String, builtAt: String) {
        self.name = name
        self.position = position
        self.rulesVersion = rulesVersion
        self.builtAt = builtAt
    }
}

/// Which set of tables rows go to: the live ones, or the fresh ones a rebuild fills before
/// it swaps them in.
public enum ProjectionTables: Sendable {
    case live, fresh
}

// MARK: - Rows

/// One client's membership row.
public struct MembershipRecord: Sendable, Equatable {
    public var client: String
    public var tier: String
    public var tierSince: String?
    /// The tier the rules the projection was built with give (differs from `tier` when a
    /// reconcile or an evaluation is due).
    public var rulesTier: String
    public var pointsAvailable: Int64
    public var pointsExpiring90d: Int64
    public var pointsLifetime: Int64
    public var pointsQualifying: Int64
    public var pointsRedeemed: Int64
    public var pointsExpired: Int64
    public var pointsAdjusted: Int64
    public var netAssetsCents: Int64
    public var offboarded: Bool
    /// The moment the row was computed for.
    public var asOf: String

    public init(
        client: String, tier: String, tierSince: String?, rulesTier: String, pointsAvailable: Int64,
        pointsExpiring90d: Int64, pointsLifetime: Int64, pointsQualifying: Int64, pointsRedeemed: Int64,
        pointsExpired: Int64, pointsAdjusted: Int64, netAssetsCents: Int64, offboarded: Bool, asOf: String
    ) {
        self.client = client
        self.tier = tier
        self.tierSince = tierSince
        self.rulesTier = rulesTier
        self.pointsAvailable = pointsAvailable
        self.pointsExpiring90d = pointsExpiring90d
        self.pointsLifetime = pointsLifetime
        self.pointsQualifying = pointsQualifying
        self.pointsRedeemed = pointsRedeemed
        self.pointsExpired = pointsExpired
        self.pointsAdjusted = pointsAdjusted
        self.netAssetsCents = netAssetsCents
        self.offboarded = offboarded
        self.asOf = asOf
    }
}

/// One recorded tier change of a client; `seq` counts from 1 in the client's history.
public struct TierChangeRecord: Sendable, Equatable {
    public var at: String
    public var from: String
    public var to: String
    public var reason: String
    public var seq: Int

    public init(at: String, from: String, to: String, reason: String, seq: Int) {
        self.at = at
        self.from = from
        self.to = to
        self.reason = reason
        self.seq = seq
    }
}

/// A client's lifecycle days (day numbers since 1970-01-01).
public struct RetentionClientRecord: Sendable, Equatable {
    public var client: String
    public var registeredDay: Int64?
    public var firstActivityDay: Int64?
    public var lastActivityDay: Int64?
    public var offboardedDay: Int64?
    public var reactivationDays: [Int64]

    public init(
        client: String, registeredDay: Int64?, firstActivityDay: Int64?, lastActivityDay: Int64?,
        offboardedDay: Int64?, reactivationDays: [Int64]
    ) {
        self.client = client
        self.registeredDay = registeredDay
        self.firstActivityDay = firstActivityDay
        self.lastActivityDay = lastActivityDay
        self.offboardedDay = offboardedDay
        self.reactivationDays = reactivationDays
    }
}

/// A client's activity in one month: totals, and the day-by-day detail as an opaque blob.
public struct RetentionMonthRecord: Sendable, Equatable {
    public var month: Int64
    public var activeDays: Int64
    public var activities: Int64
    public var tradedCents: Int64
    public var purchasedCents: Int64
    public var depositedCents: Int64
    public var withdrawnCents: Int64
    public var promoters: Int64
    public var passives: Int64
    public var detractors: Int64
    public var daily: [UInt8]

    public init(
        month: Int64, activeDays: Int64, activities: Int64, tradedCents: Int64, purchasedCents: Int64,
        depositedCents: Int64, withdrawnCents: Int64, promoters: Int64, passives: Int64, detractors: Int64, daily: [UInt8]
    ) {
        self.month = month
        self.activeDays = activeDays
        self.activities = activities
        self.tradedCents = tradedCents
        self.purchasedCents = purchasedCents
        self.depositedCents = depositedCents
        self.withdrawnCents = withdrawnCents
        self.promoters = promoters
        self.passives = passives
        self.detractors = detractors
        self.daily = daily
    }
}

/// One client × product eligibility row.
public struct EligibilityRecord: Sendable, Equatable {
    public var client: String
    public var product: String
    public var eligible: Bool
    public var failedChecks: [String]
    public var riskValidUntil: String?

    public init(client: String, product: String, eligible: Bool, failedChecks: [String], riskValidUntil: String?) {
        self.client = client
        self.product = product
        self.eligible = eligible
        self.failedChecks = failedChecks
        self.riskValidUntil = riskValidUntil
    }
}

/// A client's fold as stored: its snapshot and, for a client of many point lots, the pages of
/// its older lots in order (a catch-up that only adds lots writes the snapshot again, not them).
public struct StoredFold: Sendable, Equatable {
    public var snapshot: [UInt8]
    public var pages: [[UInt8]]

    public init(snapshot: [UInt8], pages: [[UInt8]] = []) {
        self.snapshot = snapshot
        self.pages = pages
    }
}

/// One page of a client's point lots, by its place among the client's pages (from 0).
public struct FoldPage: Sendable, Equatable {
    public var index: Int64
    public var lots: [UInt8]

    public init(index: Int64, lots: [UInt8]) {
        self.index = index
        self.lots = lots
    }
}

/// Everything the projections keep for one client, written (or replaced) together.
public struct ClientRows: Sendable {
    public var membership: MembershipRecord
    /// Tier changes from `tierHistoryFrom` on: they replace every stored change of the client
    /// with that `seq` or a later one (a catch-up passes only what changed; a correction can
    /// rewrite or shorten the tail of a history).
    public var tierHistory: [TierChangeRecord]
    /// The first `seq` that `tierHistory` replaces (1: the whole history).
    public var tierHistoryFrom: Int64
    public var retention: RetentionClientRecord
    /// Months to write (a catch-up passes only the months it touched).
    public var months: [RetentionMonthRecord]
    public var eligibility: [EligibilityRecord]
    /// The client's fold, to resume from on the next catch-up, and its stream version.
    public var foldVersion: Int64
    public var foldSnapshot: [UInt8]
    /// How many pages of lots the client's fold has now: stored pages from this one on are
    /// deleted.
    public var foldPageCount: Int64
    /// The pages to write: all of them into fresh tables, those that changed into live ones.
    public var foldPages: [FoldPage]

    public init(
        membership: MembershipRecord, tierHistory: [TierChangeRecord], retention: RetentionClientRecord,
        months: [RetentionMonthRecord], eligibility: [EligibilityRecord], foldVersion: Int64, foldSnapshot: [UInt8],
        foldPageCount: Int64 = 0, foldPages: [FoldPage] = [], tierHistoryFrom: Int64 = 1
    ) {
        self.foldPageCount = foldPageCount
        self.foldPages = foldPages
        self.membership = membership
        self.tierHistory = tierHistory
        self.tierHistoryFrom = tierHistoryFrom
        self.retention = retention
        self.months = months
        self.eligibility = eligibility
        self.foldVersion = foldVersion
        self.foldSnapshot = foldSnapshot
    }
}

// MARK: - The contract

/// Where the projections keep their rows: the second half of the storage contract.
///
/// Guarantees every adapter gives:
/// - **Same database as the log.** `write` and `read` run in a transaction of the database
///   that holds `log`: the log read inside them (head, replay) is that transaction's
///   snapshot, so rows and the checkpoint they record always agree with the log.
/// - **Atomicity.** Rows and checkpoints written in one `write` commit together or not at
///   all; a body that throws leaves every table as it was.
/// - **Atomic swap.** `swapInFreshTables` replaces every live table by its fresh copy inside
///   the transaction: a reader sees the old projections or the new ones, never a mix.
/// - **Derived data only.** Every table can be dropped and rebuilt from position 0.
public protocol ProjectionStore: AnyObject {
    /// The event log in the same database.
    var log: any EventStore { get }
    /// Whether the projection tables exist (they are created on the first build).
    func isInstalled() throws -> Bool
    /// Live projection tables that an installed schema should have but the database lacks
    /// (dropped by hand), by name; empty when every table is there or none is installed.
    /// Asked of the database's catalogue, so that a missing table is reported as such
    /// rather than surfacing as a backend failure in the middle of a query.
    func missingTables() throws -> [String]
    /// Creates the projection tables when the database lacks them (no-op when read-only).
    func install() throws
    /// Every checkpoint, `fold` included, by name.
    func checkpoints() throws -> [ProjectionCheckpoint]
    /// Clients with a fold snapshot.
    func foldCount() throws -> Int

    func write<R>(_ body: (any ProjectionTransaction) throws -> R) throws -> R
    func read<R>(_ body: () throws -> R) throws -> R

    /// Membership rows of one client, or every client (optionally of one tier), by client.
    func membership(client: String?, tier: String?) throws -> [MembershipRecord]
    /// A client's recorded tier changes, in order.
    func tierHistory(client: String) throws -> [TierChangeRecord]
    /// Eligibility rows of one client or of one product (or all), by client and product.
    func eligibility(client: String?, product: String?) throws -> [EligibilityRecord]
    /// Every client's lifecycle days.
    func retentionClients() throws -> [RetentionClientRecord]
    /// Every client's months up to `month` (inclusive), by client then month.
    func retentionMonths(through month: Int64, _ body: (_ client: String, _ month: Int64, _ daily: [UInt8]) throws -> Void) throws
    /// Every client's stored fold, by client (the insight projection reads them).
    func foldSnapshots(_ body: (_ client: String, _ fold: StoredFold) throws -> Void) throws

    /// For long jobs that hold their own memory (a partitioned rebuild): keep the database's
    /// cache small, and hand freed memory back to the system between rounds.
    func useSmallCache(_ small: Bool) throws
    func releaseMemory()
}

/// Reads and writes inside one projection write transaction.
public protocol ProjectionTransaction: AnyObject {
    /// A client's stored fold, its pages of lots included (live tables).
    func foldSnapshot(client: String) throws -> StoredFold?
    /// A client's stored day-by-day activity of one month (live tables).
    func monthActivity(client: String, month: Int64) throws -> [UInt8]?
    /// Writes or replaces a client's rows.
    func put(_ rows: ClientRows, into tables: ProjectionTables) throws
    /// Records the position every projection has reached; with `rulesVersion`, also the
    /// rules the rows were built with and when.
    func setCheckpoint(_ position: Int64, rulesVersion: String?, builtAt: Timestamp?) throws
    /// Empty fresh copies of every table, for a rebuild.
    func createFreshTables() throws
    /// Replaces every live table with its fresh copy.
    func swapInFreshTables() throws
    /// Drops fresh copies left by an interrupted rebuild.
    func dropFreshTables() throws
}
