import Foundation
import LedgerCore
import LedgerDomain
import LedgerStorage

/// Where a projection stands.
public struct ProjectionStatus: Sendable, Equatable, Codable {
    public var name: String
    /// Last position applied.
    public var checkpoint: Int64
    /// Events in the log after the checkpoint.
    public var lag: Int64
    /// Rules version the rows were built with (null before the first build).
    @NullEncoded public var rulesVersion: String?
    /// When the last rebuild swapped in (null before the first).
    @NullEncoded public var builtAt: String?
    /// True when built with other rules than the ones in force.
    public var stale: Bool
}

/// What a catch-up or a rebuild did.
public struct ProjectionRun: Sendable, Equatable, Codable {
    public var fromPosition: Int64
    public var toPosition: Int64
    public var eventsApplied: Int64
    public var clientsWritten: Int
    public var seconds: Double
}

/// The projection engine: keeps membership, retention and eligibility in step with the log.
///
/// The three projections share one fold of the log (`ClientFold` per client). Rows and
/// checkpoints are written in the same transaction, so a crash never applies an event twice
/// or skips one. A rebuild folds from position 0 into fresh `__new` tables and swaps them in
/// with one transaction: a reader sees the old projection or the new one, never a mix.
public final class ProjectionEngine {
    /// Where the rows live; its `log` is the event log they are folded from.
    public let store: any ProjectionStore
    public var log: any EventStore { store.log }
    public let rules: Rules
    public let rulesVersion: String
    /// The moment rows are computed for (points expiring in 90 days, eligibility).
    public var asOf: Timestamp
    /// Stamps the checkpoints a rebuild records.
    public let clock: any LedgerClock

    public init(store: any ProjectionStore, rules: Rules, asOf: Timestamp? = nil, clock: any LedgerClock = SystemClock()) throws {
        self.store = store
        self.rules = rules
        self.rulesVersion = rules.version
        self.clock = clock
        self.asOf = asOf ?? clock.now()
        try store.install()
    }

    /// Whether the projection tables exist in this database.
    public var isInstalled: Bool {
        (try? store.isInstalled()) ?? false
    }

    // MARK: - Status

    /// Where each projection stands, by name. Before the projection tables exist, every
    /// projection is at checkpoint 0, never built (an answer, not an error: `projections
    /// status` reports it). Throws `tablesMissing` when a table was dropped by hand.
    public func status() throws -> [ProjectionStatus] {
        guard isInstalled else {
            let head = try log.head().position
            return ProjectionName.allCases.sorted().map { name in
                ProjectionStatus(name: name.rawValue, checkpoint: 0, lag: head, rulesVersion: nil, builtAt: nil, stale: true)
            }
        }
        try requireTables()
        return try store.read {
            let head = try log.head().position
            return try store.checkpoints().filter { $0.name != "fold" }.map { checkpoint in
                ProjectionStatus(
                    name: checkpoint.name, checkpoint: checkpoint.position, lag: head - checkpoint.position,
                    rulesVersion: checkpoint.rulesVersion.isEmpty ? nil : checkpoint.rulesVersion,
                    builtAt: checkpoint.builtAt.isEmpty ? nil : checkpoint.builtAt,
                    stale: checkpoint.rulesVersion != rulesVersion)
            }
        }
    }

    /// Throws `notBuilt` before the projection tables exist, and `tablesMissing` when one of
    /// them was dropped (by hand: the program never drops a live table outside a swap).
    /// Called before every read and write of the rows, so that the person gets the remedy
    /// rather than a backend's "no such table".
    public func requireTables() throws {
        guard isInstalled else { throw ProjectionError.notBuilt }
        let missing = try store.missingTables()
        guard missing.isEmpty else { throw ProjectionError.tablesMissing(missing) }
    }

    /// The position every projection has reached.
    public func checkpoint() throws -> Int64 {
        try store.checkpoints().map(\.position).min() ?? 0
    }

    // MARK: - Catching up

    /// Events a catch-up holds before applying them: bounds its memory after a long import.
    public static let catchUpChunkEvents = 100_000

    /// Events per chunk of this engine's catch-ups (tests set it small).
    public var catchUpChunkEvents = ProjectionEngine.catchUpChunkEvents

    /// Applies the events after the checkpoint to all three projections, in one transaction,
    /// touching only the clients those events belong to.
    @discardableResult
    public func catchUp() throws -> ProjectionRun {
        let started = Date()
        try requireTables()
        return try store.write { transaction in
            // Rows of one projection come from one set of rules: a catch-up with other rules
            // would mix them, so it is refused (a rebuild with the new rules is the way).
            let checkpoints = try store.checkpoints()
            let built = checkpoints.first { $0.name == ProjectionName.membership.rawValue }?.rulesVersion ?? ""
            if !built.isEmpty, built != rulesVersion {
                throw ProjectionError.builtWithOtherRules(built: built, inForce: rulesVersion)
            }
            let from = checkpoints.map(\.position).min() ?? 0
            let head = try log.head().position
            guard head > from else {
                return ProjectionRun(fromPosition: from, toPosition: from, eventsApplied: 0, clientsWritten: 0, seconds: 0)
            }
            // The events are taken in chunks and applied client by client, in client order:
            // one client's snapshot is read, brought up to date, written back and dropped
            // before the next is read, so a catch-up holds one fold at a time (a client's fold
            // carries its open point lots; holding every touched client's at once measured
            // 3–4 times slower, in fresh pages, than reusing one client's memory). A client
            // touched in two chunks is read back with what the first one wrote.
            let builder = ClientRowsBuilder(rules: rules, asOf: asOf)
            var chunk: [ReplayedEvent] = []
            let chunkEvents = max(1, catchUpChunkEvents)
            chunk.reserveCapacity(min(Int(head - from), chunkEvents))
            var clients = Set<String>()
            var applied: Int64 = 0
            func applyChunk() throws {
                // By client, then by place in the log: a client's events keep their order.
                let order = chunk.indices.sorted { (chunk[$0].clientId, $0) < (chunk[$1].clientId, $1) }
                var next = order.startIndex
                while next < order.endIndex {
                    let clientId = chunk[order[next]].clientId
                    var fold: ClientFold
                    do {
                        fold = try transaction.foldSnapshot(client: clientId).map { try ClientFold(stored: $0) }
                            ?? ClientFold(clientId: clientId, rules: rules)
                    } catch let error as ClientFold.UnknownSnapshotFormat {
                        // Written by another version of the program: only a rebuild can redo it.
                        throw ProjectionError.snapshotFormatOutdated(found: error.found, expected: ClientFold.snapshotFormat)
                    }
                    let historyBefore = fold.state.tierHistory
                    // Months come back from the retention rows as the client's events reach them.
                    var months = Set<Int64>()
                    while next < order.endIndex, chunk[order[next]].clientId == clientId {
                        let event = chunk[order[next]]
                        let month = ClientFold.month(ofDay: event.occurredAt.dayNumber)
                        if months.insert(month).inserted, let daily = try transaction.monthActivity(client: clientId, month: month) {
                            var reader = BinaryReader(daily)
                            fold.months[month] = try MonthActivity(from: &reader)
                        }
                        fold.apply(event.payload, at: event.occurredAt, churnedAfterDays: rules.churnedAfterDays)
                        next += 1
                    }
                    clients.insert(clientId)
                    // Tier changes are rewritten from the first one that differs from what was
                    // stored: new ones are appended, and a correction may rewrite the tail.
                    let history = fold.state.tierHistory
                    var same = 0
                    while same < min(history.count, historyBefore.count), history[same] == historyBefore[same] { same += 1 }
                    guard let rows = builder.rows(for: fold, months: months, historyFrom: same) else { continue }
                    try transaction.put(rows, into: .live)
                }
                chunk.removeAll(keepingCapacity: true)
            }
            try LogReplay.replay(log, after: from, through: head) { event in
                chunk.append(event)
                applied += 1
                if chunk.count >= chunkEvents { try applyChunk() }
            }
            try applyChunk()
            try transaction.setCheckpoint(head, rulesVersion: nil, builtAt: nil)
            return ProjectionRun(
                fromPosition: from, toPosition: head, eventsApplied: applied, clientsWritten: clients.count,
                seconds: Date().timeIntervalSince(started))
        }
    }

    // MARK: - Rebuilding

    /// Folds the whole log with these rules (in memory, nothing written).
    public func foldAll(through head: Int64? = nil) throws -> (folds: [String: ClientFold], head: Int64, events: Int64) {
        try store.read {
            let end = try head ?? log.head().position
            // The fold runs on the replay's worker thread; this one only reads the log meanwhile.
            let into = FoldAccumulator(rules: rules)
            try LogReplay.replayFoldingOnWorker(log, after: 0, through: end) { into.apply($0) }
            return (into.byClient(), end, into.applied)
        }
    }

    /// Folds range `index` of `spill` and turns each client's fold into its rows, in client
    /// order (a rebuild over very many clients).
    static func rows(
        ofRange index: Int, of spill: RangeSpill, rules: Rules, builder: ClientRowsBuilder
    ) throws -> (rows: [ClientRows], clients: Int, events: Int64) {
        let into = FoldAccumulator(rules: rules)
        try LogReplay.replay(range: index, of: spill) { into.apply($0) }
        let folds = into.sortedByClient()
        return (folds.compactMap { builder.rows(for: $0) }, folds.count, into.applied)
    }

    /// Clients folded per pass of a rebuild: bounds its memory (well under 1 GiB) however
    /// many clients the ledger has. Two ranges are in memory at once: one being written while
    /// the next is folded.
    public static let clientsPerPartition = 50_000

    /// Clients per partition for this engine's rebuilds (tests set it small).
    public var clientsPerPartition = ProjectionEngine.clientsPerPartition

    /// Rebuilds all three projections from position 0 with the engine's rules: writes fresh
    /// `__new` tables (folding at most `clientsPerPartition` clients at a time, outside the
    /// write lock), then swaps them in and records the checkpoint and rules version in one
    /// transaction. An interrupted rebuild leaves the old projections serving.
    @discardableResult
    public func rebuild(progress: ((String) -> Void)? = nil) throws -> ProjectionRun {
        let started = Date()
        let head = try log.head().position
        let partitions = max(1, (try estimatedClients() + clientsPerPartition - 1) / max(1, clientsPerPartition))
        let builder = ClientRowsBuilder(rules: rules, asOf: asOf)
        func write(_ folds: [String: ClientFold], _ transaction: any ProjectionTransaction) throws {
            for client in folds.keys.sorted() {
                guard let fold = folds[client], let rows = builder.rows(for: fold) else { continue }
                try transaction.put(rows, into: .fresh)
            }
        }
        func swap(_ transaction: any ProjectionTransaction) throws {
            try transaction.swapInFreshTables()
            try transaction.setCheckpoint(head, rulesVersion: rulesVersion, builtAt: clock.now())
        }
        var events: Int64 = 0
        var clients = 0
        if partitions == 1 {
            // Fold outside the write lock, then fill the fresh tables and swap them in within
            // one transaction: no reader ever sees a fresh table.
            let (folds, _, applied) = try foldAll(through: head)
            events = applied
            clients = folds.count
            progress?("folded \(events) events of \(clients) clients")
            try store.write { transaction in
                try transaction.createFreshTables()
                try write(folds, transaction)
                try swap(transaction)
            }
        } else {
            // Very many clients: the fresh tables are filled one partition per transaction
            // (they are not read by anyone until the swap), then swapped in at once.
            try store.write { try $0.createFreshTables() }
            // Keep the database's page cache small while the folds hold the memory.
            try store.useSmallCache(true)
            defer { try? store.useSmallCache(false) }
            do {
                // The log is read once, in position order, into a temporary file per range of
                // clients. Then each range is folded from its file, and its rows built, on a
                // thread of its own while this one writes the rows of the range before: the
                // writing (SQLite, one row at a time) takes longer than the folding.
                let ranges = Partition.split(try log.streamIds(category: "client").sorted(), into: partitions)
                let spill = RangeSpill(ranges: ranges)
                var mark = Date()
                func seconds() -> String {
                    let now = Date()
                    defer { mark = now }
                    return String(format: "%.1f s", now.timeIntervalSince(mark))
                }
                try store.read { try spill.fill(from: log, through: head) }
                progress?("read \(spill.events) events of the log into \(ranges.count) ranges of clients (\(seconds()))")
                let rules = self.rules
                func folding(_ index: Int) -> BackgroundWork<(rows: [ClientRows], clients: Int, events: Int64)> {
                    BackgroundWork { try ProjectionEngine.rows(ofRange: index, of: spill, rules: rules, builder: builder) }
                }
                var next: BackgroundWork<(rows: [ClientRows], clients: Int, events: Int64)>? = folding(0)
                // A failure part-way never leaves a range folding behind it.
                defer { _ = try? next?.result() }
                for index in ranges.indices {
                    guard let current = next else { break }
                    next = nil
                    let (rows, folded, applied) = try current.result()
                    if index + 1 < ranges.count { next = folding(index + 1) }
                    events += applied
                    clients += folded
                    let waited = seconds()
                    try store.write { transaction in
                        for client in rows { try transaction.put(client, into: .fresh) }
                    }
                    // Hand memory freed by a range back to the system, so that the next
                    // range's folds do not stack on top of it.
                    store.releaseMemory()
                    progress?("part \(index + 1) of \(ranges.count): \(events) events of \(clients) clients (waited \(waited) for its rows, wrote them in \(seconds()))")
                }
                try store.write { try swap($0) }
            } catch {
                try? store.write { try $0.dropFreshTables() }
                throw error
            }
        }
        // Events appended while we folded are applied by an ordinary catch-up.
        try catchUp()
        return ProjectionRun(
            fromPosition: 0, toPosition: head, eventsApplied: events, clientsWritten: clients,
            seconds: Date().timeIntervalSince(started))
    }

    /// How many clients the ledger has: from the last build when there is one, otherwise by
    /// counting client streams.
    func estimatedClients() throws -> Int {
        // A fold table dropped by hand is rebuilt like the others: count the streams instead.
        let known = isInstalled ? (try? store.foldCount()) ?? 0 : 0
        if known > 0 { return known }
        return try log.streamCount(category: "client")
    }
}

/// The folds of a replay, in an array found through an index so that each is mutated in place.
final class FoldAccumulator: @unchecked Sendable {
    private let rules: Rules
    private let churnedAfterDays: Int64
    private var index: [String: Int] = [:]
    private var folds: [ClientFold] = []
    private(set) var applied: Int64 = 0

    init(rules: Rules) {
        self.rules = rules
        churnedAfterDays = rules.churnedAfterDays
    }

    func apply(_ event: ReplayedEvent) {
        let slot: Int
        if let known = index[event.clientId] {
            slot = known
        } else {
            slot = folds.count
            index[event.clientId] = slot
            folds.append(ClientFold(clientId: event.clientId, rules: rules))
        }
        folds[slot].apply(event.payload, at: event.occurredAt, churnedAfterDays: churnedAfterDays)
        applied += 1
    }

    /// The folds in client order.
    func sortedByClient() -> [ClientFold] {
        folds.sorted { $0.state.clientId < $1.state.clientId }
    }

    func byClient() -> [String: ClientFold] {
        var byClient: [String: ClientFold] = [:]
        byClient.reserveCapacity(folds.count)
        for fold in folds { byClient[fold.state.clientId] = fold }
        return byClient
    }
}

/// A value computed on a thread of its own; `result()` waits for it. The work must touch
/// nothing the caller touches meanwhile.
private final class BackgroundWork<Value>: @unchecked Sendable {
    private let condition = NSCondition()
    private var outcome: Result<Value, any Error>?

    init(_ work: @escaping @Sendable () throws -> Value) {
        let thread = Thread { [self] in
            let computed = Result { try work() }
            condition.lock()
            outcome = computed
            condition.broadcast()
            condition.unlock()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Waits for the work to end; its value, or what it threw.
    func result() throws -> Value {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let outcome { return try outcome.get() }
            condition.wait()
        }
    }
}

/// Failures of the projection engine.
public enum ProjectionError: Error, CustomStringConvertible, Sendable {
    case notBuilt
    case builtWithOtherRules(built: String, inForce: String)
    /// Projection tables the database should have and lacks (dropped by hand).
    case tablesMissing([String])
    /// A stored fold snapshot of another format (an older program built the projections).
    case snapshotFormatOutdated(found: Int64, expected: Int64)

    public var description: String {
        switch self {
        case .notBuilt:
            return "the projections are not built in this database yet (run `clientledger projections rebuild`)"
        case .tablesMissing(let tables):
            let names = tables.joined(separator: ", ")
            return "projection table\(tables.count == 1 ? "" : "s") \(names) \(tables.count == 1 ? "is" : "are") missing from the database; run `clientledger projections rebuild` to rebuild the projections"
        case .snapshotFormatOutdated(let found, let expected):
            return "the projections were built by another version of the program (fold snapshot format \(found), this version reads \(expected)); rebuild them with `clientledger projections rebuild`"
        case .builtWithOtherRules(let built, let inForce):
            return "the projections were built with rules \(built), not the rules in force (\(inForce)); rebuild them with `clientledger projections rebuild`"
        }
    }
}
