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
}
