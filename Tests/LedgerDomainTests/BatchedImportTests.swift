import Foundation
import Testing

@testable import LedgerApplication
import LedgerCore
import LedgerDomain

/// A batched import checks its whole input on a thread of its own while the writing goes on
/// in the first transaction: nothing may be committed before the check has passed, and a bad
/// line is reported the way the check reports it, whichever side meets it first.
@Suite struct BatchedImportTests {
    /// Ten clients, then `count` interactions spread over them, one second apart.
    static func lines(_ count: Int) -> [String] {
        var lines = (0..<10).map { registrationLine("C\($0)", "2025-01-01T00:00:00Z") }
        for index in 0..<count {
            let moment = Timestamp(millisecondsSinceEpoch: 1_735_776_000_000 + Int64(index) * 1_000)
            lines.append(line("InteractionLogged", "C\(index % 10)", moment.iso8601, #"{"channel":"app","kind":"inquiry"}"#))
        }
        return lines
    }

    static func run(_ ledger: Ledger, _ lines: [String], batchSize: Int) throws -> (Ledger.ImportReport, [Int]) {
        let bytes = Array(lines.joined(separator: "\n").utf8)
        var commits: [Int] = []
        let report = try bytes.withUnsafeBufferPointer {
            try ledger.importJSONLines($0, batchSize: batchSize, batchCommitted: { commits.append($0) })
        }
        return (report, commits)
    }

    @Test("a bad last line of 8,000: no batch is committed, though the writing started before the check ended")
    func badLastLine() throws {
        try withTemporaryLedger { ledger in
            var input = Self.lines(8_000)
            input.append(line("InteractionLogged", "C1", "2025-13-01T00:00:00Z", #"{"channel":"app","kind":"inquiry"}"#))
            let before = try ledger.fingerprint()
            var commits: [Int] = []
            let error = #expect(throws: InputError.self) {
                let bytes = Array(input.joined(separator: "\n").utf8)
                _ = try bytes.withUnsafeBufferPointer {
                    try ledger.importJSONLines($0, batchSize: 50, batchCommitted: { commits.append($0) })
                }
            }
            #expect(error?.line == input.count)
            #expect(error?.field == "occurredAt")
            #expect(commits.isEmpty, "committed before the check passed: \(commits.prefix(5))")
            #expect(try ledger.fingerprint() == before)
        }
    }

    @Test("a duplicate id near the end is reported as the check names it (both lines), not as a unique index's complaint")
    func duplicateNearTheEnd() throws {
        try withTemporaryLedger { ledger in
            var input = Self.lines(6_000)
            // A copy of line 12 (an interaction): its derived id is the same.
            input.append(input[11])
            let before = try ledger.fingerprint()
            let error = #expect(throws: InputError.self) { _ = try Self.run(ledger, input, batchSize: 40) }
            #expect(error?.line == input.count)
            #expect(error?.field == "eventId")
            #expect(error?.problem.contains("line 12") == true, "\(error?.problem ?? "")")
            #expect(try ledger.fingerprint() == before)
        }
    }

    @Test("a clean input: commits at batch boundaries, the last at the last line, the same events as one transaction")
    func cleanInput() throws {
        let input = Self.lines(5_000)
        let batched = try withTemporaryLedger { ledger -> ([String], Ledger.ImportReport, [Int]) in
            let (report, commits) = try Self.run(ledger, input, batchSize: 300)
            #expect(try ledger.store.verifyChain().isIntact)
            return (try ledger.store.events(.all).map { "\($0.type) \($0.eventId)" }, report, commits)
        }
        let single = try withTemporaryLedger { ledger -> [String] in
            let bytes = Array(input.joined(separator: "\n").utf8)
            _ = try bytes.withUnsafeBufferPointer { try ledger.importJSONLines($0) }
            return try ledger.store.events(.all).map { "\($0.type) \($0.eventId)" }
        }
        let (events, report, commits) = batched
        #expect(events == single)
        #expect(report.factsWritten == input.count)
        #expect(report.batchesCommitted == commits.count)
        #expect(commits.last == input.count)
        #expect(!commits.isEmpty && commits.dropLast().allSatisfy { $0 % 300 == 0 })
        #expect(zip(commits, commits.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test("past its share of client states the writing waits for the check: then every batch is committed on its own")
    func writingWaitsForTheCheck() throws {
        let input = Self.lines(3_000)
        try withTemporaryLedger { ledger in
            let bytes = Array(input.joined(separator: "\n").utf8)
            var commits: [Int] = []
            let report = try bytes.withUnsafeBufferPointer {
                try ledger.importJSONLines(
                    $0, batchSize: 50, progress: nil, batchCommitted: { commits.append($0) }, consumed: nil,
                    statesBesideTheCheck: 0)
            }
            #expect(report.factsWritten == input.count)
            // The first batch was planned before the wait; the check had ended by the second.
            #expect(commits.first == 100)
            #expect(commits == Array(stride(from: 100, to: input.count, by: 50)) + [input.count])
            #expect(try ledger.store.verifyChain().isIntact)
        }
        try withTemporaryLedger { ledger in
            var bad = input
            bad.append(line("InteractionLogged", "C1", "2025-13-01T00:00:00Z", #"{"channel":"app","kind":"inquiry"}"#))
            let bytes = Array(bad.joined(separator: "\n").utf8)
            let before = try ledger.fingerprint()
            let error = #expect(throws: InputError.self) {
                _ = try bytes.withUnsafeBufferPointer {
                    try ledger.importJSONLines($0, batchSize: 50, progress: nil, batchCommitted: nil, consumed: nil, statesBesideTheCheck: 0)
                }
            }
            #expect(error?.line == bad.count)
            #expect(try ledger.fingerprint() == before)
        }
    }

    /// Both passes of a batched import hold client states, one points lot per award: a lot
    /// is kept at 56 bytes (its flag after the counts, not between them).
    @Test func aPointsLotTakesFiftySixBytes() {
        #expect(MemoryLayout<PointsLot>.stride == 56)
    }
}
