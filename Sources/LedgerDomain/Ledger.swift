import LedgerStore

/// The ledger's application service: takes facts in, runs the policies in the same
/// transaction, and writes facts and decisions to the event log.
public final class Ledger {
    public let log: EventLog
    public let rules: Rules
    /// `rules.version`, computed once: every decision carries it.
    public let rulesVersion: String
    /// Written as `actor` on every decision.
    public static let decisionActor = "clientledger"

    /// Client states left by committed transactions, reused by the next one when the
    /// stream has not moved since (checked against the log), so that a stream of single
    /// appends never re-reads a client's history.
    var warmClients: [String: ClientState] = [:]

    public init(log: EventLog, rules: Rules) {
        self.log = log
        self.rules = rules
        self.rulesVersion = rules.version
    }

    /// Runs one write transaction with a state cache; the cache's states become warm only
    /// when the transaction commits.
    private func transaction<R>(_ body: (AppendSession, inout StateCache) throws -> R) throws -> R {
        var kept: [String: ClientState] = [:]
        let result = try log.write { session in
            var states = StateCache(ledger: self, reader: log, session: session)
            let result = try body(session, &states)
            kept = states.takeClients()
            return result
        }
        warmClients.merge(kept) { _, new in new }
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
    public func importEvents(
        _ events: [IncomingEvent], batchSize: Int? = nil, progress: ((Int) -> Void)? = nil,
        batchCommitted: ((Int) -> Void)? = nil
    ) throws -> ImportReport {
        guard let batchSize, batchSize > 0, batchSize < events.count else {
            return try transaction { session, states in
                var report = ImportReport()
                try apply(events[...], session: session, states: &states, report: &report, write: true, progress: progress)
                report.batchesCommitted = 1
                return report
            }
        }
        // Check everything first: a dry run in a transaction that never commits.
        do {
            try log.connection.read {
                var report = ImportReport()
                var states = StateCache(ledger: self, reader: log, session: nil)
                try apply(events[...], session: nil, states: &states, report: &report, write: false, progress: nil)
            }
        }
        var report = ImportReport()
        var start = 0
        var committedThroughLine: Int?
        while start < events.count {
            let end = min(start + batchSize, events.count)
            do {
                report = try transaction { session, states in
                    var batchReport = report
                    try apply(events[start..<end], session: session, states: &states, report: &batchReport, write: true, progress: progress)
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
        _ events: ArraySlice<IncomingEvent>, session: AppendSession?, states: inout StateCache,
        report: inout ImportReport, write: Bool, progress: ((Int) -> Void)?
    ) throws {
        var seen = 0
        var rows: [PlannedRow] = []
        for event in events {
            seen += 1
            if seen % 50_000 == 0 { progress?(seen) }
            rows.removeAll(keepingCapacity: true)
            try plan(event, states: &states, report: &report, into: &rows)
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
    }

    /// Checks one fact against the state of its stream, runs the policies, and adds the rows
    /// to write (the fact and its decisions) to `rows`. Touches no write session, so it can
    /// run on another thread than the writer, reading through its own connection.
    func plan(_ event: IncomingEvent, states: inout StateCache, report: inout ImportReport, into rows: inout [PlannedRow]) throws {
        report.received += 1
        guard !event.eventId.isEmpty else {
            throw InputError(line: event.line, field: "eventId", problem: "must not be empty")
        }
        let stream = event.subject.stream
        let data = event.dataJSON
        if let stored = try states.storedEvent(id: event.eventId) {
            guard stored.stream == stream, stored.type == event.type.rawValue, stored.data == data else {
                throw InputError(line: event.line, field: "eventId", problem: "\(event.eventId) is already stored at position \(stored.position) for a different event")
            }
            report.alreadyStored += 1
            return
        }
        let planned: [PlannedEvent]
        let versionBefore: Int64
        switch event.subject {
        case .client(let clientId):
            var state = try states.client(clientId)
            versionBefore = state.version
            try checkExpected(event, current: versionBefore)
            do {
                planned = try LoyaltyPolicy.process(event.payload, at: event.occurredAt, state: &state, rules: rules)
            } catch {
                states.store(state)
                throw InputError(line: event.line, field: error.field, problem: error.problem)
            }
            states.store(state)
        case .campaign(let campaignId):
            var campaign = try states.campaign(campaignId)
            versionBefore = campaign.version
            try checkExpected(event, current: versionBefore)
            do {
                try campaign.apply(event.payload, at: event.occurredAt)
            } catch {
                throw InputError(line: event.line, field: error.field, problem: error.problem)
            }
            states.store(campaign)
            planned = [PlannedEvent(payload: event.payload, occurredAt: event.occurredAt, isDecision: false)]
        }
        var decisionIndex = 0
        for (offset, step) in planned.enumerated() {
            let newEvent: NewEvent
            if step.isDecision {
                newEvent = decisionEvent(step, cause: event.eventId, correlation: event.metadata.correlationId, index: decisionIndex, stream: stream, rulesVersion: rulesVersion)
                decisionIndex += 1
            } else {
                newEvent = NewEvent(
                    eventId: event.eventId, stream: stream, type: event.type.rawValue,
                    schemaVersion: event.type.currentSchemaVersion, occurredAt: event.occurredAt,
                    data: data, metadata: event.metadataJSON)
            }
            rows.append(PlannedRow(event: newEvent, version: versionBefore + Int64(offset) + 1, isDecision: step.isDecision, line: event.line))
        }
    }

    /// Appends planned rows; a version other than the planned one means another writer got
    /// in between, which is a conflict (the transaction rolls back).
    func append(_ rows: [PlannedRow], to session: AppendSession, report: inout ImportReport) throws {
        for row in rows {
            let outcome = try session.append(row.event)
            guard outcome.version == row.version else {
                throw InputError(
                    line: row.line, field: "expectedVersion",
                    problem: "conflict on \(row.event.stream): planned version \(row.version), the log is at \(outcome.version - 1); nothing was written, retry",
                    isConflict: true)
            }
            if report.firstPosition == nil { report.firstPosition = outcome.position }
            report.lastPosition = outcome.position
            if row.isDecision { report.decisionsWritten += 1 } else { report.factsWritten += 1 }
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

    /// A decision as an event: derived id (cause + index), causation, rules version.
    func decisionEvent(_ step: PlannedEvent, cause: String, correlation: String?, index: Int, stream: String, rulesVersion: String) -> NewEvent {
        NewEvent(
            eventId: EventID.derived(from: "clientledger/decision\n\(cause)\n\(index)"),
            stream: stream, type: step.payload.type.rawValue, schemaVersion: step.payload.type.currentSchemaVersion,
            occurredAt: step.occurredAt, data: step.payload.dataJSON,
            metadata: EventMetadata(actor: Self.decisionActor, correlationId: correlation ?? cause, causationId: cause, rulesVersion: rulesVersion).json)
    }

    // MARK: - Reading state

    /// A client's state folded from its stream, optionally only from events that occurred
    /// at or before `asOf` and were recorded at or before `knownAt`.
    public func clientState(_ clientId: String, asOf: Timestamp? = nil, knownAt: Timestamp? = nil) throws -> ClientState {
        try Self.fold(clientId, from: log, rules: rules, asOf: asOf, knownAt: knownAt)
    }

    /// Folds a client's stream read through `log`.
    static func fold(_ clientId: String, from log: EventLog, rules: Rules, asOf: Timestamp? = nil, knownAt: Timestamp? = nil) throws -> ClientState {
        var state = ClientState(clientId: clientId, adjustmentLotLifetimeDays: rules.lotLifetimeDays)
        try log.scan(EventQuery(stream: ClientState.stream(for: clientId), occurredTo: asOf, recordedTo: knownAt)) { event in
            state.apply(try Self.payload(of: event), at: event.occurredMoment)
            return true
        }
        return state
    }

    /// The typed payload of a stored event (upcast to the current version).
    public static func payload(of event: RecordedEvent) throws -> EventPayload {
        guard let type = EventType(rawValue: event.type) else {
            throw InputError(line: nil, field: "type", problem: "position \(event.position): unknown stored event type \(event.type)")
        }
        var data = event.data
        let canonical = data.withUTF8 {
            CanonicalPayloadReader.decode(type: type, schemaVersion: event.schemaVersion, bytes: $0)
        }
        if let canonical { return canonical }
        guard case .object(let object) = try JSONParser.parse(event.data) else {
            throw InputError(line: nil, field: "data", problem: "position \(event.position): stored data is not an object")
        }
        do {
            return try EventPayload.decode(type: type, schemaVersion: event.schemaVersion, data: object)
        } catch {
            throw InputError(line: nil, field: error.field, problem: "position \(event.position): \(error.problem)")
        }
    }

    /// Every client id with a stream, in order.
    public func clientIds() throws -> [String] {
        let statement = try log.connection.prepare(
            "SELECT DISTINCT substr(stream, 8) FROM events WHERE stream >= 'client/' AND stream < 'client0' AND version = 1 ORDER BY 1")
        var ids: [String] = []
        while try statement.step() { ids.append(statement.string(at: 0)) }
        return ids
    }

    // MARK: - Periodic jobs

    /// What a periodic job wrote.
    public struct JobReport: Sendable, Equatable {
        public var clientsChanged = 0
        public var eventsWritten = 0
        public var points: Int64 = 0
    }

    /// Expires what is left of every lot whose end is at or before `asOf`. Running it again
    /// for the same date writes nothing.
    public func expirePoints(asOf: Timestamp) throws -> JobReport {
        try runJob(name: "points-expire", asOf: asOf) { state, _ in
            LoyaltyPolicy.expiries(state: state, asOf: asOf)
        }
    }

    /// Moves down clients whose tier guarantee has passed and who qualify lower at `asOf`.
    public func evaluateTiers(asOf: Timestamp) throws -> JobReport {
        try runJob(name: "tiers-evaluate", asOf: asOf) { current, clientId in
            try tierDecision(current: current, clientId: clientId, asOf: asOf) { state in
                LoyaltyPolicy.downgrade(state: state, asOf: asOf, rules: rules)
            }
        }
    }

    /// A tier decision as of a date is taken on the client's state as of that date (facts
    /// that occurred later do not count), and only when no tier change happened after it.
    private func tierDecision(
        current: ClientState, clientId: String, asOf: Timestamp, decide: (ClientState) -> PlannedEvent?
    ) throws -> [PlannedEvent] {
        if let last = current.tierHistory.last, last.at > asOf { return [] }
        let then = current.lastEventAt.map { $0 <= asOf } ?? true ? current : try clientState(clientId, asOf: asOf)
        guard then.tier == current.tier, let decision = decide(then) else { return [] }
        return [decision]
    }

    /// After a rules change: `TierChanged(reevaluated)` for each client whose recorded tier
    /// differs from the one the rules in force give at `asOf`.
    public func reconcileTiers(asOf: Timestamp) throws -> JobReport {
        try runJob(name: "tiers-reconcile/\(rulesVersion)", asOf: asOf) { current, clientId in
            try tierDecision(current: current, clientId: clientId, asOf: asOf) { state in
                LoyaltyPolicy.reevaluation(state: state, asOf: asOf, rules: rules)
            }
        }
    }

    /// Runs a job over every client in one transaction. Decisions are caused by a job run
    /// whose id is derived from the job's name and date, so the same run never writes twice.
    private func runJob(name: String, asOf: Timestamp, decide: (ClientState, String) throws -> [PlannedEvent]) throws -> JobReport {
        let cause = EventID.derived(from: "clientledger/job\n\(name)\n\(asOf.iso8601)")
        return try log.write { session in
            var report = JobReport()
            for clientId in try clientIds() {
                var state = try clientState(clientId)
                let decisions = try decide(state, clientId)
                guard !decisions.isEmpty else { continue }
                report.clientsChanged += 1
                for (index, step) in decisions.enumerated() {
                    let event = decisionEvent(
                        step, cause: "\(cause)/\(clientId)", correlation: cause, index: index,
                        stream: state.stream, rulesVersion: rulesVersion)
                    if try session.storedEvent(id: event.eventId) != nil { continue }
                    state.apply(step.payload, at: step.occurredAt)
                    try session.append(event)
                    report.eventsWritten += 1
                    if case .pointsExpired(let points, _) = step.payload { report.points += points }
                }
            }
            return report
        }
    }
}

// MARK: - State of the streams a transaction touches

/// Client and campaign states for one transaction: folded from the log on first touch, then
/// kept in memory so an import never re-reads a stream per event.
struct StateCache {
    let ledger: Ledger
    /// The connection reads go through: the writer's own, or the planner thread's.
    let reader: EventLog
    let session: AppendSession?
    /// The log held no event when the import began: no id can be stored already (ids are
    /// unique within one input), so no lookup is needed.
    let logWasEmpty: Bool
    private var clients: [String: ClientState] = [:]
    private var campaigns: [String: CampaignState] = [:]
    private var idQuery: Statement?
    /// Warm states handed over by the ledger (the planner thread must not touch the ledger's).
    private var warm: [String: ClientState]

    init(ledger: Ledger, reader: EventLog, session: AppendSession?, logWasEmpty: Bool = false, warm: [String: ClientState] = [:]) {
        self.ledger = ledger
        self.reader = reader
        self.session = session
        self.logWasEmpty = logWasEmpty
        self.warm = warm
    }

    mutating func client(_ id: String) throws -> ClientState {
        if let state = clients.removeValue(forKey: id) { return state }
        if let state = warm.removeValue(forKey: id) ?? (reader === ledger.log ? ledger.warmClients.removeValue(forKey: id) : nil) {
            let current = try session.map { try $0.version(of: state.stream) } ?? reader.version(of: state.stream)
            if current == state.version { return state }
        }
        if logWasEmpty { return ClientState(clientId: id, adjustmentLotLifetimeDays: ledger.rules.lotLifetimeDays) }
        return try Ledger.fold(id, from: reader, rules: ledger.rules)
    }

    /// The client states of this transaction (to keep warm after it commits).
    mutating func takeClients() -> [String: ClientState] {
        defer { clients = [:] }
        return clients
    }

    mutating func store(_ state: ClientState) {
        clients[state.clientId] = state
    }

    mutating func campaign(_ id: String) throws -> CampaignState {
        if let state = campaigns[id] { return state }
        var state = CampaignState(campaignId: id)
        try reader.scan(EventQuery(stream: "campaign/" + id)) { event in
            try state.apply(Ledger.payload(of: event), at: event.occurredMoment)
            return true
        }
        return state
    }

    mutating func store(_ state: CampaignState) {
        campaigns[state.campaignId] = state
    }

    mutating func storedEvent(id: String) throws -> StoredIdentity? {
        if logWasEmpty { return nil }
        if let session { return try session.storedEvent(id: id) }
        if idQuery == nil {
            idQuery = try reader.connection.prepare("SELECT position, version, stream, type, data FROM events WHERE event_id = ?")
        }
        guard let query = idQuery else { return nil }
        query.reset()
        query.bind(id, at: 1)
        guard try query.step() else { return nil }
        return StoredIdentity(position: query.int64(at: 0), version: query.int64(at: 1), stream: query.string(at: 2), type: query.string(at: 3), data: query.string(at: 4))
    }
}

/// A campaign stream's state, enough to keep its events in order.
public struct CampaignState: Sendable {
    public let campaignId: String
    public var version: Int64 = 0
    public var name: String?
    public var launchedAt: Timestamp?
    public var closedAt: Timestamp?

    public init(campaignId: String) {
        self.campaignId = campaignId
    }

    public mutating func apply(_ payload: EventPayload, at moment: Timestamp) throws(FieldError) {
        switch payload {
        case .campaignDefined(let name, _):
            guard self.name == nil else { throw FieldError(field: "type", problem: "campaign \(campaignId) is already defined") }
            self.name = name
        case .campaignLaunched:
            guard name != nil else { throw FieldError(field: "campaignId", problem: "no campaign \(campaignId) is defined") }
            guard launchedAt == nil else { throw FieldError(field: "type", problem: "campaign \(campaignId) is already launched") }
            guard closedAt == nil else { throw FieldError(field: "type", problem: "campaign \(campaignId) is closed") }
            launchedAt = moment
        case .campaignClosed:
            guard name != nil else { throw FieldError(field: "campaignId", problem: "no campaign \(campaignId) is defined") }
            guard closedAt == nil else { throw FieldError(field: "type", problem: "campaign \(campaignId) is already closed") }
            closedAt = moment
        default:
            throw FieldError(field: "type", problem: "\(payload.type.rawValue) does not belong to a campaign stream")
        }
        version += 1
    }
}

// MARK: - History

/// One step of a client's history: the event, what caused it, and the state after it.
public struct HistoryStep: Sendable {
    public var event: RecordedEvent
    public var payload: EventPayload
    public var metadata: EventMetadata
    public var stateAfter: ClientState
}

extension Ledger {
    /// A client's history in stream order, each event with the state after it. `asOf` keeps
    /// the events that occurred by then, `knownAt` those the ledger had recorded by then
    /// (what the firm knew at that moment).
    public func history(_ clientId: String, asOf: Timestamp? = nil, knownAt: Timestamp? = nil) throws -> [HistoryStep] {
        var state = ClientState(clientId: clientId, adjustmentLotLifetimeDays: rules.lotLifetimeDays)
        var steps: [HistoryStep] = []
        try log.scan(EventQuery(stream: ClientState.stream(for: clientId), occurredTo: asOf, recordedTo: knownAt)) { event in
            let payload = try Self.payload(of: event)
            state.apply(payload, at: event.occurredMoment)
            steps.append(HistoryStep(event: event, payload: payload, metadata: EventMetadata(json: event.metadata), stateAfter: state))
            return true
        }
        return steps
    }
}
