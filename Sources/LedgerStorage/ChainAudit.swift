import Foundation
import LedgerCore

/// The result of recomputing the hash chain over the whole log.
public struct ChainReport: Sendable, Equatable {
    /// Events read and checked.
    public var eventsChecked: Int64
    /// The first position where the log is not what the chain says, if any.
    public var firstBadPosition: Int64?
    /// Why that position is bad.
    public var problem: String?
    /// Append-only guards (triggers) that are missing or altered.
    public var missingTriggers: [String]
    /// Hash of the last event (the value to write down and compare later).
    public var headHash: String
    /// How many parts of the log were read side by side (2 for a long intact log on a
    /// backend that reads in parts, otherwise 1).
    public var partsReadAtOnce: Int = 1

    public var isIntact: Bool { firstBadPosition == nil && missingTriggers.isEmpty }
}

extension RecordedEvent {
    /// The fields the chain hashes, exactly as stored.
    public var chainFields: HashChain.Fields {
        HashChain.Fields(
            position: position, stream: stream, version: version, eventId: eventId, type: type,
            schemaVersion: Int64(schemaVersion), occurredAt: occurredAt, recordedAt: recordedAt,
            data: data, metadata: metadata)
    }
}

extension EventStore {
    /// The chain fields of `scan(.all)`, for backends without a faster path.
    public func scanChainFromEvents(_ body: (HashChain.FieldBytes, Int64, UnsafeRawBufferPointer) throws -> Bool) throws {
        var keys: [String: Int64] = [:]
        try scan(.all) { event in
            let key = keys[event.stream] ?? Int64(keys.count)
            keys[event.stream] = key
            var e = event
            return try e.stream.withUTF8 { stream in
                try e.eventId.withUTF8 { eventId in
                    try e.type.withUTF8 { type in
                        try e.occurredAt.withUTF8 { occurredAt in
                            try e.recordedAt.withUTF8 { recordedAt in
                                try e.data.withUTF8 { data in
                                    try e.metadata.withUTF8 { metadata in
                                        try e.hash.withUnsafeBytes { hash in
                                            try body(HashChain.FieldBytes(
                                                position: event.position, version: event.version,
                                                schemaVersion: Int64(event.schemaVersion), stream: UnsafeRawBufferPointer(stream),
                                                eventId: UnsafeRawBufferPointer(eventId), type: UnsafeRawBufferPointer(type),
                                                occurredAt: UnsafeRawBufferPointer(occurredAt),
                                                recordedAt: UnsafeRawBufferPointer(recordedAt), data: UnsafeRawBufferPointer(data),
                                                metadata: UnsafeRawBufferPointer(metadata)), key, hash)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Recomputes every hash from position 1, checks positions are gap-free, versions are
    /// 1, 2, 3… within each stream, and that the append-only guards are in place.
    ///
    /// A log of `inPartsFrom` events or more, on a backend that `scansChainInParts`, is read in
    /// two halves side by side (`ChainParts`); when they find anything wrong, the log is read
    /// again in order for the report, which then names the first bad position exactly as a
    /// reading in order does.
    public func verifyChain(progress: ((Int64) -> Void)? = nil, inPartsFrom threshold: Int64 = 200_000) throws -> ChainReport {
        try read {
            let missing = try missingAppendOnlyGuards()
            if scansChainInParts {
                let head = try self.head().position
                if head >= max(threshold, 2), let report = try ChainParts.verify(self, head: head, progress: progress) {
                    return ChainReport(
                        eventsChecked: report.checked, firstBadPosition: nil, problem: nil, missingTriggers: missing,
                        headHash: report.headHash, partsReadAtOnce: 2)
                }
            }
            return try verifyInOrder(missing: missing, progress: progress)
        }
    }

    private func verifyInOrder(missing: [String], progress: ((Int64) -> Void)?) throws -> ChainReport {
        do {
            var hasher = ChainHasher()
            var expectedPosition: Int64 = 1
            // Stream versions by stream key: dense small keys in an array, others in a table.
            var denseVersions: [Int64] = []
            var versions: [Int64: Int64] = [:]
            var checked: Int64 = 0
            var badPosition: Int64?
            var problem: String?
            try scanChain { fields, streamKey, stored in
                if fields.position != expectedPosition {
                    badPosition = expectedPosition
                    problem = "position \(expectedPosition) is missing (next stored position is \(fields.position))"
                    return false
                }
                hasher.next(fields)
                if !hasher.lastEquals(stored) {
                    badPosition = fields.position
                    problem = "hash mismatch: stored \(Array(stored).hexString), recomputed \(hasher.last.hexString)"
                    return false
                }
                let dense = streamKey >= 0 && streamKey < 1 << 26
                if dense, streamKey >= denseVersions.count {
                    denseVersions.append(contentsOf: repeatElement(0, count: Int(streamKey) - denseVersions.count + 1))
                }
                let expectedVersion = (dense ? denseVersions[Int(streamKey)] : versions[streamKey] ?? 0) + 1
                if fields.version != expectedVersion {
                    badPosition = fields.position
                    problem = "stream \(String(decoding: fields.stream, as: UTF8.self)) jumps to version \(fields.version), expected \(expectedVersion)"
                    return false
                }
                if dense { denseVersions[Int(streamKey)] = fields.version } else { versions[streamKey] = fields.version }
                expectedPosition += 1
                checked += 1
                if checked % 100_000 == 0 { progress?(checked) }
                return true
            }
            return ChainReport(
                eventsChecked: checked, firstBadPosition: badPosition, problem: problem,
                missingTriggers: missing, headHash: hasher.last.hexString, partsReadAtOnce: 1)
        }
    }
}

/// The audit of a long log in two halves read side by side, each on its own thread and
/// handle: the first half from the genesis, the second from the stored hash of the last
/// event of the first (which the first half recomputes, so the chain is checked end to end).
/// Stream versions are checked within each half, and where a stream crosses from one half to
/// the other: its first version in the second half follows its last in the first.
enum ChainParts {
    struct Verified {
        var checked: Int64
        var headHash: String
    }

    /// What one half saw: nil in `failed` when every row held.
    struct Part {
        var hasher = ChainHasher()
        var expectedPosition: Int64 = 1
        var checked: Int64 = 0
        var failed = false
        /// Last version by stream number (dense numbers in an array, others in a table).
        var last = Versions()
        /// First version by stream number in the second half (its link to the first half).
        var first = Versions()
    }

    struct Versions {
        var dense: [Int64] = []
        var other: [Int64: Int64] = [:]

        func get(_ key: Int64) -> Int64 {
            if key >= 0, key < 1 << 26 { return Int(key) < dense.count ? dense[Int(key)] : 0 }
            return other[key] ?? 0
        }

        mutating func set(_ key: Int64, _ version: Int64) {
            if key >= 0, key < 1 << 26 {
                if Int(key) >= dense.count { dense.append(contentsOf: repeatElement(0, count: Int(key) - dense.count + 1)) }
                dense[Int(key)] = version
            } else {
                other[key] = version
            }
        }

        func forEach(_ body: (Int64, Int64) -> Bool) -> Bool {
            for (key, version) in dense.enumerated() where version != 0 { if !body(Int64(key), version) { return false } }
            for (key, version) in other where version != 0 { if !body(key, version) { return false } }
            return true
        }
    }

    /// Rows counted by both halves, for the progress report.
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var total: Int64 = 0

        func add(_ count: Int64) -> Int64 {
            lock.lock()
            defer { lock.unlock() }
            total += count
            return total
        }
    }

    /// Checks `positions` of `store`, whose first row must be at `first`. With `startsAfter`,
    /// that row only gives the hash the rest chain on (the other half checks it).
    static func check(
        _ store: any EventStore, _ positions: ClosedRange<Int64>, first: Int64, startsAfter: Bool, counter: Counter,
        progress: ((Int64) -> Void)?
    ) throws -> Part {
        var part = Part()
        var linked = !startsAfter
        part.expectedPosition = first
        try store.scanChain(positions: positions) { fields, streamKey, stored in
            if !linked {
                guard fields.position == first, stored.count == 32 else { part.failed = true; return false }
                part.hasher.rewind(to: Array(stored))
                part.expectedPosition += 1
                linked = true
                return true
            }
            // Versions start at 1: 0 is the tables' "not seen" and may not pass for a version.
            guard fields.position == part.expectedPosition, fields.version >= 1 else { part.failed = true; return false }
            part.hasher.next(fields)
            guard part.hasher.lastEquals(stored) else { part.failed = true; return false }
            let before = part.last.get(streamKey)
            if before == 0 {
                // A stream's first event in this half: from the genesis it is version 1; after
                // the middle it must follow the first half's last, which `verify` compares.
                if startsAfter {
                    part.first.set(streamKey, fields.version)
                } else if fields.version != 1 {
                    part.failed = true
                    return false
                }
            } else if fields.version != before + 1 {
                part.failed = true
                return false
            }
            part.last.set(streamKey, fields.version)
            part.expectedPosition += 1
            part.checked += 1
            if part.checked % 100_000 == 0 {
                let total = counter.add(100_000)
                if !startsAfter { progress?(total) }
            }
            return true
        }
        if !linked || part.expectedPosition != positions.upperBound + 1 { part.failed = true }
        return part
    }

    /// Both halves of a log whose last position is `head`; nil when either half found
    /// anything wrong (the caller reads the log in order for the report).
    static func verify(_ store: any EventStore, head: Int64, progress: ((Int64) -> Void)?) throws -> Verified? {
        let middle = head / 2
        let second = try store.openReader()
        final class Outcome: @unchecked Sendable {
            let store: any EventStore
            var result: Result<Part, any Error>?
            init(_ store: any EventStore) { self.store = store }
        }
        let later = Outcome(second)
        let counter = Counter()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            later.result = Result {
                try later.store.read {
                    try check(later.store, middle...head, first: middle, startsAfter: true, counter: counter, progress: nil)
                }
            }
            done.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
        let earlier: Part
        do {
            // From the lowest position there is: a row slipped in before position 1 fails the half.
            earlier = try check(store, Int64.min...middle, first: 1, startsAfter: false, counter: counter, progress: progress)
        } catch {
            done.wait()
            throw error
        }
        done.wait()
        guard let result = later.result else { return nil }
        let rest = try result.get()
        guard !earlier.failed, !rest.failed else { return nil }
        // A stream that crosses the middle goes on from its last version in the first half.
        let continues = rest.first.forEach { key, version in version == earlier.last.get(key) + 1 }
        guard continues else { return nil }
        return Verified(checked: earlier.checked + rest.checked, headHash: rest.hasher.last.hexString)
    }
}
