import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerDomain
@testable import LedgerProjections
import LedgerApplication
import LedgerCore
import LedgerSQLite
import LedgerStorage

/// SPEC §5: "A rebuild writes into fresh tables and swaps them in one transaction" — readers
/// see the old projection or the new one, never a mix, never the fresh tables.
@Suite("Atomic rebuild")
struct RebuildSwapTests {
    @Test("a reader holding a read transaction across a rebuild keeps the old rows and checkpoint; afterwards it sees the new")
    func readerKeepsItsSnapshotAcrossARebuild() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            let batches = generatedBatches(seed: 21)
            try ledger.importLines(batches[0])
            try ledger.importLines(batches[1])
            try store.engine(rules, asOf: generatedAsOf).rebuild()
            let old = try dumpProjections(store.log.connection)
            let oldCheckpoint = try checkpointPositions(store.log.connection)
            try ledger.importLines(batches[2])
            let head = try store.log.head().position

            let reader = try SQLiteEventStore(path: store.path, readOnly: true)
            let readerEngine = try ProjectionEngine(store: reader.projectionStore(), rules: rules, asOf: generatedAsOf)
            let proposed = try silverAtThousandRules()
            var seenInside: ProjectionDump?
            var statusInside: [ProjectionStatus] = []
            var newTablesInside: [String] = []
            try reader.connection.read {
                let first = try dumpProjections(reader.connection)
                #expect(first == old)
                // Another connection rebuilds with other rules and more events meanwhile.
                let writerEngine = try store.engine(proposed, asOf: generatedAsOf.adding(days: 1))
                let run = try writerEngine.rebuild()
                #expect(run.toPosition == head)
                seenInside = try dumpProjections(reader.connection)
                statusInside = try readerEngine.status()
                newTablesInside = try newTableNames(reader.connection)
            }
            #expect(seenInside == old, "the reader's snapshot moved: \(seenInside?.firstDifference(from: old) ?? "")")
            #expect(statusInside.map(\.checkpoint) == [Int64](repeating: oldCheckpoint["membership"] ?? -1, count: 3))
            #expect(statusInside.allSatisfy { $0.rulesVersion == rules.version })
            #expect(statusInside.allSatisfy { $0.lag == head - (oldCheckpoint["membership"] ?? 0) })
            #expect(newTablesInside.isEmpty)

            // The read transaction is over: the reader now sees exactly what the writer sees.
            let after = try dumpProjections(reader.connection)
            let writerView = try dumpProjections(store.log.connection)
            #expect(after == writerView)
            #expect(after != old)
            #expect(try checkpointPositions(reader.connection).values.allSatisfy { $0 == head })
            let statusAfter = try ProjectionEngine(store: reader.projectionStore(), rules: proposed, asOf: generatedAsOf).status()
            #expect(statusAfter.allSatisfy { $0.rulesVersion == proposed.version && !$0.stale && $0.lag == 0 })
            #expect(try newTableNames(reader.connection).isEmpty)
            #expect(try reader.connection.scalarInt("SELECT count(*) FROM membership WHERE as_of = ?", [generatedAsOf.adding(days: 1).iso8601])
                == (try reader.connection.scalarInt("SELECT count(*) FROM membership")))
        }
    }

    @Test("a rebuild whose write transaction fails leaves the old projection serving, with its checkpoint and no __new table")
    func failedRebuildLeavesTheOldProjection() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            let batches = generatedBatches(seed: 22)
            try ledger.importLines(batches[0])
            let engine = try store.engine(rules, asOf: generatedAsOf)
            try engine.rebuild()
            let old = try dumpProjections(store.log.connection)
            let oldStatus = try engine.status()
            let schemaBefore = try store.log.connection.scalarString(
                "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master ORDER BY name)")
            try ledger.importLines(batches[1])

            let reader = try SQLiteEventStore(path: store.path, readOnly: true)
            // Other rules (so a swap would show), and the swap transaction fails at its end.
            let other = try ProjectionEngine(store: store.log.projectionStore(), rules: try silverAtThousandRules(), asOf: generatedAsOf.adding(days: 1))
            var readerDuring: ProjectionDump?
            let failure = expectSomeError {
                _ = try withInjectedFailure(.checkpoint, on: store.log.connection) {
                    try other.rebuild(progress: { _ in
                        // Between the fold and the write transaction: the old rows still serve.
                        readerDuring = try? dumpProjections(reader.connection)
                    })
                }
            }
            #expect(failure.map { "\($0)".contains("simulated crash") } == true, "\(String(describing: failure))")
            #expect(readerDuring == old)
            #expect(!store.log.connection.isInTransaction)

            for connection in [store.log.connection, reader.connection] {
                #expect(try newTableNames(connection).isEmpty)
                let now = try dumpProjections(connection)
                #expect(now == old, "a failed rebuild changed rows: \(now.firstDifference(from: old) ?? "")")
            }
            #expect(try store.log.connection.scalarString(
                "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master ORDER BY name)") == schemaBefore)
            let status = try engine.status()
            #expect(status.map(\.checkpoint) == oldStatus.map(\.checkpoint))
            #expect(status.map(\.rulesVersion) == oldStatus.map(\.rulesVersion))
            #expect(status.allSatisfy { $0.lag > 0 })

            // The next good rebuild works from that state.
            try engine.rebuild()
            #expect(try engine.checkpoint() == (try store.log.head().position))
            #expect(try newTableNames(store.log.connection).isEmpty)
            #expect(try store.log.connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE name = 'eligibility_by_product'") == 1)
        }
    }

    @Test("readers polling while imports, rebuilds and catch-ups commit only ever see one whole projection, consistent with its checkpoint")
    func concurrentReadersNeverSeeAHalfBuiltProjection() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let proposed = try silverAtThousandRules()
            var generator = HistoryGenerator(seed: 23)
            let first = generator.batch(fromDay: 0, toDay: 60, newClients: 150)
            let batches = (1...9).map { generator.batch(fromDay: Int64($0) * 60, toDay: Int64($0 + 1) * 60, newClients: 20) }
            try store.ledger(rules).importLines(first)
            try store.engine(rules, asOf: generatedAsOf).rebuild()
            let products = Int64(rules.products.count)
            // As-of per rules version, so a row written under the other rules would show.
            let asOfByVersion = [
                rules.version: generatedAsOf.iso8601,
                proposed.version: generatedAsOf.adding(days: 3).iso8601,
            ]

            let path = store.path
            let progress = RebuildProgress()
            let writer = Thread {
                do {
                    let log = try SQLiteEventStore(path: path, readOnly: false)
                    let ledger = Ledger(store: log, rules: rules)
                    var current = (rules: rules, asOf: generatedAsOf)
                    for (round, batch) in batches.enumerated() {
                        try ledger.importLines(batch)
                        if round % 3 == 2 {
                            try ProjectionEngine(store: log.projectionStore(), rules: current.rules, asOf: current.asOf).catchUp()
                        } else {
                            current = round % 2 == 0 ? (proposed, generatedAsOf.adding(days: 3)) : (rules, generatedAsOf)
                            try ProjectionEngine(store: log.projectionStore(), rules: current.rules, asOf: current.asOf).rebuild()
                        }
                    }
                } catch {
                    progress.fail("\(error)")
                }
                progress.finish()
            }
            writer.stackSize = 8 << 20
            writer.start()

            let reader = try SQLiteEventStore(path: path, readOnly: true)
            var polls = 0
            var checkpointsSeen = Set<Int64>()
            var problems: [String] = []
            while !progress.isFinished || polls < 5 {
                try reader.connection.read {
                    polls += 1
                    let connection = reader.connection
                    let fresh = try newTableNames(connection)
                    if !fresh.isEmpty { problems.append("poll \(polls): visible \(fresh)") }
                    let versions = try connection.scalarString(
                        "SELECT group_concat(DISTINCT rules_version) FROM projection_checkpoints WHERE name != 'fold'")
                    let positions = try connection.scalarInt("SELECT count(DISTINCT position) FROM projection_checkpoints")
                    let checkpoint = try connection.scalarInt("SELECT max(position) FROM projection_checkpoints")
                    if positions != 1 { problems.append("poll \(polls): \(positions) different checkpoints") }
                    guard let asOf = asOfByVersion[versions] else {
                        problems.append("poll \(polls): rules versions \(versions)")
                        return
                    }
                    checkpointsSeen.insert(checkpoint)
                    // The rows are those of the events up to the checkpoint, all under one rules version.
                    let clients = try connection.scalarInt(
                        "SELECT count(*) FROM events WHERE type = 'ClientRegistered' AND position <= ?", [String(checkpoint)])
                    let awarded = try connection.scalarInt(
                        "SELECT coalesce(sum(json_extract(data, '$.points')), 0) FROM events WHERE type = 'PointsAwarded' AND position <= ?",
                        [String(checkpoint)])
                    let members = try connection.scalarInt("SELECT count(*) FROM membership")
                    let matching = try connection.scalarInt("SELECT count(*) FROM membership WHERE as_of = ?", [asOf])
                    let lifetime = try connection.scalarInt("SELECT coalesce(sum(points_lifetime), 0) FROM membership")
                    let eligibility = try connection.scalarInt(
                        "SELECT count(*) FROM eligibility e JOIN membership m ON m.client = e.client WHERE m.as_of = ?", [asOf])
                    let folds = try connection.scalarInt("SELECT count(*) FROM projection_fold")
                    if members != clients || matching != clients || eligibility != clients * products || folds < clients || lifetime != awarded {
                        problems.append(
                            "poll \(polls) at checkpoint \(checkpoint): \(clients) clients, \(members) members, \(matching) of as-of \(asOf), "
                                + "\(eligibility) eligibility rows, \(folds) folds, \(lifetime) lifetime points of \(awarded)")
                    }
                }
            }
            #expect(progress.failure == nil)
            #expect(problems.isEmpty, "\(problems.prefix(5))")
            #expect(polls >= 5)
            #expect(!checkpointsSeen.isEmpty)
            // The last round caught up under the default rules: everything applied, nothing stale.
            let status = try ProjectionEngine(store: reader.projectionStore(), rules: rules).status()
            #expect(status.allSatisfy { !$0.stale && $0.lag == 0 })
        }
    }

    @Test("a rebuild replaces rows of clients that the new fold no longer has, and rebuilds the eligibility index")
    func rebuildStartsFromFreshTables() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            try ledger.importLines(generatedBatches(seed: 24)[0])
            let engine = try store.engine(rules, asOf: generatedAsOf)
            try engine.rebuild()
            // A row no fold produces (as if left by an older program): a rebuild drops it.
            try store.log.connection.execute(
                "INSERT INTO membership SELECT 'ZZ-GHOST', tier, tier_since, rules_tier, points_available, points_expiring_90d, points_lifetime, points_qualifying, points_redeemed, points_expired, points_adjusted, net_assets_cents, offboarded, as_of FROM membership LIMIT 1")
            #expect(try store.log.connection.scalarInt("SELECT count(*) FROM membership WHERE client = 'ZZ-GHOST'") == 1)
            try engine.rebuild()
            #expect(try store.log.connection.scalarInt("SELECT count(*) FROM membership WHERE client = 'ZZ-GHOST'") == 0)
            let index = try store.log.connection.scalarString("SELECT sql FROM sqlite_master WHERE name = 'eligibility_by_product'")
            #expect(index.contains("eligibility(product, eligible)"))
        }
    }
}

/// Shared between the rebuilding thread and the polling test.
final class RebuildProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var finished = false
    private var problem: String?

    func finish() { lock.withLock { finished = true } }
    func fail(_ message: String) { lock.withLock { problem = message } }
    var isFinished: Bool { lock.withLock { finished } }
    var failure: String? { lock.withLock { problem } }
}
