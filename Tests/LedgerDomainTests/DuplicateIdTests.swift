import Foundation
import Testing

@testable import LedgerDomain

/// Duplicate ids are refused in bounded memory: exactly among the first ids, through a
/// fixed-size filter and a second reading of the input past them. Small limits here stand in
/// for a large input.
@Suite struct DuplicateIdTests {
    static func deposit(_ index: Int, id: String? = nil) -> String {
        let idField = id.map { #""eventId":"\#($0)","# } ?? ""
        return #"{\#(idField)"type":"FundsDeposited","clientId":"C1","occurredAt":"2025-01-01T00:00:\#(String(format: "%02d", index % 60))Z","data":{"amount":\#(index + 1).00}}"#
    }

    static func uuid(_ index: Int) -> String {
        String(format: "00000000-0000-4000-8000-%012x", index)
    }

    /// Reads every line; returns the error, if any.
    static func read(_ lines: [String], exactIds: Int, filterBits: Int) -> (events: Int, error: InputError?) {
        let bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            var reader = ImportLineParser.LineReader(buffer, exactIds: exactIds, filterBits: filterBits)
            var count = 0
            do {
                while let chunk = try reader.next(upTo: 7) { count += chunk.count }
                return (count, nil)
            } catch {
                return (count, error as? InputError)
            }
        }
    }

    @Test(arguments: [(exactIds: 65_536, filterBits: 1 << 20), (exactIds: 4, filterBits: 1 << 20), (exactIds: 4, filterBits: 64)])
    func aGivenIdTwiceIsRefusedNamingBothLines(limits: (exactIds: Int, filterBits: Int)) {
        var lines = (0..<40).map { Self.deposit($0, id: Self.uuid($0)) }
        lines[29] = Self.deposit(29, id: Self.uuid(11))
        let result = Self.read(lines, exactIds: limits.exactIds, filterBits: limits.filterBits)
        #expect(result.error?.line == 30)
        #expect(result.error?.field == "eventId")
        #expect(result.error?.problem.contains("duplicate of line 12") == true, "\(String(describing: result.error))")
    }

    @Test(arguments: [4, 65_536])
    func theSameFactTwiceWithoutIdsIsRefused(exactIds: Int) {
        var lines = (0..<30).map { Self.deposit($0) }
        lines.append(Self.deposit(17))
        let result = Self.read(lines, exactIds: exactIds, filterBits: 1 << 12)
        #expect(result.error?.line == 31)
        #expect(result.error?.problem.contains("same fact as line 18") == true, "\(String(describing: result.error))")
    }

    @Test func theFirstDuplicateIsTheOneNamed() {
        // Two duplicates past the exact part, settled by the second reading: the earlier one
        // is reported, whatever order the filter met them in.
        var lines = (0..<60).map { Self.deposit($0, id: Self.uuid($0)) }
        lines[49] = Self.deposit(49, id: Self.uuid(40))
        lines[44] = Self.deposit(44, id: Self.uuid(2))
        let result = Self.read(lines, exactIds: 4, filterBits: 1 << 16)
        #expect(result.error?.line == 45)
        #expect(result.error?.problem.contains("duplicate of line 3") == true, "\(String(describing: result.error))")
    }

    @Test func aFilterFullOfFalseAlarmsRefusesNothing() {
        // 64 bits for 500 ids: nearly every id is a suspect, and the second reading clears them.
        let lines = (0..<500).map { Self.deposit($0, id: Self.uuid($0)) }
        let result = Self.read(lines, exactIds: 4, filterBits: 64)
        #expect(result.error == nil)
        #expect(result.events == 500)
    }

    @Test func theFilterHasNoFalseNegatives() {
        var filter = IdKeyFilter(bits: 1 << 14)
        let keys = (0..<2_000).map { IdKey(Self.uuid($0 * 7919)) }
        for key in keys { filter.insert(key) }
        #expect(keys.allSatisfy { filter.mayContain($0) })
        let others = (0..<2_000).map { IdKey(Self.uuid(100_000_000 + $0)) }
        // 2,000 keys in 16,384 bits with four probes: about 2.4% false alarms.
        #expect(others.filter { filter.mayContain($0) }.count < 200)
    }

    @Test func theDefaultsCarryAnInputPastTheExactPart() {
        // 66,000 lines: past the 65,536 ids kept exactly, into the filter; the copy of line 10
        // at line 65,990 is found.
        var lines = (0..<66_000).map { Self.deposit($0, id: Self.uuid($0)) }
        let clean = Self.read(lines, exactIds: 65_536, filterBits: 1 << 28)
        #expect(clean.error == nil)
        #expect(clean.events == 66_000)
        lines[65_989] = Self.deposit(65_989, id: Self.uuid(9))
        let result = Self.read(lines, exactIds: 65_536, filterBits: 1 << 28)
        #expect(result.error?.line == 65_990)
        #expect(result.error?.problem.contains("duplicate of line 10") == true, "\(String(describing: result.error))")
    }
}
