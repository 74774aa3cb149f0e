import Foundation
import Testing

import LedgerApplication

#if canImport(Glibc)
import Glibc
#endif

/// The import's input mapping hands back the pages it has read past, on every pass: a batched
/// import reads its input twice, and its memory must stay bounded on the second pass too.
@Suite struct MappedInputTests {
    static let page = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// A file of `bytes` bytes, mapped; the file is removed at once (the mapping keeps it).
    static func mapped(bytes: Int, releaseStep: Int) throws -> MappedInput {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mapped-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(repeating: UInt8(ascii: "x"), count: bytes).write(to: url)
        return try MappedInput(url.path, releaseStep: releaseStep)
    }

    @Test func pagesAreHandedBackOnEveryPass() throws {
        let page = Self.page
        let input = try Self.mapped(bytes: 10 * page + 100, releaseStep: 2 * page)
        #expect(input.count == 10 * page + 100)
        for pass in 1...2 {
            var offset = 0
            while offset < input.count {
                offset = min(offset + page / 2, input.count)
                input.release(before: offset)
            }
            // Everything up to the last whole page is handed back by the end of each pass.
            #expect(input.releasedBytes == pass * 10 * page, "pass \(pass)")
        }
    }

    /// A batched import's check and its writing read the input side by side, the check ahead:
    /// each hands back what it has read, whatever the other one's offset.
    @Test func passesSideBySideAreFollowedEachOnItsOwn() throws {
        let page = Self.page
        let input = try Self.mapped(bytes: 10 * page + 100, releaseStep: 2 * page)
        var ahead = 0, behind = 0
        while behind < input.count {
            ahead = min(ahead + page, input.count)
            input.release(before: ahead, pass: 1)
            behind = min(behind + page / 2, input.count)
            input.release(before: behind, pass: 0)
            if ahead == input.count {
                // The leading pass has handed back every whole page though the other is behind.
                #expect(input.releasedBytes >= 10 * page)
            }
        }
        #expect(input.releasedBytes == 2 * 10 * page)
    }

    @Test func nothingIsHandedBackBeforeAStep() throws {
        let page = Self.page
        let input = try Self.mapped(bytes: 100 * page, releaseStep: 8 * page)
        input.release(before: 7 * page + 10)
        #expect(input.releasedBytes == 0)
        input.release(before: 8 * page + 10)
        #expect(input.releasedBytes == 8 * page)
    }
}
