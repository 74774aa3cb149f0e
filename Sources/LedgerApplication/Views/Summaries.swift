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
