import LedgerCore
import LedgerStorage

/// What an import or an append did, as every front end reports it.
public struct ImportSummary: Encodable, Sendable {
    public var received, factsWritten, decisionsWritten, alreadyStored, batchesCommitted: Int
    @NullEncoded public var firstPosition: Int64?
    @NullEncoded public var lastPosition: Int64?
    public var seconds: Double

    public init(_ report: Ledger.ImportReport, seconds: Double) {
        received = report.received
        factsWritten = report.factsWritten
        decisionsWritten = report.decisionsWritten
        alreadyStored = report.alreadyStored
        batchesCommitted = report.batchesCommitted
        firstPosition = report.firstPosition
        lastPosition = report.lastPosition
        self.seconds = (seconds * 1000).rounded() / 1000
    }
}

/// What a chain audit found.
public struct VerifySummary: Encodable, Sendable {
    public var intact: Bool
    public var eventsChecked: Int64
    @NullEncoded public var firstBadPosition: Int64?
    @NullEncoded public var problem: String?
    public var missingTriggers: [String]
    public var headHash: String

    public init(_ report: ChainReport) {
        intact = report.isIntact
        eventsChecked = report.eventsChecked
        firstBadPosition = report.firstBadPosition
        problem = report.problem
        missingTriggers = report.missingTriggers
        headHash = report.headHash
    }
}

/// What a write of the HTTP service answers: the import summary's counts for this request,
/// and where each of its facts went (a retry names the positions stored the first time).
public struct AppendAcknowledgement: Encodable, Sendable {
    public struct Fact: Encodable, Sendable {
        public var line: Int
        public var eventId, stream: String
        public var position, version: Int64
        public var alreadyStored: Bool
        public var decisionPositions: [Int64]
    }

    public var received, factsWritten, decisionsWritten, alreadyStored: Int
    @NullEncoded public var firstPosition: Int64?
    @NullEncoded public var lastPosition: Int64?
    public var events: [Fact]

    public init(_ outcomes: [Ledger.FactOutcome]) {
        events = outcomes.map {
            Fact(line: $0.line, eventId: $0.eventId, stream: $0.stream, position: $0.position, version: $0.version,
                 alreadyStored: $0.alreadyStored, decisionPositions: $0.decisionPositions)
        }
        received = outcomes.count
        let written = outcomes.filter { !$0.alreadyStored }
        factsWritten = written.count
        decisionsWritten = written.reduce(0) { $0 + $1.decisionPositions.count }
        alreadyStored = outcomes.count - written.count
        let positions = written.flatMap { [$0.position] + $0.decisionPositions }
        firstPosition = positions.min()
        lastPosition = positions.max()
    }
}
