import Testing

@testable import LedgerCore

@Suite("DenseMap: values by a store's integer ids")
struct DenseMapTests {
    @Test("keys in the array and out of it (negative, huge) keep their values apart")
    func keys() {
        var map = DenseMap<String>()
        #expect(map[0] == nil)
        #expect(map[5] == nil, "a key past the array is absent, not an error")
        let keys: [Int64] = [1, 0, 2, 900, 3, -1, -900, 1 << 26, (1 << 26) - 1, Int64.max, Int64.min]
        for key in keys { map[key] = "v\(key)" }
        for key in keys { #expect(map[key] == "v\(key)", "key \(key)") }
        #expect(map[4] == nil)
        #expect(map[901] == nil)
        #expect(map[-2] == nil)
        map[900] = nil
        map[-1] = nil
        #expect(map[900] == nil)
        #expect(map[-1] == nil)
        #expect(map[3] == "v3", "removing one key leaves the others")
        // Keys met one after the other, as a replay meets new streams.
        var rising = DenseMap<Int>()
        for key in 0..<10_000 { rising[Int64(key)] = key * 2 }
        #expect((0..<10_000).allSatisfy { rising[Int64($0)] == $0 * 2 })
    }

    @Test("an optional value: a key known to have no value differs from an unknown key")
    func optionalValues() {
        var map = DenseMap<String?>()
        map[7] = .some(nil)
        map[8] = "name"
        #expect(map[7] != nil, "known, with no value")
        #expect(map[7]! == nil)
        #expect(map[8]! == "name")
        #expect(map[9] == nil, "unknown")
    }
}
