import LedgerCore
import LedgerDomain
import LedgerStorage

/// The ledger's application service: takes facts in, runs the policies in the same
/// transaction, and writes facts and decisions to the event log.
public final class Ledger {
    public let store: any EventStore
    public let rules: Rules
    /// The ledger's time: what "now" is for the time-sanity check and the periodic jobs.
    public let clock: any LedgerClock
    /// `rules.version`, computed once: every decision carries it.
    public let rulesVersion: String
    /// Written as `actor` on every decision.
    public static let decisionActor = "clientledger"

    /// Client states left by committed transactions, reused by the next one when the
    /// stream has not moved since (checked against the log), so that a stream of single
    /// appends never re-reads a client's history. Bounded: the oldest are dropped first.
    var warmClients = WarmClients(capacity: 50_000)
    /// Client states an import leaves warm: the most recently used.
    static let warmAfterImport = 4_096
    /// Campaign points per campaign summed from the log so far (see `campaignBook`).
    var campaignUsage = CampaignUsage()
    /// Whether the first write adopts the default rules in the log (`Ledger.open` on a log
    /// with no `RulesAdopted` yet). A ledger made with `init` decides with the rules it is
    /// given and records nothing about them: for tests and what-if work.
    var recordsRulesInLog = false

    public init(store: any EventStore, rules: Rules, clock: any LedgerClock = SystemClock()) {
        self.store = store
        self.rules = rules
        self.rulesVersion = rules.version
        self.clock = clock
    }

    /// Bytes of planned events an import keeps in memory before it moves them to a
    /// temporary file (tests make it small).
    var plannedLogBufferLimit = PlannedLog.defaultBufferLimit

    /// Bytes of client states an import keeps in memory before it sets the least recently
    /// used aside in a temporary file (tests make it small).
    var clientStateResidentLimit = StateCache.defaultResidentLimit

    /// Folds client streams of this ledger with its rules.
    public var streams: StreamFold { StreamFold(store: store, rules: rules) }

    /// Runs one write transaction with a state cache; the cache's states become warm only
    /// when the transaction commits.
    private func transaction<R>(_ body: (any AppendTransaction, inout StateCache) throws -> R) throws -> R {
        var kept: [String: ClientState] = [:]
        let result = try store.write { session in
            var states = StateCache(ledger: self, reader: store, session: session, residentLimit: clientStateResidentLimit)
            states.book = try campaignBook(reader: store)
            try recordRulesIfNeeded(session)
            let result = try body(session, &states)
            kept = states.takeClients()
            return result
        }
        warmClients.keep(kept)
        return result
    }

    // MARK: - Import

    /// What an import did.
    public struct ImportReport: Sendable, Equatable {
        /// Facts in the input.
        public var received = 0
        /// Facts written now.
        public var factsWritten = 0
        /// Decisions (points, expiry, tier) written now.
        public var decisionsWritten = 0
        /// Facts whose eventId was already stored: nothing written (a safe retry).
        public var alreadyStored = 0
        public var firstPosition: Int64?
        public var lastPosition: Int64?
        public var batchesCommitted = 0
        /// Where each fact went, in input order, when the caller asked for them
        /// (`recordOutcomes`): a front end that acknowledges facts one by one (the HTTP
        /// service) answers each with its own positions. Nil otherwise, so that a large
        /// import keeps nothing per line.
        public var outcomes: [FactOutcome]?
    }

    /// What became of one fact of an import: stored now at `position` with its decisions, or
    /// already stored (a retry) at the position it was stored at first.
    public struct FactOutcome: Sendable, Equatable {
        public var line: Int
        public var eventId: String
        public var stream: String
        public var position: Int64
        public var version: Int64
        public var alreadyStored: Bool
        /// Positions of the decisions written with the fact now (none for a retry).
        public var decisionPositions: [Int64] = []
    }

    /// A batch of a batched import was refused after earlier batches were committed.
    public struct PartialImportError: Error, CustomStringConvertible {
        public var committedThroughLine: Int?
        public var report: ImportReport
        public var underlying: any Error

        public var description: String {
            let committed = committedThroughLine.map { "lines 1–\($0) were committed (\(report.batchesCommitted) batches, \(report.factsWritten) facts, \(report.decisionsWritten) decisions)" }
                ?? "nothing was committed"
            return "\(underlying); \(committed); running the same file again skips what is stored"
        }
    }

    /// Imports facts. By default one transaction: all or nothing. With `batchSize`, the whole
    /// input is first checked in a transaction that is rolled back, then committed every
    /// `batchSize` facts; a later refusal says which lines were committed.
    /// `batchCommitted` is called after each batch commits, with the input line it ends at.
    /// With `recordOutcomes`, the report lists where each fact went (`ImportReport.outcomes`).
    public func importEvents(
        _ events: [IncomingEvent], batchSize: Int? = nil, recordOutcomes: Bool = false, progress: ((Int) -> Void)? = nil,
        batchCommitted: ((Int) -> Void)? = nil
    ) throws -> ImportReport {
        // One "now" for the whole import: the moment facts are checked against.
        let now = clock.now()
        let emptyReport = ImportReport(outcomes: recordOutcomes ? [] : nil)
        guard let batchSize, batchSize > 0, batchSize < events.count else {
            return try transaction { session, states in
                var report = emptyReport
                try apply(events[...], now: now, session: session, states: &states, report: &report, write: true, progress: progress)
                report.batchesCommitted = 1
                return report
            }
        }
        // Check everything first: a dry run in a transaction that never commits.
        do {
            try store.read {
                var report = ImportReport()
                var states = StateCache(ledger: self, reader: store, session: nil, residentLimit: clientStateResidentLimit)
                states.book = try campaignBook(reader: store)
                try apply(events[...], now: now, session: nil, states: &states, report: &report, write: false, progress: nil)
            }
        }
        var report = emptyReport
        var start = 0
        var committedThroughLine: Int?
        while start < events.count {
            let end = min(start + batchSize, events.count)
            do {
                report = try transaction { session, states in
                    var batchReport = report
                    try apply(events[start..<end], now: now, session: session, states: &states, report: &batchReport, write: true, progress: progress)
                    batchReport.batchesCommitted += 1
                    return batchReport
                }
            } catch {
                throw PartialImportError(committedThroughLine: committedThroughLine, report: report, underlying: error)
            }
            committedThroughLine = events[end - 1].line
            batchCommitted?(events[end - 1].line)
            start = end
        }
        return report
    }

    private func apply(
        _ events: ArraySlice<IncomingEvent>, now: Timestamp, session: (any AppendTransaction)?, states: inout StateCache,
        report: inout ImportReport, write: Bool, progress: ((Int) -> Void)?
    ) throws {
        var seen = 0
        var rows: [PlannedRow] = []
        for event in events {
            seen += 1
            if seen % 50_000 == 0 { progress?(seen) }
            rows.removeAll(keepingCapacity: true)
            try plan(event, now: now, states: &states, report: &report, into: &rows)
            guard write, let session else { continue }
            try append(rows, to: session, report: &report)
        }
    }

    /// One row to append: the event and the stream version the planner gave it.
    struct PlannedRow: Sendable {
        var event: NewEvent
        var version: Int64
        var isDecision: Bool
        var line: Int
        /// For a decision, the name its id is derived from (see `decisionId(name:attempt:)`).
        var decisionIdName: String? = nil
        /// For a fact with personal fields, its payload: sealed with the client's key when it
        /// is appended (`PersonalData`), so that only ciphertext is stored.
        var personal: EventPayload? = nil
    }

    /// Checks one fact against the state of its stream, runs the policies, and adds the rows
    /// to write (the fact and its decisions) to `rows`. Touches no write session, so it can
    /// run on another thread than the writer, reading through its own connection. `now` is
    /// the ledger's clock when the import began: a fact dated later (beyond the tolerance)
    /// is refused.
    func plan(_ event: IncomingEvent, now: Timestamp, states: inout StateCache, report: inout ImportReport, into rows: inout [PlannedRow]) throws {
        report.received += 1
        guard !event.eventId.isEmpty else {
            throw InputError(line: event.line, field: "eventId", problem: "must not be empty")
        }
        do {
            try TimeSanity.check(event.occurredAt, now: now, field: "occurredAt", what: "a fact is recorded only once it has happened")
        } catch {
            throw InputError(line: event.line, field: error.field, problem: error.problem)
        }
        let stream = event.subject.stream
        let data = event.dataJSON
        if let stored = try states.storedEvent(id: event.eventId) {
            var same = stored.data == data
            if !same, stored.stream == stream, !event.payload.personalFields.isEmpty {
                same = PersonalData.sameFact(
                    storedData: stored.data, incoming: event.payload, stream: stream, eventId: event.eventId,
                    key: try states.personalDataKey(stream: stream))
            }
            guard stored.stream == stream, stored.type == event.type.rawValue, same else {
                throw InputError(line: event.line, field: "eventId", problem: "\(event.eventId) is already stored at position \(stored.position) for a different event")
            }
            report.alreadyStored += 1
            report.outcomes?.append(FactOutcome(
                line: event.line, eventId: event.eventId, stream: stored.stream, position: stored.position,
                version: stored.version, alreadyStored: true))
            return
        }
        var planned: [PlannedEvent]
        let versionBefore: Int64
        switch event.subject {
        case .client(let clientId):
            var state = try states.client(clientId)
            versionBefore = state.version
            try checkExpected(event, current: versionBefore)
            if let erasedAt = state.erasedAt, let field = event.payload.personalFields.first?.field {
                throw InputError(
                    line: event.line, field: "data.\(field)",
                    problem: "client \(clientId)'s personal data was erased at \(erasedAt.iso8601); the ledger takes no new personal data for it")
            }
            do {
                if LateFactPolicy.isLate(event.payload, at: event.occurredAt, state: state) {
                    // A late fact: judged in world time, later decisions corrected.
                    let log = try states.log(of: clientId)
                    planned = try LateFactPolicy.plan(
                        event.payload, eventId: event.eventId, at: event.occurredAt, log: log, current: state, rules: rules)
                    for step in planned { state.apply(step.payload, at: step.occurredAt) }
                } else {
                    planned = try LoyaltyPolicy.process(event.payload, at: event.occurredAt, state: &state, rules: rules)
                }
            } catch let error as FieldError {
                try states.store(state)
                throw InputError(line: event.line, field: error.field, problem: error.problem)
            }
            // Campaign awards the fact triggers, in the same transaction (SPEC §3).
            planned += CampaignPolicy.triggered(
                by: event.payload, at: event.occurredAt, planned: planned, state: &state, book: &states.book, rules: rules)
            try states.store(state)
        case .campaign(let campaignId):
            var campaign = try states.campaign(campaignId)
            versionBefore = campaign.version
            try checkExpected(event, current: versionBefore)
            do {
                try Self.checkCampaignFact(event.payload, campaignId: campaignId, rules: rules)
                try campaign.apply(event.payload, at: event.occurredAt)
                if case .campaignClosed = event.payload {
                    // Closed in this transaction: no award for the facts after it.
                    states.book.entries.removeAll { $0.definition.id == campaignId }
                }
            } catch {
                throw InputError(line: event.line, field: error.field, problem: error.problem)
            }
            states.store(campaign)
            planned = [PlannedEvent(payload: event.payload, occurredAt: event.occurredAt, isDecision: false)]
        }
        var decisionIndex = 0
        for (offset, step) in planned.enumerated() {
            let newEvent: NewEvent
            var idName: String?
            if step.isDecision {
                idName = Self.decisionIdName(cause: event.eventId, index: decisionIndex)
                newEvent = decisionEvent(step, cause: event.eventId, correlation: event.metadata.correlationId, index: decisionIndex, stream: stream, rulesVersion: rulesVersion)
                decisionIndex += 1
            } else {
                newEvent = NewEvent(
                    eventId: event.eventId, stream: stream, type: event.type.rawValue,
                    schemaVersion: event.type.currentSchemaVersion, occurredAt: event.occurredAt,
                    data: data, metadata: event.metadataJSON)
            }
            rows.append(PlannedRow(
                event: newEvent, version: versionBefore + Int64(offset) + 1, isDecision: step.isDecision, line: event.line,
                decisionIdName: idName,
                personal: !step.isDecision && !step.payload.personalFields.isEmpty ? step.payload : nil))
            if case .client(let clientId) = event.subject {
                try states.logged(clientId, newEvent, isDecision: step.isDecision)
            }
        }
    }

    /// Appends planned rows; a version other than the planned one means another writer got
    /// in between, which is a conflict (the transaction rolls back).
    ///
    /// A decision's cause is new (its decisions are written with it, never before), so an
    /// event already holding the decision's derived id can only be a fact that a sender gave
    /// that id: the decision then takes the next id of its sequence, and the fact neither
    /// suppresses nor blocks it. A fact whose id a decision of this import took first is
    /// refused, naming its line.
    func append(_ rows: [PlannedRow], to session: any AppendTransaction, report: inout ImportReport) throws {
        try session.prefetch(eventIds: rows.map(\.event.eventId))
        var pendingDecisionPositions: [(Int, Int64)] = []
        for row in rows {
            var event = row.event
            if let personal = row.personal {
                let key = try session.personalDataKey(stream: event.stream, creating: PersonalCipher.newKey)
                event.data = try PersonalData.seal(personal, stream: event.stream, eventId: event.eventId, key: key).dataJSON
            }
            var attempt = 0
            let outcome: AppendOutcome
            while true {
                do {
                    outcome = try session.append(event)
                    break
                } catch StorageError.eventIdReused(let id, let position) {
                    guard let name = row.decisionIdName else {
                        throw InputError(line: row.line, field: "eventId", problem: "\(id) is already taken by the event at position \(position)")
                    }
                    attempt += 1
                    event.eventId = Self.decisionId(name: name, attempt: attempt)
                }
            }
            guard outcome.version == row.version else {
                throw InputError(
                    line: row.line, field: "expectedVersion",
                    problem: "conflict on \(row.event.stream): planned version \(row.version), the log is at \(outcome.version - 1); nothing was written, retry",
                    isConflict: true)
            }
            if report.firstPosition == nil { report.firstPosition = outcome.position }
            report.lastPosition = outcome.position
            if row.isDecision { report.decisionsWritten += 1 } else { report.factsWritten += 1 }
            if report.outcomes != nil {
                if row.isDecision {
                    // A fact's decisions follow it (or, for a late fact, precede it): they
                    // belong to the outcome of the same input line.
                    if let index = report.outcomes?.lastIndex(where: { $0.line == row.line && !$0.alreadyStored }) {
                        report.outcomes?[index].decisionPositions.append(outcome.position)
                    } else {
                        pendingDecisionPositions.append((row.line, outcome.position))
                    }
                } else {
                    var fact = FactOutcome(
                        line: row.line, eventId: event.eventId, stream: event.stream, position: outcome.position,
                        version: outcome.version, alreadyStored: false)
                    fact.decisionPositions = pendingDecisionPositions.filter { $0.0 == row.line }.map(\.1)
                    pendingDecisionPositions.removeAll { $0.0 == row.line }
                    report.outcomes?.append(fact)
                }
            }
        }
    }

    /// A campaign fact from outside: a definition must pass every check of the campaign file
    /// (named `data.definition.<field>`) and name its own stream; a launch only comes from
    /// `campaign launch`, which freezes the audience in the same transaction.
    static func checkCampaignFact(_ payload: EventPayload, campaignId: String, rules: Rules) throws(FieldError) {
        switch payload {
        case .campaignDefined(let name, let object):
            let definition: CampaignDefinition
            do {
                definition = try CampaignDefinition.parse(object, rules: rules)
            } catch {
                throw FieldError(field: "data.definition.\(error.field)", problem: error.problem)
            }
            guard definition.id == campaignId else {
                throw FieldError(field: "data.definition.id", problem: "is \(definition.id), but the event is for campaign \(campaignId)")
            }
            guard definition.name == name else {
                throw FieldError(field: "data.name", problem: "must be the definition's name, \(definition.name)")
            }
        case .campaignLaunched:
            throw FieldError(
                field: "type",
                problem: "a campaign is launched with `clientledger campaign launch \(campaignId)`, which enrols its audience and makes its awards in the same transaction")
        default:
            break
        }
    }

    private func checkExpected(_ event: IncomingEvent, current: Int64) throws {
        if let expected = event.expectedVersion, expected != current {
            throw InputError(
                line: event.line, field: "expectedVersion",
                problem: "conflict on \(event.subject.stream): expected version \(expected), found \(current); nothing was written, re-read the stream and retry",
                isConflict: true)
        }
    }

    /// The name a decision's id is derived from: its cause and its place among the cause's
    /// decisions, in a namespace (`clientledger/decision`) no derived fact id shares.
    static func decisionIdName(cause: String, index: Int) -> String {
        "clientledger/decision\n\(cause)\n\(index)"
    }

    /// The id of a decision: the first of a sequence derived from its name, and the next
    /// ones (attempt 1, 2, …) when an earlier one is held by a fact (a sender may give a
    /// fact any UUID). The same log always gives the same ids.
    public static func decisionId(name: String, attempt: Int = 0) -> String {
        EventID.derived(from: attempt == 0 ? name : "\(name)\n#\(attempt)")
    }

    /// A decision as an event: derived id (cause + index), causation, rules version.
    func decisionEvent(_ step: PlannedEvent, cause: String, correlation: String?, index: Int, stream: String, rulesVersion: String) -> NewEvent {
        NewEvent(
            eventId: Self.decisionId(name: Self.decisionIdName(cause: cause, index: index)),
            stream: stream, type: step.payload.type.rawValue, schemaVersion: step.payload.type.currentSchemaVersion,
            occurredAt: step.occurredAt, data: step.payload.dataJSON,
            metadata: EventMetadata(actor: Self.decisionActor, correlationId: correlation ?? cause, causationId: cause, rulesVersion: rulesVersion).json)
    }
}
