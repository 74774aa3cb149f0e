import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerDomain
@testable import LedgerProjections
import LedgerCore
import LedgerSQLite
import LedgerStorage

/// Exactly-once application of events across crashes, and determinism of rebuilds and
/// catch-ups (SPEC §1: "a rebuild is deterministic"; §5: rows and checkpoint in one transaction).
@Suite("Catch-up and rebuild")
struct CatchUpTests {
    // MARK: - Exactly once across a crash

    @Test("a catch-up rolled back after writing its rows, then run again, equals a clean rebuild")
    func crashBetweenCatchUpBatches() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            let engine = try store.engine(rules, asOf: generatedAsOf)
            let batches = generatedBatches(seed: 7)

            try ledger.importLines(batches[0])
            let built = try engine.rebuild()
            #expect(built.toPosition == (try store.log.head().position))

            try ledger.importLines(batches[1])
            let second = try engine.catchUp()
            #expect(second.eventsApplied == (try clientEvents(after: built.toPosition, store.log.connection)))
            let beforeCrash = try dumpProjections(store.log.connection)
            let checkpointBeforeCrash = try engine.checkpoint()
            #expect(checkpointBeforeCrash == second.toPosition)

            try ledger.importLines(batches[2])
            let head = try store.log.head().position
            #expect(head > checkpointBeforeCrash)

            // Crash 1: the catch-up writes all its rows and its checkpoint, then the
            // transaction around it fails before committing.
            var runInsideCrash: ProjectionRun?
            do {
                try store.log.connection.write {
                    runInsideCrash = try engine.catchUp()
                    #expect(try engine.checkpoint() == head, "inside the transaction the rows and checkpoint were written")
                    throw SimulatedCrash()
                }
                Issue.record("the simulated crash did not propagate")
            } catch is SimulatedCrash {
            }
            #expect(runInsideCrash?.toPosition == head)
            #expect((runInsideCrash?.eventsApplied ?? 0) > 0)
            #expect(!store.log.connection.isInTransaction)
            #expect(try engine.checkpoint() == checkpointBeforeCrash)
            let afterCrash1 = try dumpProjections(store.log.connection)
            #expect(afterCrash1 == beforeCrash, "a rolled-back catch-up left rows behind: \(afterCrash1.firstDifference(from: beforeCrash) ?? "")")

            // Crash 2: the catch-up fails on its own halfway through writing rows (the first
            // client's membership and retention rows are written, its eligibility rows fail).
            // Crash 3: it fails at its last step, updating the checkpoint.
            for failure in [InjectedFailure.insertInto("eligibility"), .insertInto("retention_months"), .checkpoint] {
                let error = expectSomeError {
                    _ = try withInjectedFailure(failure, on: store.log.connection) { try engine.catchUp() }
                }
                #expect(error.map { "\($0)".contains("simulated crash") } == true, "\(failure): \(String(describing: error))")
                #expect(!store.log.connection.isInTransaction)
                #expect(try engine.checkpoint() == checkpointBeforeCrash)
                let afterCrash = try dumpProjections(store.log.connection)
                #expect(afterCrash == beforeCrash, "\(failure) left rows behind: \(afterCrash.firstDifference(from: beforeCrash) ?? "")")
            }

            // Recovery: catch up again; every event after the checkpoint is applied once.
            let recovered = try engine.catchUp()
            #expect(recovered.fromPosition == checkpointBeforeCrash)
            #expect(recovered.toPosition == head)
            #expect(recovered.eventsApplied == (try clientEvents(after: checkpointBeforeCrash, store.log.connection)))
            #expect(try engine.checkpoint() == head)
            #expect(try engine.catchUp().eventsApplied == 0, "a second catch-up has nothing to apply")

            let incremental = try dumpProjections(store.log.connection)
            try expectPointsMatchTheLog(store.log.connection)

            // A clean rebuild from position 0 gives the very same rows.
            try engine.rebuild()
            let clean = try dumpProjections(store.log.connection)
            #expect(incremental == clean, "catch-up after crashes differs from a rebuild: \(incremental.firstDifference(from: clean) ?? "")")
            #expect(try checkpointPositions(store.log.connection).values.allSatisfy { $0 == head })
        }
    }

    @Test("a crash between two imports' catch-ups: catching up once over both applies every event once")
    func crashAcrossSeveralImports() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            let engine = try store.engine(rules, asOf: generatedAsOf)
            let batches = generatedBatches(seed: 11)
            try ledger.importLines(batches[0])
            try engine.rebuild()
            let checkpoint = try engine.checkpoint()

            try ledger.importLines(batches[1])
            do {
                try store.log.connection.write {
                    try engine.catchUp()
                    throw SimulatedCrash()
                }
            } catch is SimulatedCrash {
            }
            try ledger.importLines(batches[2])
            try ledger.importLines(batches[3])
            #expect(try engine.checkpoint() == checkpoint)

            let run = try engine.catchUp()
            #expect(run.fromPosition == checkpoint)
            #expect(run.eventsApplied == (try clientEvents(after: checkpoint, store.log.connection)))
            #expect(try engine.checkpoint() == (try store.log.head().position))
            try expectPointsMatchTheLog(store.log.connection)

            let incremental = try dumpProjections(store.log.connection)
            try engine.rebuild()
            let clean = try dumpProjections(store.log.connection)
            #expect(incremental == clean, "\(incremental.firstDifference(from: clean) ?? "")")
        }
    }

    /// Applying an event twice (or skipping one) shows in the sums: lifetime points per client
    /// must equal the PointsAwarded in its stream, and activities the activity events.
    private func expectPointsMatchTheLog(_ connection: Connection, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let mismatchedPoints = try connection.scalarInt(
            """
            SELECT count(*) FROM membership m LEFT JOIN (
                SELECT substr(stream, 8) AS client, sum(json_extract(data, '$.points')) AS points
                FROM events WHERE type = 'PointsAwarded' GROUP BY stream) e ON e.client = m.client
            WHERE m.points_lifetime != coalesce(e.points, 0)
            """)
        #expect(mismatchedPoints == 0, "clients whose lifetime points differ from the log", sourceLocation: sourceLocation)
        let mismatchedActivities = try connection.scalarInt(
            """
            SELECT count(*) FROM retention_clients r LEFT JOIN (
                SELECT substr(stream, 8) AS client, count(*) AS n FROM events
                WHERE type IN ('TradeExecuted', 'ProductPurchased', 'FundsDeposited', 'FundsWithdrawn', 'InteractionLogged')
                GROUP BY stream) e ON e.client = r.client
            LEFT JOIN (SELECT client, sum(activities) AS n FROM retention_months GROUP BY client) m ON m.client = r.client
            WHERE coalesce(e.n, 0) != coalesce(m.n, 0)
            """)
        #expect(mismatchedActivities == 0, "clients whose activity count differs from the log", sourceLocation: sourceLocation)
        let clients = try connection.scalarInt("SELECT count(*) FROM membership")
        #expect(clients > 0, sourceLocation: sourceLocation)
        #expect(try connection.scalarInt("SELECT count(*) FROM membership WHERE points_lifetime > 0") > 0, sourceLocation: sourceLocation)
    }

    // MARK: - Determinism

    @Test("two rebuilds of the same log with the same rules give identical rows in every table")
    func rebuildTwiceIsIdentical() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            for batch in generatedBatches(seed: 3) { try ledger.importLines(batch) }
            let engine = try store.engine(rules, asOf: generatedAsOf)
            try engine.rebuild()
            let first = try dumpProjections(store.log.connection)
            // A second engine (fresh state, same rules and as-of) rebuilds again.
            try store.engine(try defaultRules(), asOf: generatedAsOf).rebuild()
            let second = try dumpProjections(store.log.connection)
            #expect(first.tables["membership"]?.isEmpty == false)
            #expect(first.tables["membership_tier_history"]?.isEmpty == false)
            #expect(first.tables["retention_months"]?.isEmpty == false)
            for (table, _) in projectionTables {
                #expect(first.tables[table] == second.tables[table], "table \(table) differs between two rebuilds")
            }
            #expect(first.checkpoints == second.checkpoints)
        }
    }

    @Test("a rebuild in partitions (as for very many clients) gives the same rows as one in a single pass")
    func partitionedRebuildIsIdentical() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            for batch in generatedBatches(seed: 5) { try ledger.importLines(batch) }
            try store.engine(rules, asOf: generatedAsOf).rebuild()
            let single = try dumpProjections(store.log.connection)
            let partitioned = try store.engine(rules, asOf: generatedAsOf)
            partitioned.clientsPerPartition = 2
            try partitioned.rebuild()
            let parts = try dumpProjections(store.log.connection)
            #expect(single.tables["membership"]?.isEmpty == false)
            for (table, _) in projectionTables {
                #expect(single.tables[table] == parts.tables[table], "table \(table) differs between a single-pass and a partitioned rebuild")
            }
            #expect(single.checkpoints == parts.checkpoints)
            #expect(try newTableNames(store.log.connection).isEmpty)
        }
    }

    @Test("a rebuild's ranges of client ids cover every id once, in parts of about equal size")
    func partitionRanges() {
        let ids = ["A", "B", "C", "D", "E"]
        #expect(Partition.split(ids, into: 2) == [Partition(from: "", before: "C"), Partition(from: "C", before: nil)])
        #expect(Partition.split(ids, into: 1) == [Partition(from: "", before: nil)])
        #expect(Partition.split(ids, into: 9).count == 5, "no more ranges than ids")
        #expect(Partition.split([], into: 3) == [Partition(from: "", before: nil)])
        for count in 1...6 {
            let ranges = Partition.split(ids, into: count)
            for id in ids {
                #expect(ranges.filter { $0.from <= id && $0.before.map { id < $0 } ?? true }.count == 1, "\(id) in one range of \(count)")
            }
        }
    }

    @Test("catching up after each of several imports equals a rebuild from scratch, with the same as-of")
    func incrementalEqualsRebuild() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            let engine = try store.engine(rules, asOf: generatedAsOf)
            let batches = generatedBatches(seed: 5)
            try ledger.importLines(batches[0])
            try engine.rebuild()
            var applied: Int64 = 0
            let start = try engine.checkpoint()
            for batch in batches.dropFirst() {
                try ledger.importLines(batch)
                applied += try engine.catchUp().eventsApplied
                #expect(try engine.checkpoint() == (try store.log.head().position))
            }
            #expect(applied == (try clientEvents(after: start, store.log.connection)))
            let incremental = try dumpProjections(store.log.connection)

            let fresh = try store.engine(try defaultRules(), asOf: generatedAsOf)
            try fresh.rebuild()
            let rebuilt = try dumpProjections(store.log.connection)
            #expect(incremental == rebuilt, "\(incremental.firstDifference(from: rebuilt) ?? "")")
        }
    }

    @Test("a catch-up taken in chunks of a few events (a client's events split across chunks) equals a rebuild")
    func catchUpInSmallChunks() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            let batches = generatedBatches(seed: 9)
            try ledger.importLines(batches[0])
            let engine = try store.engine(rules, asOf: generatedAsOf)
            try engine.rebuild()
            for batch in batches.dropFirst() { try ledger.importLines(batch) }
            let chunked = try store.engine(rules, asOf: generatedAsOf)
            chunked.catchUpChunkEvents = 3
            let run = try chunked.catchUp()
            #expect(run.eventsApplied > 3 * 4, "the catch-up spans several chunks")
            let incremental = try dumpProjections(store.log.connection)
            try engine.rebuild()
            let rebuilt = try dumpProjections(store.log.connection)
            #expect(incremental.tables["membership"]?.isEmpty == false)
            #expect(incremental == rebuilt, "\(incremental.firstDifference(from: rebuilt) ?? "")")
        }
    }

    @Test("catching up after every single event equals a rebuild")
    func catchUpEventByEvent() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            let engine = try store.engine(rules, asOf: generatedAsOf)
            var generator = HistoryGenerator(seed: 99)
            let lines = generator.batch(fromDay: 0, toDay: 200, newClients: 6) + generator.batch(fromDay: 200, toDay: 400, newClients: 2)
            #expect(lines.count > 40)
            try engine.rebuild()  // an empty log: nothing but the checkpoint
            #expect(try engine.checkpoint() == 0)
            for line in lines {
                try ledger.importLines([line])
                try engine.catchUp()
            }
            let incremental = try dumpProjections(store.log.connection)
            try engine.rebuild()
            let rebuilt = try dumpProjections(store.log.connection)
            #expect(incremental == rebuilt, "\(incremental.firstDifference(from: rebuilt) ?? "")")
        }
    }

    @Test("a catch-up with nothing new, or only campaign events, moves the checkpoint and no row")
    func catchUpWithoutClientEvents() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            let engine = try store.engine(rules, asOf: generatedAsOf)
            try ledger.importLines(generatedBatches(seed: 1)[0])
            try engine.rebuild()
            let before = try dumpProjections(store.log.connection)
            let idle = try engine.catchUp()
            #expect(idle.eventsApplied == 0)
            #expect(idle.fromPosition == idle.toPosition)

            let campaign = #"{"type":"CampaignDefined","campaignId":"SPRING","occurredAt":"2025-03-01T00:00:00Z","data":{"name":"Spring","definition":{"id":"SPRING","name":"Spring","window":{"from":"2025-03-01","to":"2025-03-31"},"award":{"fixed":100},"perClientCap":100,"budget":1000}}}"#
            try ledger.importLines([campaign])
            let head = try store.log.head().position
            let run = try engine.catchUp()
            #expect(run.eventsApplied == 0)
            #expect(run.toPosition == head)
            #expect(try engine.checkpoint() == head)
            let after = try dumpProjections(store.log.connection)
            #expect(after.tables == before.tables)
        }
    }

    @Test("a catch-up writes the rows of a client that changed and leaves its unchanged rows alone")
    func catchUpLeavesUnchangedRowsAlone() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            let engine = try store.engine(rules, asOf: generatedAsOf)
            try ledger.importLines([
                #"{"type":"ClientRegistered","clientId":"C1","occurredAt":"2025-01-02T00:00:00Z","data":{"name":"A","segment":"retail","investorType":"ordinary","branch":"SH"}}"#,
                #"{"type":"ClientRegistered","clientId":"C2","occurredAt":"2025-01-02T00:00:00Z","data":{"name":"B","segment":"retail","investorType":"ordinary","branch":"SH"}}"#,
            ])
            try engine.rebuild()
            // Every row a statement inserts or really updates, by table (temporary triggers,
            // on this connection only: the engine writes through it).
            let connection = store.log.connection
            try connection.execute("CREATE TEMP TABLE written(name TEXT NOT NULL)")
            for table in ["membership", "eligibility", "retention_clients"] {
                try connection.execute("""
                    CREATE TEMP TRIGGER \(table)_inserted AFTER INSERT ON main.\(table) BEGIN INSERT INTO written VALUES ('\(table)'); END;
                    CREATE TEMP TRIGGER \(table)_updated AFTER UPDATE ON main.\(table) BEGIN INSERT INTO written VALUES ('\(table)'); END;
                    """)
            }
            func written(_ table: String) throws -> Int64 {
                try connection.scalarInt("SELECT count(*) FROM written WHERE name = ?", [table])
            }

            // A deposit too small to change any eligibility check: C1's membership and
            // retention rows change, its six eligibility rows come out the same.
            try ledger.importLines([#"{"type":"FundsDeposited","clientId":"C1","occurredAt":"2025-02-01T00:00:00Z","data":{"amount":1000.00}}"#])
            try engine.catchUp()
            #expect(try written("membership") == 1)
            #expect(try written("retention_clients") == 1)
            #expect(try written("eligibility") == 0)

            // A risk assessment changes them: every product's failed checks lose "no assessment".
            try connection.execute("DELETE FROM written")
            try ledger.importLines([#"{"type":"RiskAssessed","clientId":"C1","occurredAt":"2025-03-01T00:00:00Z","data":{"level":"C3","score":55}}"#])
            try engine.catchUp()
            #expect(try written("eligibility") == Int64(rules.products.count))
            #expect(try written("retention_clients") == 0, "an assessment is no activity: the retention row is the same")

            let incremental = try dumpProjections(connection)
            try engine.rebuild()
            let rebuilt = try dumpProjections(connection)
            #expect(incremental == rebuilt, "\(incremental.firstDifference(from: rebuilt) ?? "")")
        }
    }

    @Test("a ledger whose eligibility rows still carry their own as_of loses the column on opening, and catches up")
    func eligibilityMomentMigrated() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            try ledger.importLines(generatedBatches(seed: 3)[0])
            try store.engine(rules, asOf: generatedAsOf).rebuild()
            // Back to the table as the first projections migration made it.
            let connection = store.log.connection
            try connection.execute("ALTER TABLE eligibility ADD COLUMN as_of TEXT NOT NULL DEFAULT ''")
            try connection.execute("DELETE FROM schema_migrations WHERE name = '0102_eligibility_without_as_of'")

            let engine = try store.engine(rules, asOf: generatedAsOf)
            let columns = try connection.scalarInt("SELECT count(*) FROM pragma_table_info('eligibility') WHERE name = 'as_of'")
            #expect(columns == 0)
            try ledger.importLines(generatedBatches(seed: 3)[1])
            try engine.catchUp()
            let incremental = try dumpProjections(connection)
            try engine.rebuild()
            #expect(incremental == (try dumpProjections(connection)))
        }
    }
}
