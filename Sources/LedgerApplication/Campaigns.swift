import LedgerCore
import LedgerDomain
import LedgerProjections
import LedgerStorage

/// A campaign as the log holds it: its stream's state, the definition read back, and where
/// it was launched.
public struct CampaignRecord: Sendable {
    public var state: CampaignState
    /// The stored definition, validated against the rules in force (nil when it does not
    /// pass: `definitionProblem` says why; older ledgers stored definitions unchecked).
    public var definition: CampaignDefinition?
    public var definitionProblem: FieldError?
    public var launchPosition: Int64?
    public var launchEventId: String?

    public var id: String { state.campaignId }
}

/// Campaign points awarded per campaign, summed from the log up to a position, so each write
/// transaction only reads the awards recorded since the last one.
struct CampaignUsage {
    var from: Int64 = 0
    var through: Int64 = -1
    var used: [String: Int64] = [:]
}

/// A launch started on a log that moved before its write transaction began: taken again.
struct LogMoved: Error {}

extension Ledger {
    // MARK: - Reading campaigns

    /// The campaign `id` as recorded (an empty state when it is not defined).
    public static func campaignRecord(_ id: String, store: any EventStore, rules: Rules) throws -> CampaignRecord {
        var state = CampaignState(campaignId: id)
        var launchPosition: Int64?
        var launchEventId: String?
        try store.scan(EventQuery(stream: "campaign/" + id)) { event in
            let payload = try StoredEvents.payload(of: event)
            do {
                try state.apply(payload, at: event.occurredMoment)
            } catch let error as FieldError {
                throw StorageError.corrupt("position \(event.position): \(error.problem)")
            }
            if case .campaignLaunched = payload {
                launchPosition = event.position
                launchEventId = event.eventId
            }
            return true
        }
        var record = CampaignRecord(state: state, launchPosition: launchPosition, launchEventId: launchEventId)
        if let definition = state.definition {
            do {
                record.definition = try CampaignDefinition.parse(definition, rules: rules)
            } catch {
                record.definitionProblem = FieldError(field: "definition.\(error.field)", problem: error.problem)
            }
        }
        return record
    }

    /// Every campaign of the log, by id.
    public static func campaignRecords(store: any EventStore, rules: Rules) throws -> [CampaignRecord] {
        try store.read {
            try store.streamIds(category: "campaign").map { try campaignRecord($0, store: store, rules: rules) }
        }
    }

    /// The open campaigns whose awards follow events, with the budget each has used, read
    /// through `reader` at the start of a write transaction (or a dry run).
    func campaignBook(reader: any EventStore) throws -> CampaignBook {
        let ids = try reader.streamIds(category: "campaign")
        guard !ids.isEmpty else { return .empty }
        var open: [(definition: CampaignDefinition, launchedAt: Int64)] = []
        for id in ids {
            let record = try Self.campaignRecord(id, store: reader, rules: rules)
            guard record.state.isOpen, let definition = record.definition, !definition.award.on.isEmpty,
                  let position = record.launchPosition else { continue }
            open.append((definition, position))
        }
        guard let earliest = open.map(\.launchedAt).min() else { return .empty }
        let head = try reader.head().position
        if earliest < campaignUsage.from || campaignUsage.through < 0 || campaignUsage.through > head {
            campaignUsage = CampaignUsage(from: earliest, through: earliest - 1, used: [:])
        }
        if campaignUsage.through < head {
            var used = campaignUsage.used
            try reader.scan(EventQuery(types: [EventType.pointsAwarded.rawValue], fromPosition: campaignUsage.through + 1, toPosition: head)) { event in
                if case .pointsAwarded(let points, .campaign, let campaignId?, _) = try StoredEvents.payload(of: event) {
                    used[campaignId, default: 0] += points
                }
                return true
            }
            campaignUsage.used = used
            campaignUsage.through = head
        }
        return CampaignBook(entries: open.map { .init(definition: $0.definition, used: campaignUsage.used[$0.definition.id] ?? 0) })
    }

    /// The campaign points awarded per campaign in the whole log.
    public static func campaignPointsUsed(store: any EventStore, campaignId: String, after position: Int64) throws -> (awards: Int, points: Int64, clients: Int) {
        var awards = 0
        var points: Int64 = 0
        var clients = Set<String>()
        try store.scan(EventQuery(types: [EventType.pointsAwarded.rawValue], fromPosition: position)) { event in
            if case .pointsAwarded(let awarded, .campaign, campaignId?, _) = try StoredEvents.payload(of: event) {
                awards += 1
                points += awarded
                clients.insert(event.stream)
            }
            return true
        }
        return (awards, points, clients.count)
    }

    // MARK: - define, close

    public struct DefineReport: Sendable {
        public var definition: CampaignDefinition
        /// The same definition was recorded already: nothing written.
        public var alreadyDefined: Bool
        public var position: Int64?
    }

    /// Records `CampaignDefined` with the canonical form of a campaign file. A file that does
    /// not pass is refused naming the field; the same definition twice writes nothing.
    public func defineCampaign(fileText: String, actor: String = "campaign define") throws -> DefineReport {
        let definition: CampaignDefinition
        do {
            definition = try CampaignDefinition.parseFile(fileText, rules: rules)
        } catch {
            throw InputError(line: nil, field: error.field, problem: error.problem)
        }
        let existing = try store.read { try Self.campaignRecord(definition.id, store: store, rules: rules) }
        if let stored = existing.state.definition {
            guard stored == definition.canonical else {
                throw InputError(line: nil, field: "id", problem: "campaign \(definition.id) is already defined with another definition (a definition is recorded once; give the new one another id)")
            }
            return DefineReport(definition: definition, alreadyDefined: true, position: nil)
        }
        let payload = EventPayload.campaignDefined(name: definition.name, definition: definition.canonical)
        let report = try importEvents([campaignFact(definition.id, payload, name: "defined", actor: actor, expectedVersion: 0)])
        return DefineReport(definition: definition, alreadyDefined: false, position: report.lastPosition)
    }

    /// Records `CampaignClosed`: no award follows an event recorded after it.
    public func closeCampaign(_ id: String, reason: String?, actor: String = "campaign close") throws -> CampaignRecord {
        let record = try store.read { try Self.campaignRecord(id, store: store, rules: rules) }
        guard record.state.isDefined else { throw InputError(line: nil, field: "campaignId", problem: "no campaign \(id) is defined") }
        guard record.state.closedAt == nil else { return record }
        if let reason {
            do {
                try CampaignDefinition.checkText(reason, field: "reason")
            } catch {
                throw InputError(line: nil, field: error.field, problem: error.problem)
            }
        }
        _ = try importEvents([campaignFact(id, .campaignClosed(reason: reason), name: "closed", actor: actor, expectedVersion: record.state.version)])
        return try store.read { try Self.campaignRecord(id, store: store, rules: rules) }
    }

    private func campaignFact(_ id: String, _ payload: EventPayload, name: String, actor: String, expectedVersion: Int64) -> IncomingEvent {
        IncomingEvent(
            line: 1, eventId: EventID.derived(from: "clientledger/campaign\n\(id)\n\(name)"), type: payload.type,
            subject: .campaign(id), occurredAt: clock.now(), schemaVersion: payload.type.currentSchemaVersion, payload: payload,
            metadata: EventMetadata(actor: actor), expectedVersion: expectedVersion)
    }

    // MARK: - launch

    public struct LaunchReport: Sendable, Equatable, Codable {
        public var campaignId: String
        public var launchedAt: Timestamp
        /// The campaign was launched already: nothing written now.
        public var alreadyLaunched: Bool
        public var enrolled: Int
        public var treatment: Int
        public var holdout: Int
        public var awards: Int
        public var points: Int64
        public var budget: Int64
        /// Treatment clients whose fixed award was cut by the per-client cap, by the budget.
        public var cutByCap: Int
        public var cutByBudget: Int
        public var excludedBySuitability: Int
        public var excludedByCheck: [String: Int64]
        @NullEncoded public var position: Int64?
    }

    /// Launches a defined campaign in one write transaction: `CampaignLaunched`, then in
    /// client-id order one `CampaignEnrolled` per client of the audience frozen now, each
    /// treatment client's fixed award (cut to the cap, then to what is left of the budget)
    /// and the upgrade it earns. All of it commits or none of it does, so a launch
    /// interrupted anywhere leaves no trace, and running it again after it committed writes
    /// nothing.
    public func launchCampaign(_ id: String, note: String? = nil) throws -> LaunchReport {
        if let note {
            do {
                try CampaignDefinition.checkText(note, field: "note")
            } catch {
                throw InputError(line: nil, field: error.field, problem: error.problem)
            }
        }
        for _ in 0..<5 {
            let record = try store.read { try Self.campaignRecord(id, store: store, rules: rules) }
            guard record.state.isDefined else { throw InputError(line: nil, field: "campaignId", problem: "no campaign \(id) is defined") }
            if let launchedAt = record.state.launchedAt {
                return try alreadyLaunched(record, at: launchedAt)
            }
            if record.state.closedAt != nil { throw InputError(line: nil, field: "campaignId", problem: "campaign \(id) is closed; it cannot be launched") }
            guard let definition = record.definition else {
                let problem = record.definitionProblem ?? FieldError(field: "definition", problem: "cannot be read")
                throw InputError(line: nil, field: problem.field, problem: "the recorded definition of \(id) does not pass: \(problem.problem); define the campaign again under another id")
            }
            let now = clock.now()
            let head = try store.head().position
            let snapshot = try ClientSnapshot.take(store, rules: rules, asOf: now, through: head)
            let audience = CampaignTargeting.audience(definition, snapshot: snapshot, rules: rules)
            do {
                return try store.write { session in
                    guard session.lastPosition == head, try session.version(of: "campaign/" + id) == record.state.version else {
                        throw LogMoved()
                    }
                    return try writeLaunch(definition, audience: audience, note: note, at: now, session: session)
                }
            } catch is LogMoved {
                continue
            }
        }
        throw StorageError.busy("the log kept moving while campaign \(id) was being launched; run the launch again")
    }

    private func alreadyLaunched(_ record: CampaignRecord, at launchedAt: Timestamp) throws -> LaunchReport {
        let used = try store.read { try Self.campaignPointsUsed(store: store, campaignId: record.id, after: record.launchPosition ?? 0) }
        var treatment = 0
        var holdout = 0
        try store.scan(EventQuery(types: [EventType.campaignEnrolled.rawValue], fromPosition: record.launchPosition ?? 0)) { event in
            if case .campaignEnrolled(record.id, let group) = try StoredEvents.payload(of: event) {
                if group == .treatment { treatment += 1 } else { holdout += 1 }
            }
            return true
        }
        let excluded = record.state.excluded
        return LaunchReport(
            campaignId: record.id, launchedAt: launchedAt, alreadyLaunched: true, enrolled: treatment + holdout, treatment: treatment,
            holdout: holdout, awards: used.awards, points: used.points, budget: record.definition?.budget ?? 0, cutByCap: 0, cutByBudget: 0,
            excludedBySuitability: 0, excludedByCheck: Dictionary(uniqueKeysWithValues: excluded.map { ($0.key.rawValue, $0.value) }),
            position: record.launchPosition)
    }

    private func writeLaunch(
        _ definition: CampaignDefinition, audience: CampaignAudience, note: String?, at now: Timestamp, session: any AppendTransaction
    ) throws -> LaunchReport {
        let excluded = audience.excludedByCheck
        let launch = EventPayload.campaignLaunched(note: note, excluded: excluded)
        let launchId = EventID.derived(from: "clientledger/campaign\n\(definition.id)\nlaunched")
        let launched = try session.append(NewEvent(
            eventId: launchId, stream: "campaign/" + definition.id, type: launch.type.rawValue,
            schemaVersion: launch.type.currentSchemaVersion, occurredAt: now, data: launch.dataJSON,
            metadata: EventMetadata(actor: "campaign launch").json))
        var report = LaunchReport(
            campaignId: definition.id, launchedAt: now, alreadyLaunched: false, enrolled: audience.members.count,
            treatment: audience.treatment, holdout: audience.holdout, awards: 0, points: 0, budget: definition.budget, cutByCap: 0,
            cutByBudget: 0, excludedBySuitability: audience.excluded.count,
            excludedByCheck: Dictionary(uniqueKeysWithValues: excluded.map { ($0.key.rawValue, $0.value) }), position: launched.position)
        var index = 0
        for member in audience.members {
            var state = member.state
            let capLeft = definition.perClientCap - (state.campaigns[definition.id]?.points ?? 0)
            let budgetLeft = definition.budget - report.points
            let (events, points) = CampaignPolicy.launch(
                definition, group: member.group, at: now, state: &state, budgetLeft: budgetLeft, rules: rules)
            if member.group == .treatment, case .fixed(let fixed) = definition.award {
                if min(fixed, capLeft) < fixed { report.cutByCap += 1 }
                if points < min(fixed, capLeft) { report.cutByBudget += 1 }
            }
            if points > 0 {
                report.awards += 1
                report.points += points
            }
            for step in events {
                let name = Self.decisionIdName(cause: launchId, index: index)
                var event = decisionEvent(step, cause: launchId, correlation: launchId, index: index, stream: state.stream, rulesVersion: rulesVersion)
                index += 1
                var attempt = 0
                while true {
                    do {
                        try session.append(event)
                        break
                    } catch StorageError.eventIdReused {
                        attempt += 1
                        event.eventId = Self.decisionId(name: name, attempt: attempt)
                    }
                }
            }
        }
        return report
    }
}
