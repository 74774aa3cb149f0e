import Foundation
import LedgerApplication
import LedgerCore
import LedgerDomain
@testable import LedgerPostgres
@testable import LedgerProjections
import LedgerStorage
import LedgerTestSupport
import Testing

/// A rebuild over very many clients folds ranges of client ids, each read through the log's
/// (stream, version) index: on PostgreSQL too it gives the rows of a single pass.
@Suite("PostgreSQL: a rebuild in ranges of clients", .enabled(if: TestServer.isAvailable, TestServer.skipNote))
struct PostgresRebuildTests {
    @Test("a rebuild in ranges of two clients gives the same membership and eligibility rows as one in a single pass")
    func rangesEqualOnePass() throws {
        let location = try TestServer.makeDatabase()
        defer { TestServer.dropDatabase(location) }
        let (store, _) = try PostgresEventStore.create(try PostgresLocation(location))
        let rules = try Rules.defaults()
        var lines: [String] = []
        for client in 0..<7 {
            lines.append(#"{"type":"ClientRegistered","clientId":"C\#(client)","occurredAt":"2025-01-0\#(client + 1)T09:00:00Z","data":{"name":"Client \#(client)","segment":"retail","investorType":"ordinary","branch":"SH"}}"#)
        }
        for trade in 0..<60 {
            let day = String(format: "%02d", trade % 20 + 10)
            lines.append(#"{"type":"TradeExecuted","clientId":"C\#(trade % 7)","occurredAt":"2025-01-\#(day)T10:00:\#(String(format: "%02d", trade % 60))Z","data":{"orderId":"O-\#(trade)","productId":"EQ-1","notional":\#(20_000 + trade * 1_000).00}}"#)
        }
        let bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
        _ = try bytes.withUnsafeBufferPointer { try Ledger(store: store, rules: rules).importJSONLines($0) }
        let asOf = Timestamp(iso8601: "2025-03-01T00:00:00Z") ?? Timestamp(millisecondsSinceEpoch: 0)
        let single = try ProjectionEngine(store: store.projectionStore(), rules: rules, asOf: asOf)
        try single.rebuild()
        let membership = try single.membership()
        let eligibility = try single.eligibility(now: asOf)
        #expect(membership.count == 7)
        let ranges = try ProjectionEngine(store: store.projectionStore(), rules: rules, asOf: asOf)
        ranges.clientsPerPartition = 2
        let run = try ranges.rebuild()
        #expect(run.clientsWritten == 7)
        #expect(run.eventsApplied == (try store.head().position))
        #expect(try ranges.membership() == membership)
        #expect(try ranges.eligibility(now: asOf) == eligibility)
    }

    @Test("a client of many lots: its pages of lots are stored, and catch-ups that add and take lots equal a rebuild")
    func foldPagesCatchUp() throws {
        let location = try TestServer.makeDatabase()
        defer { TestServer.dropDatabase(location) }
        let (store, _) = try PostgresEventStore.create(try PostgresLocation(location))
        let rules = try Rules.defaults()
        let ledger = Ledger(store: store, rules: rules)
        func importLines(_ lines: [String]) throws {
            let bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
            _ = try bytes.withUnsafeBufferPointer { try ledger.importJSONLines($0) }
        }
        func trades(_ count: Int, day: String, order: String) -> [String] {
            (0..<count).map { trade in
                let time = String(format: "%02d:%02d:00", trade / 60, trade % 60)
                return #"{"type":"TradeExecuted","clientId":"C1","occurredAt":"\#(day)T\#(time)Z","data":{"orderId":"\#(order)-\#(trade)","productId":"EQ-1","notional":1000.00}}"#
            }
        }
        func folds() throws -> [String: StoredFold] {
            var all: [String: StoredFold] = [:]
            try store.projectionStore().foldSnapshots { all[$0] = $1 }
            return all
        }
        try importLines([#"{"type":"ClientRegistered","clientId":"C1","occurredAt":"2025-01-02T09:00:00Z","data":{"name":"One","segment":"retail","investorType":"ordinary","branch":"SH"}}"#]
            + trades(600, day: "2025-01-03", order: "A"))
        let asOf = Timestamp(iso8601: "2025-06-01T00:00:00Z") ?? Timestamp(millisecondsSinceEpoch: 0)
        let engine = try ProjectionEngine(store: store.projectionStore(), rules: rules, asOf: asOf)
        try engine.rebuild()
        #expect(try folds()["C1"]?.pages.count == 2)

        for step in [
            trades(10, day: "2025-03-01", order: "B"),
            [#"{"type":"PointsRedeemed","clientId":"C1","occurredAt":"2025-03-02T09:00:00Z","data":{"points":500,"reward":"Voucher"}}"#],
            trades(200, day: "2025-03-03", order: "C"),
        ] {
            try importLines(step)
            try engine.catchUp()
            let incremental = (try folds(), try engine.membership())
            try engine.rebuild()
            #expect(try folds() == incremental.0)
            #expect(try engine.membership() == incremental.1)
        }
        #expect(try folds()["C1"]?.pages.count == 3)
    }
}
