import Foundation
import LedgerStorage

/// Dense numbers for the client ids one pass of an import meets: 0, 1, 2, … in the order they
/// are first met. The pass's per-client bookkeeping (where a state set aside lies, the latest
/// planned event of each client) is kept in flat arrays indexed by these numbers.
///
/// Memory is what bounds an import of a million clients: a `[String: Value]` dictionary costs
/// its entry (16 bytes of key and the value) divided by a load between 3/8 and 3/4, about
/// 60–100 bytes a client for each table, and twice that while it grows. Here a client costs
/// its id's bytes, 8 bytes of offset and 8–16 bytes of hash slots, once for every table kept
/// by number.
struct ClientNumbers {
    /// The ids' UTF-8 bytes, back to back, in the order of their numbers.
    private var bytes: [UInt8] = []
    /// Where each number's id ends in `bytes` (it starts where the one before ends).
    private var ends: [Int] = []
    /// Open addressing with linear probing: a number, or -1 for an empty slot. A power of
    /// two in size, at most half full.
    private var slots: [Int32]
    /// A hash seeded per process (`Hasher`): ids chosen to collide cannot be predicted.
    private var mask: Int

    init() {
        slots = Array(repeating: -1, count: 1_024)
        mask = slots.count - 1
    }

    /// How many ids have a number.
    var count: Int { ends.count }

    /// Bytes the table holds, room to grow included.
    var approximateBytes: Int { bytes.capacity + ends.capacity * MemoryLayout<Int>.stride + slots.capacity * 4 }

    /// The number of an id met before; nil for one never met.
    func number(of id: String) -> Int? {
        var id = id
        return id.withUTF8 { key in
            var index = Self.hash(key) & mask
            while true {
                let number = Int(slots[index])
                if number < 0 { return nil }
                if matches(number, key) { return number }
                index = (index + 1) & mask
            }
        }
    }

    /// The number of an id, given the next one if it was never met.
    mutating func number(adding id: String) throws -> Int {
        guard ends.count < Int(Int32.max) else {
            throw StorageError.backend("an import cannot keep track of more than \(Int32.max) clients")
        }
        var id = id
        return id.withUTF8 { key in
            var index = Self.hash(key) & mask
            while true {
                let number = Int(slots[index])
                if number < 0 { break }
                if matches(number, key) { return number }
                index = (index + 1) & mask
            }
            let number = ends.count
            bytes.append(contentsOf: key)
            ends.append(bytes.count)
            slots[index] = Int32(truncatingIfNeeded: number)
            if ends.count * 2 > slots.count { grow() }
            return number
        }
    }

    /// The id of a number given out.
    func id(of number: Int) -> String {
        String(decoding: bytes[start(of: number)..<ends[number]], as: UTF8.self)
    }

    private func start(of number: Int) -> Int { number == 0 ? 0 : ends[number - 1] }

    private func matches(_ number: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = start(of: number), end = ends[number]
        guard end - start == key.count else { return false }
        return bytes.withUnsafeBufferPointer { stored in
            guard let base = stored.baseAddress, let wanted = key.baseAddress else { return key.isEmpty }
            return memcmp(base + start, wanted, key.count) == 0
        }
    }

    private static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(key))
        return hasher.finalize()
    }

    /// Doubles the slots and places every number again.
    private mutating func grow() {
        var grown = [Int32](repeating: -1, count: slots.count * 2)
        let mask = grown.count - 1
        bytes.withUnsafeBufferPointer { stored in
            for number in ends.indices {
                let start = start(of: number)
                let key = UnsafeBufferPointer(rebasing: stored[start..<ends[number]])
                var index = Self.hash(key) & mask
                while grown[index] >= 0 { index = (index + 1) & mask }
                grown[index] = Int32(truncatingIfNeeded: number)
            }
        }
        slots = grown
        self.mask = mask
    }
}
