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

/// One exported event with what an outsider needs to check its hash: the hash of the event
/// before it in the whole log.
public struct ExportedEvent: Sendable {
    public var event: RecordedEvent
    public var previousHash: [UInt8]

    /// Whether `event.hash` is SHA-256(previousHash ‖ canonical(event)).
    public var hashVerifies: Bool {
        HashChain.hash(
            previous: previousHash,
            HashChain.Fields(
                position: event.position, stream: event.stream, version: event.version, eventId: event.eventId,
                type: event.type, schemaVersion: Int64(event.schemaVersion), occurredAt: event.occurredAt,
                recordedAt: event.recordedAt, data: event.data, metadata: event.metadata)) == event.hash
    }
}

extension EventLog {
    /// Every event of one stream, each with the hash of its predecessor in the log, read in
    /// one snapshot together with the log's head: a regulator can recompute each event's
    /// hash without the rest of the log, and compare the head with a value kept elsewhere.
    public func export(stream: String) throws -> (events: [ExportedEvent], head: (position: Int64, hash: [UInt8])) {
        try connection.read {
            let previous = try connection.prepare("SELECT hash FROM events WHERE position = ?")
            var exported: [ExportedEvent] = []
            try scan(EventQuery(stream: stream)) { event in
                var before = HashChain.genesis
                if event.position > 1 {
                    previous.reset()
                    previous.bind(event.position - 1, at: 1)
                    if try previous.step() { before = previous.blob(at: 0) }
                }
                exported.append(ExportedEvent(event: event, previousHash: before))
                return true
            }
            return (exported, try head())
        }
    }
}
