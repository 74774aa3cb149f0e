import LedgerCore
import LedgerDomain
import LedgerProjections
import LedgerStorage

/// What `copy` did.
public struct CopyReport: Sendable, Encodable {
    /// Events the target already had (a resumed copy starts after them).
    public var alreadyThere: Int64
    public var copied: Int64
    public var batches: Int
    public var personalKeysCopied: Int
    public var personalKeysDestroyed: Int
    /// The chain head both logs end with.
    public var headPosition: Int64
    public var headHash: String
    /// Whether the target now signs with the source's key (checkpoints of either verify with it).
    public var signingKeyCopied: Bool
    public var projectionsRebuilt: Bool
    public var seconds: Double
}

/// A copy refused before anything was written, or a copy that does not end where it should.
public struct CopyError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Moves a ledger between backends (SQLite ↔ PostgreSQL, or two of the same kind), event by
/// event as recorded: positions, versions, ids, times, payloads and hashes are the source's,
/// so the target's chain head is the source's and every checkpoint, proof and export bundle of
/// the source verifies against the target.
///
/// Streaming and resumable: the source is read and the target written `batchSize` events at a
/// time, one transaction per batch, in memory bounded by the batch. A copy that stopped (killed,
/// the server gone) is resumed by running it again: the target's log must be a beginning of the
/// source's (same hash at its head position), and the copy goes on after it. A target with
/// anything else is refused, nothing written. Personal-data keys go with their streams (and
/// are destroyed again where the source's log records an erasure); the projections of the
/// target are rebuilt at the end.
public enum LedgerCopy {
    public static func copy(
        from source: any EventStore, to target: any EventStore, sourceLocation: String, targetLocation: String,
        batchSize: Int = 10_000, clock: any LedgerClock = SystemClock(), progress: ((Int64, Int64) -> Void)? = nil
    ) throws -> CopyReport {
        let started = clock.now()
        let sourceHead = try source.head()
        let targetHead = try target.head()
        if targetHead.position > 0 {
            guard targetHead.position <= sourceHead.position, try source.hash(at: targetHead.position) == targetHead.hash else {
                throw CopyError(description: """
                    the target \(targetLocation) already holds \(targetHead.position) events that are not the beginning of \
                    \(sourceLocation)'s log (its hash at position \(targetHead.position) differs, or the source is shorter); \
                    nothing was copied (copy into a new ledger)
                    """)
            }
        }
        var report = CopyReport(
            alreadyThere: targetHead.position, copied: 0, batches: 0, personalKeysCopied: 0, personalKeysDestroyed: 0,
            headPosition: sourceHead.position, headHash: sourceHead.hash.hexString, signingKeyCopied: false,
            projectionsRebuilt: false, seconds: 0)
        var next = targetHead.position + 1
        var batch: [RecordedEvent] = []
        batch.reserveCapacity(batchSize)
        while next <= sourceHead.position {
            batch.removeAll(keepingCapacity: true)
            let last = min(sourceHead.position, next + Int64(batchSize) - 1)
            try source.scan(EventQuery(fromPosition: next, toPosition: last)) { batch.append($0); return true }
            guard batch.first?.position == next, batch.last?.position == last, batch.count == Int(last - next + 1) else {
                throw CopyError(description: "\(sourceLocation): positions \(next)–\(last) could not be read in full; nothing of them was copied")
            }
            let (copiedKeys, destroyed) = try target.write { session -> (Int, Int) in
                var copiedKeys = 0
                var destroyed = 0
                var seen = Set<String>()
                for event in batch {
                    if seen.insert(event.stream).inserted, try session.personalDataKey(stream: event.stream) == nil,
                        let key = try source.personalDataKey(stream: event.stream)
                    {
                        _ = try session.personalDataKey(stream: event.stream, creating: { key })
                        copiedKeys += 1
                    }
                    try session.appendCopy(event)
                    if event.type == EventType.clientDataErased.rawValue, try session.destroyPersonalDataKey(stream: event.stream) {
                        destroyed += 1
                    }
                }
                return (copiedKeys, destroyed)
            }
            report.personalKeysCopied += copiedKeys
            report.personalKeysDestroyed += destroyed
            report.copied += Int64(batch.count)
            report.batches += 1
            progress?(last, sourceHead.position)
            next = last + 1
        }
        if report.personalKeysDestroyed > 0 { _ = try target.purgeDestroyedKeys() }
        let endHead = try target.head()
        guard endHead == sourceHead else {
            throw CopyError(description: "the copy ended at position \(endHead.position) with head \(endHead.hash.hexString), not the source's \(sourceHead.position) \(sourceHead.hash.hexString)")
        }
        if let key = try SigningKey.load(forDatabase: sourceLocation) {
            let (targetKey, created) = try SigningKey.loadOrCreate(forDatabase: targetLocation, seed: key.privateKey)
            report.signingKeyCopied = created || targetKey.publicKey == key.publicKey
        }
        if sourceHead.position > 0 {
            let engine = try ProjectionEngine(store: target.projectionStore(), rules: try RulesInLog.inForce(in: target).rules, clock: clock)
            _ = try engine.rebuild()
            report.projectionsRebuilt = true
        }
        report.seconds = Double(clock.now().millisecondsSinceEpoch - started.millisecondsSinceEpoch) / 1000
        return report
    }
}
