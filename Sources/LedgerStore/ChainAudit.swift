/// The result of recomputing the hash chain over the whole log.
public struct ChainReport: Sendable, Equatable {
    /// Events read and checked.
    public var eventsChecked: Int64
    /// The first position where the log is not what the chain says, if any.
    public var firstBadPosition: Int64?
    /// Why that position is bad.
    public var problem: String?
    /// Append-only triggers that are missing or altered.
    public var missingTriggers: [String]
    /// Hash of the last event (the value to write down and compare later).
    public var headHash: String

    public var isIntact: Bool { firstBadPosition == nil && missingTriggers.isEmpty }
}

extension EventLog {
    /// Recomputes every hash from position 1, checks positions are gap-free, versions are
    /// 1, 2, 3… within each stream, and that the append-only triggers are in place.
    public func verifyChain(progress: ((Int64) -> Void)? = nil) throws -> ChainReport {
        try connection.read {
            var missing: [String] = []
            let triggers = try connection.prepare(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'")
            var found: [String: String] = [:]
            while try triggers.step() { found[triggers.string(at: 0)] = triggers.string(at: 1) }
            for name in LedgerSchema.requiredTriggers {
                guard let sql = found[name], sql.contains("RAISE(ABORT") else {
                    missing.append(name)
                    continue
                }
            }

            let statement = try connection.prepare(
                "SELECT position, stream, version, event_id, type, schema_version, occurred_at, recorded_at, data, metadata, hash FROM events ORDER BY position")
            var previous = HashChain.genesis
            var expectedPosition: Int64 = 1
            var versions: [String: Int64] = [:]
            var checked: Int64 = 0
            var badPosition: Int64?
            var problem: String?
            while try statement.step() {
                let position = statement.int64(at: 0)
                let stream = statement.string(at: 1)
                let version = statement.int64(at: 2)
                if position != expectedPosition {
                    badPosition = expectedPosition
                    problem = "position \(expectedPosition) is missing (next stored position is \(position))"
                    break
                }
                let stored = statement.blob(at: 10)
                let computed = HashChain.hash(
                    previous: previous,
                    HashChain.Fields(
                        position: position, stream: stream, version: version, eventId: statement.string(at: 3),
                        type: statement.string(at: 4), schemaVersion: statement.int64(at: 5),
                        occurredAt: statement.string(at: 6), recordedAt: statement.string(at: 7),
                        data: statement.string(at: 8), metadata: statement.string(at: 9)))
                if computed != stored {
                    badPosition = position
                    problem = "hash mismatch: stored \(stored.hexString), recomputed \(computed.hexString)"
                    break
                }
                let expectedVersion = (versions[stream] ?? 0) + 1
                if version != expectedVersion {
                    badPosition = position
                    problem = "stream \(stream) jumps to version \(version), expected \(expectedVersion)"
                    break
                }
                versions[stream] = version
                previous = computed
                expectedPosition += 1
                checked += 1
                if checked % 100_000 == 0 { progress?(checked) }
            }
            return ChainReport(
                eventsChecked: checked, firstBadPosition: badPosition, problem: problem,
                missingTriggers: missing, headHash: previous.hexString)
        }
    }
}
