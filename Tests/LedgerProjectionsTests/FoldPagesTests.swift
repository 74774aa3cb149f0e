import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerProjections
import LedgerCore
import LedgerDomain
import LedgerSQLite
import LedgerStorage

/// A client's older point lots are stored in pages of their own, and a catch-up writes only
/// the pages whose lots changed.
@Suite("Fold pages")
struct FoldPagesTests {
    /// C1 registered, then `trades` trades a minute apart from 2025-01-02, each earning 10 points.
    static func lines(trades: Int) -> [String] {
        let start = at("2025-01-02T00:00:00Z")
        return [Line.registered("C1", start)]
            + (0..<trades).map { Line.trade("C1", start.adding(days: 1 + Int64($0) / 1_000).plus(milliseconds: Int64($0) * 60_000), "1000.00", order: "O-\($0)") }
    }

    @Test("a fold of many lots is stored as pages and a snapshot, and read back the same")
    func pagedRoundTrip() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            try store.ledger(rules).importLines(Self.lines(trades: 600))
            let engine = try store.engine(rules, asOf: at("2025-06-01T00:00:00Z"))
            let folds = try engine.foldAll().folds
            let fold = try #require(folds["C1"])
            #expect(fold.state.lots.count == 600)

            let stored = fold.stored()
            #expect(stored.pageCount == 600 / ClientFold.lotsPerPage)
            #expect(stored.changedPages.map(\.index) == [0, 1], "a fold not read from storage writes every page")
            let back = try ClientFold(stored: StoredFold(snapshot: stored.snapshot, pages: stored.changedPages.map(\.lots)))
            #expect(back.state.lots == fold.state.lots)
            #expect(back.snapshot == fold.snapshot)
            #expect(back.stored().changedPages.isEmpty, "nothing changed since it was read")

            // A page missing or one too many is refused, not taken for fewer lots.
            #expect(throws: BinaryReader.Malformed.self) {
                _ = try ClientFold(stored: StoredFold(snapshot: stored.snapshot, pages: [stored.changedPages[0].lots]))
            }
            #expect(throws: BinaryReader.Malformed.self) {
                _ = try ClientFold(stored: StoredFold(snapshot: stored.snapshot, pages: stored.changedPages.map(\.lots) + [stored.changedPages[0].lots]))
            }
            // The right lots in pages that are not full (a damaged table): refused, not compared
            // page by page past the lots read.
            func lots(_ range: Range<Int>) -> [UInt8] {
                var w = BinaryWriter()
                fold.state.encodeLots(range, to: &w)
                return w.bytes
            }
            #expect(throws: BinaryReader.Malformed.self) {
                _ = try ClientFold(stored: StoredFold(snapshot: stored.snapshot, pages: [lots(0..<256), lots(256..<384), lots(384..<512)]))
            }
        }
    }

    @Test("a catch-up writes no page when it only adds lots, and the pages a redemption changed when it takes from them")
    func catchUpWritesChangedPages() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            let engine = try store.engine(rules, asOf: at("2025-06-01T00:00:00Z"))
            try ledger.importLines(Self.lines(trades: 600))
            try engine.rebuild()
            let connection = store.log.connection
            #expect(try connection.scalarInt("SELECT count(*) FROM projection_fold_pages WHERE client = 'C1'") == 2)
            #expect(try connection.scalarInt("SELECT pages FROM projection_fold WHERE client = 'C1'") == 2)
            try connection.execute("CREATE TEMP TABLE written(page INTEGER)")
            // The triggers go with the table a rebuild replaces: set again after each.
            func watchPages() throws {
                try connection.execute("""
                CREATE TEMP TRIGGER page_inserted AFTER INSERT ON main.projection_fold_pages BEGIN INSERT INTO written VALUES (new.page); END;
                CREATE TEMP TRIGGER page_updated AFTER UPDATE ON main.projection_fold_pages BEGIN INSERT INTO written VALUES (new.page); END;
                CREATE TEMP TRIGGER page_deleted AFTER DELETE ON main.projection_fold_pages BEGIN INSERT INTO written VALUES (-1 - old.page); END;
                """)
            }
            try watchPages()
            func written() throws -> [Int64] {
                let statement = try connection.prepare("SELECT page FROM written ORDER BY rowid")
                var pages: [Int64] = []
                while try statement.step() { pages.append(statement.int64(at: 0)) }
                try connection.execute("DELETE FROM written")
                return pages
            }
            func expectSameAsRebuild() throws {
                let incremental = try dumpProjections(connection)
                try store.engine(rules, asOf: at("2025-06-01T00:00:00Z")).rebuild()
                let rebuilt = try dumpProjections(connection)
                #expect(incremental == rebuilt, "\(incremental.firstDifference(from: rebuilt) ?? "")")
                try watchPages()
                try connection.execute("DELETE FROM written")
            }

            // Ten more trades: lots 600-609 stay in the snapshot's unfilled page.
            let later = at("2025-03-01T00:00:00Z")
            try ledger.importLines((0..<10).map { Line.trade("C1", later.plus(milliseconds: Int64($0) * 60_000), "1000.00", order: "L-\($0)") })
            try engine.catchUp()
            #expect(try written().isEmpty)
            try expectSameAsRebuild()

            // A redemption takes from the oldest lots: page 0 changes, page 1 does not.
            try ledger.importLines([Line.redeemPoints("C1", later.adding(days: 1), 500)])
            try engine.catchUp()
            #expect(try written() == [0])
            try expectSameAsRebuild()

            // Enough trades to fill the third page: it is written, the first two are not.
            try ledger.importLines((0..<200).map { Line.trade("C1", later.adding(days: 2).plus(milliseconds: Int64($0) * 60_000), "1000.00", order: "M-\($0)") })
            try engine.catchUp()
            #expect(try written() == [2])
            #expect(try connection.scalarInt("SELECT pages FROM projection_fold WHERE client = 'C1'") == 3)
            try expectSameAsRebuild()
        }
    }
}

extension Timestamp {
    fileprivate func plus(milliseconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + milliseconds)
    }
}
