import LedgerCore
import LedgerDomain
import LedgerStorage

extension Ledger {
    // MARK: - Periodic jobs

    /// What a periodic job wrote.
    public struct JobReport: Sendable, Equatable {
        public var clientsChanged = 0
        public var eventsWritten = 0
        public var points: Int64 = 0

        public init(clientsChanged: Int = 0, eventsWritten: Int = 0, points: Int64 = 0) {
            self.clientsChanged = clientsChanged
            self.eventsWritten = eventsWritten
            self.points = points
        }
    }

    /// Expires what is left of every lot whose end is at or before `asOf`, for every client
    /// not offboarded. Running it again for the same date writes nothing.
    public func expirePoints(asOf: Timestamp) throws -> JobReport {
        try runJob(name: "points-expire", asOf: asOf) { state, _ in
            LoyaltyPolicy.periodicExpiries(state: state, asOf: asOf)
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
        let then = current.lastEventAt.map { $0 <= asOf } ?? true ? current : try streams.fold(clientId, asOf: asOf)
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
    /// A job for a moment that has not come (beyond the tolerance of `TimeSanity`, by the
    /// ledger's clock) is refused before anything is written: it would expire lots and move
    /// tiers early.
    private func runJob(name: String, asOf: Timestamp, decide: (ClientState, String) throws -> [PlannedEvent]) throws -> JobReport {
        do {
            try TimeSanity.check(
                asOf, now: clock.now(), field: "asOf",
                what: "a periodic job runs only for a moment that has come (a date means the end of that day: give a full time to run during the day)")
        } catch {
            throw InputError(line: nil, field: error.field, problem: error.problem)
        }
        let cause = EventID.derived(from: "clientledger/job\n\(name)\n\(asOf.iso8601)")
        return try store.write { session in
            try recordRulesIfNeeded(session)
            var report = JobReport()
            for clientId in try store.streamIds(category: "client") {
                var state = try streams.fold(clientId)
                let decisions = try decide(state, clientId)
                guard !decisions.isEmpty else { continue }
                report.clientsChanged += 1
                decisions: for (index, step) in decisions.enumerated() {
                    let clientCause = "\(cause)/\(clientId)"
                    var event = decisionEvent(
                        step, cause: clientCause, correlation: cause, index: index,
                        stream: state.stream, rulesVersion: rulesVersion)
                    // This very decision stored already: nothing to write. Another event on
                    // its id (a fact a sender gave that id): the next id of its sequence.
                    var attempt = 0
                    while let stored = try session.storedEvent(id: event.eventId) {
                        if stored.matches(event) { continue decisions }
                        attempt += 1
                        event.eventId = Self.decisionId(name: Self.decisionIdName(cause: clientCause, index: index), attempt: attempt)
                    }
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
