import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerDomain
@testable import LedgerProjections
import LedgerCore
import LedgerSQLite
import LedgerStorage

/// A rebuild over very many clients reads the log once into a temporary file per range of
/// clients, then folds each range from its file: what comes back must be exactly the log's
/// events of that range, in log order, however the bytes were cut into writes and reads.
@Suite("Rebuild: the log sorted by range of clients")
struct RangeSpillTests {
    /// One event as the replay hands it to the decoder: the fields that the fold reads.
    struct Row: Equatable {
        var position: Int64
        var clientId: String
        var type: EventType
        var schemaVersion: Int
        var occurredAt: Timestamp
        var data: [UInt8]
    }

    /// The client events of the log, straight from the store.
    func logRows(_ log: any EventStore) throws -> [Row] {
        var rows: [Row] = []
        try log.replay(category: "client", after: 0, through: try log.head().position) { row in
            let type = try #require(EventType(rawValue: row.type))
            rows.append(Row(
                position: row.position, clientId: String(row.stream.dropFirst("client/".count)), type: type,
                schemaVersion: row.schemaVersion, occurredAt: row.occurredAt, data: Array(row.data)))
        }
        return rows
    }

    /// Range `index` of `spill`, as the rebuild reads it.
    func spilledRows(_ spill: RangeSpill, range index: Int, chunkSize: Int) throws -> [Row] {
        var rows: [Row] = []
        try spill.read(range: index, chunkSize: chunkSize) { chunk in
            #expect(chunk.rows.count <= chunkSize)
            for raw in chunk.rows {
                rows.append(Row(
                    position: raw.position, clientId: raw.clientId, type: raw.type, schemaVersion: raw.schemaVersion,
                    occurredAt: raw.occurredAt, data: Array(chunk.data[raw.dataStart..<raw.dataEnd])))
            }
        }
        return rows
    }

    @Test("each range gives back exactly its clients' events, in log order, with tiny writes and reads")
    func rangesGiveBackTheLog() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            for batch in generatedBatches(seed: 11) { try ledger.importLines(batch) }
            let expected = try logRows(store.log)
            #expect(expected.count > 100)
            let ids = try store.log.streamIds(category: "client").sorted()
            #expect(ids.count > 3)
            // Writes of 40 bytes and reads of 48: every event straddles both, and most are
            // longer than either (the buffer is bypassed, the read block grows).
            for (buffer, read) in [(40, 48), (200, 64), (256 << 10, 1 << 20)] {
                let ranges = Partition.split(ids, into: 3)
                let spill = RangeSpill(ranges: ranges, bufferBytes: buffer, readBytes: read)
                try spill.fill(from: store.log, through: try store.log.head().position)
                #expect(spill.events == Int64(expected.count))
                var seen = 0
                for index in ranges.indices {
                    let range = ranges[index]
                    let rows = try spilledRows(spill, range: index, chunkSize: 7)
                    let theirs = expected.filter { row in row.clientId >= range.from && range.before.map { row.clientId < $0 } ?? true }
                    #expect(!theirs.isEmpty)
                    #expect(rows == theirs, "range \(index) with writes of \(buffer) and reads of \(read) bytes")
                    seen += rows.count
                }
                #expect(seen == expected.count)
            }
        }
    }

    @Test("events after the given head are left out")
    func stopsAtHead() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            let batches = generatedBatches(seed: 3)
            try ledger.importLines(batches[0])
            let head = try store.log.head().position
            let before = try logRows(store.log)
            for batch in batches.dropFirst() { try ledger.importLines(batch) }
            let spill = RangeSpill(ranges: Partition.split(try store.log.streamIds(category: "client").sorted(), into: 2))
            try spill.fill(from: store.log, through: head)
            let rows = try (0..<2).flatMap { try spilledRows(spill, range: $0, chunkSize: 1_024) }
            #expect(rows.sorted { $0.position < $1.position } == before)
        }
    }

    @Test("a range read a second time is refused: its file is given back, and reading nothing is not taken for an empty range")
    func secondReadRefused() throws {
        try withTemporaryLedger { store in
            try store.ledger(try defaultRules()).importLines(generatedBatches(seed: 3)[0])
            let spill = RangeSpill(ranges: [Partition(from: "", before: nil)])
            try spill.fill(from: store.log, through: try store.log.head().position)
            #expect(spill.events > 0)
            #expect(try spilledRows(spill, range: 0, chunkSize: 64).count == Int(spill.events))
            #expect(throws: StorageError.self) { try spilledRows(spill, range: 0, chunkSize: 64) }
        }
    }

    @Test("a client id falls in the one range that holds it")
    func rangeIndex() {
        let ids = ["C001", "C002", "C010", "C100", "C101", "D", "a"]
        for count in 1...8 {
            let ranges = Partition.split(ids, into: count)
            for id in ids + ["", "B", "C0015", "C9", "zz"] {
                let holding = ranges.indices.filter { ranges[$0].from <= id && ranges[$0].before.map { id < $0 } ?? true }
                #expect(holding == [Partition.index(of: id, in: ranges)], "\(id) among \(count) ranges")
            }
        }
    }
}
