import LedgerCore
import LedgerDomain
import LedgerProjections
import LedgerStorage

/// What a campaign would reach and cost if it were launched at a moment: nothing is written.
public struct CampaignSimulation: Sendable, Codable {
    public var campaignId: String
    public var name: String
    public var award: String
    public var asOf: Timestamp
    public var windowFrom: String
    public var windowTo: String
    /// The days whose recorded events were replayed (multiplier and perEvent awards).
    @NullEncoded public var replayedFrom: String?
    @NullEncoded public var replayedTo: String?
    @NullEncoded public var note: String?
    public var audience: Int
    public var treatment: Int
    public var holdout: Int
    public var byTier: [String: Int]
    public var bySegment: [String: Int]
    public var byStage: [String: Int]
    public var excludedBySuitability: Int
    public var excludedByCheck: [String: Int64]
    public var excludedClients: [AudienceExclusion]
    /// Events in the replayed days that would trigger an award (before cuts).
    @NullEncoded public var triggeringEvents: Int?
    public var projectedAwards: Int
    public var projectedPoints: Int64
    public var clientsAwarded: Int
    public var budget: Int64
    public var shareOfBudget: Double
    /// Awards cut by the per-client cap, by the budget (an award cut to 0 is counted too).
    public var cutByCap: Int
    public var cutByBudget: Int
}

/// A campaign's outcome, from the log alone.
public struct CampaignReport: Sendable, Codable {
    public struct Group: Sendable, Codable {
        public var group: String
        public var clients: Int
        /// Clients with at least one activity in the measured days.
        public var activeClients: Int
        public var activities: Int
        public var traded: String
        public var purchased: String
        public var promotedPurchases: Int
        /// Per client of the group.
        @NullEncoded public var activitiesPerClient: Double?
        @NullEncoded public var tradedPerClient: String?
        @NullEncoded public var purchasedPerClient: String?
        @NullEncoded public var promotedPurchasesPerClient: Double?
        @NullEncoded public var activeShare: Double?
    }

    /// Treatment minus holdout, per client (null without both groups).
    public struct Uplift: Sendable, Codable {
        @NullEncoded public var activitiesPerClient: Double?
        @NullEncoded public var tradedPerClient: String?
        @NullEncoded public var purchasedPerClient: String?
        @NullEncoded public var promotedPurchasesPerClient: Double?
        @NullEncoded public var activeShare: Double?
    }

    public var campaignId: String
    public var name: String
    public var state: String
    public var award: String
    @NullEncoded public var promotes: String?
    public var windowFrom: String
    public var windowTo: String
    /// The measured days: the window, up to the report's moment.
    @NullEncoded public var measuredThrough: String?
    @NullEncoded public var launchedAt: Timestamp?
    @NullEncoded public var closedAt: Timestamp?
    public var awards: Int
    public var points: Int64
    public var budget: Int64
    public var budgetLeft: Int64
    public var budgetUsedShare: Double
    public var clientsReached: Int
    public var enrolled: Int
    public var excludedByCheck: [String: Int64]
    public var treatment: Group
    public var holdout: Group
    public var uplift: Uplift
}

/// One row of `campaign list`.
public struct CampaignSummary: Sendable, Codable {
    public var campaignId: String
    @NullEncoded public var name: String?
    public var state: String
    @NullEncoded public var award: String?
    @NullEncoded public var windowFrom: String?
    @NullEncoded public var windowTo: String?
    @NullEncoded public var budget: Int64?
    public var budgetUsed: Int64
    @NullEncoded public var budgetLeft: Int64?
    @NullEncoded public var definedAt: Timestamp?
    @NullEncoded public var launchedAt: Timestamp?
    @NullEncoded public var closedAt: Timestamp?
    /// Why the recorded definition does not pass today's checks, if it does not.
    @NullEncoded public var problem: String?
}

public enum CampaignAnalysis {
    static func counts(_ values: [String]) -> [String: Int] {
        var result: [String: Int] = [:]
        for value in values { result[value, default: 0] += 1 }
        return result
    }

    static func rounded(_ value: Double, places: Double = 1000) -> Double { (value * places).rounded() / places }

    // MARK: - list, show

    public static func summaries(store: any EventStore, rules: Rules) throws -> [CampaignSummary] {
        try store.read {
            try Ledger.campaignRecords(store: store, rules: rules).map { try summary($0, store: store) }
        }
    }

    public static func summary(_ record: CampaignRecord, store: any EventStore) throws -> CampaignSummary {
        let used = record.launchPosition == nil ? 0 : try Ledger.campaignPointsUsed(store: store, campaignId: record.id, after: record.launchPosition ?? 0).points
        let definition = record.definition
        return CampaignSummary(
            campaignId: record.id, name: record.state.name, state: record.state.stateName, award: definition?.award.kind,
            windowFrom: definition.map { Timestamp(dayNumber: $0.fromDay).isoDate }, windowTo: definition.map { Timestamp(dayNumber: $0.toDay).isoDate },
            budget: definition?.budget, budgetUsed: used, budgetLeft: definition.map { max(0, $0.budget - used) },
            definedAt: record.state.definedAt, launchedAt: record.state.launchedAt, closedAt: record.state.closedAt,
            problem: record.definitionProblem.map { "\($0.field): \($0.problem)" })
    }

    // MARK: - simulate

    /// What launching `definition` at `asOf` would enrol, exclude and cost, writing nothing.
    /// A fixed award is computed exactly as a launch makes it; a multiplier or perEvent award
    /// replays the recorded events of the window (up to `asOf`; for a window that has not
    /// begun, the most recent days of the same length, said in `note`).
    public static func simulate(_ definition: CampaignDefinition, store: any EventStore, rules: Rules, asOf: Timestamp) throws -> CampaignSimulation {
        try store.read {
            let snapshot = try ClientSnapshot.take(store, rules: rules, asOf: asOf)
            let audience = CampaignTargeting.audience(definition, snapshot: snapshot, rules: rules)
            var simulation = CampaignSimulation(
                campaignId: definition.id, name: definition.name, award: definition.award.kind, asOf: asOf,
                windowFrom: Timestamp(dayNumber: definition.fromDay).isoDate, windowTo: Timestamp(dayNumber: definition.toDay).isoDate,
                replayedFrom: nil, replayedTo: nil, note: nil, audience: audience.members.count, treatment: audience.treatment,
                holdout: audience.holdout, byTier: counts(audience.members.map(\.tier.rawValue)),
                bySegment: counts(audience.members.map(\.segment.rawValue)), byStage: counts(audience.members.map(\.stage.rawValue)),
                excludedBySuitability: audience.excluded.count,
                excludedByCheck: Dictionary(uniqueKeysWithValues: audience.excludedByCheck.map { ($0.key.rawValue, $0.value) }),
                excludedClients: audience.excluded, triggeringEvents: nil, projectedAwards: 0, projectedPoints: 0, clientsAwarded: 0,
                budget: definition.budget, shareOfBudget: 0, cutByCap: 0, cutByBudget: 0)
            if case .fixed(let fixed) = definition.award {
                for member in audience.members where member.group == .treatment {
                    var state = member.state
                    let capLeft = definition.perClientCap - (state.campaigns[definition.id]?.points ?? 0)
                    let (_, points) = CampaignPolicy.launch(
                        definition, group: member.group, at: asOf, state: &state,
                        budgetLeft: definition.budget - simulation.projectedPoints, rules: rules)
                    if min(fixed, capLeft) < fixed { simulation.cutByCap += 1 }
                    if points < min(fixed, capLeft) { simulation.cutByBudget += 1 }
                    if points > 0 {
                        simulation.projectedAwards += 1
                        simulation.projectedPoints += points
                        simulation.clientsAwarded += 1
                    }
                }
            } else {
                try replay(definition, audience: audience, store: store, asOf: asOf, into: &simulation)
            }
            simulation.shareOfBudget = rounded(Double(simulation.projectedPoints) / Double(definition.budget), places: 10_000)
            return simulation
        }
    }

    private static func replay(
        _ definition: CampaignDefinition, audience: CampaignAudience, store: any EventStore, asOf: Timestamp,
        into simulation: inout CampaignSimulation
    ) throws {
        let today = asOf.dayNumber
        var from = definition.fromDay
        var to = definition.toDay
        if from > today {
            to = today
            from = today - definition.windowDays + 1
            simulation.note = "the window has not begun: the most recent \(definition.windowDays) days of history were replayed instead"
        } else if to > today {
            to = today
            simulation.note = "the window is not over: its days up to \(Timestamp(dayNumber: today).isoDate) were replayed"
        }
        simulation.replayedFrom = Timestamp(dayNumber: from).isoDate
        simulation.replayedTo = Timestamp(dayNumber: to).isoDate
        var capUsed: [String: Int64] = [:]
        var treatment = Set<String>()
        for member in audience.members where member.group == .treatment {
            treatment.insert(member.state.stream)
            capUsed[member.state.stream] = member.state.campaigns[definition.id]?.points ?? 0
        }
        let on = Set(definition.award.on.map(\.rawValue))
        var budgetUsed: Int64 = 0
        var triggering = 0
        var awarded = Set<String>()
        // A multiplier award waits for the award of its fact (the next decision of the stream).
        var pending: [String: Timestamp] = [:]
        func make(_ raw: Int64, stream: String) {
            let capLeft = definition.perClientCap - (capUsed[stream] ?? 0)
            let capped = max(0, min(raw, capLeft))
            let points = CampaignPolicy.cut(raw, capLeft: capLeft, budgetLeft: definition.budget - budgetUsed)
            if capped < raw { simulation.cutByCap += 1 }
            if points < capped { simulation.cutByBudget += 1 }
            guard points > 0 else { return }
            capUsed[stream, default: 0] += points
            budgetUsed += points
            simulation.projectedAwards += 1
            simulation.projectedPoints += points
            awarded.insert(stream)
        }
        let query = EventQuery(
            occurredFrom: Timestamp(dayNumber: from),
            occurredTo: Timestamp(millisecondsSinceEpoch: min(Timestamp(dayNumber: to + 1).millisecondsSinceEpoch - 1, asOf.millisecondsSinceEpoch)))
        try store.scan(query) { event in
            guard treatment.contains(event.stream), let type = EventType(rawValue: event.type) else { return true }
            if type.isDecision {
                guard let moment = pending[event.stream], type == .pointsAwarded else { return true }
                if case .pointsAwarded(let points, let reason, _, _) = try StoredEvents.payload(of: event), reason != .campaign,
                   event.occurredMoment == moment, case .multiplier(let permille, _) = definition.award {
                    pending[event.stream] = nil
                    make(points * (permille - 1000) / 1000, stream: event.stream)
                }
                return true
            }
            pending[event.stream] = nil
            guard on.contains(event.type) else { return true }
            triggering += 1
            switch definition.award {
            case .perEvent(let points, _): make(points, stream: event.stream)
            case .multiplier: pending[event.stream] = event.occurredMoment
            case .fixed: break
            }
            return true
        }
        simulation.triggeringEvents = triggering
        simulation.clientsAwarded = awarded.count
    }

    // MARK: - report

    /// Awards, budget and reach of a campaign, and treatment against holdout over its window
    /// (up to `asOf`): activity, traded and purchased amounts and purchases of the promoted
    /// product, per client, with the difference. Read from the log alone.
    public static func report(_ record: CampaignRecord, store: any EventStore, asOf: Timestamp) throws -> CampaignReport {
        guard let definition = record.definition else {
            let problem = record.definitionProblem ?? FieldError(field: "definition", problem: "cannot be read")
            throw InputError(line: nil, field: problem.field, problem: "the recorded definition of \(record.id) does not pass: \(problem.problem)")
        }
        return try store.read {
            var groups: [String: CampaignGroup] = [:]
            if let launched = record.launchPosition {
                try store.scan(EventQuery(types: [EventType.campaignEnrolled.rawValue], fromPosition: launched)) { event in
                    if case .campaignEnrolled(record.id, let group) = try StoredEvents.payload(of: event) { groups[event.stream] = group }
                    return true
                }
            }
            let used = record.launchPosition == nil
                ? (awards: 0, points: Int64(0), clients: 0)
                : try Ledger.campaignPointsUsed(store: store, campaignId: record.id, after: record.launchPosition ?? 0)
            struct Sums {
                var clients = 0, active = Set<String>(), activities = 0, traded: Int64 = 0, purchased: Int64 = 0, promoted = 0
            }
            var sums: [CampaignGroup: Sums] = [.treatment: Sums(), .holdout: Sums()]
            for group in groups.values { sums[group, default: Sums()].clients += 1 }
            let end = min(definition.windowEnd.millisecondsSinceEpoch, asOf.millisecondsSinceEpoch)
            let measured = end >= definition.windowStart.millisecondsSinceEpoch && !groups.isEmpty
            if measured {
                let types = EventType.allCases.filter(\.isActivity).map(\.rawValue)
                try store.scan(EventQuery(types: types, occurredFrom: definition.windowStart, occurredTo: Timestamp(millisecondsSinceEpoch: end))) { event in
                    guard let group = groups[event.stream] else { return true }
                    let payload = try StoredEvents.payload(of: event)
                    var entry = sums[group, default: Sums()]
                    entry.activities += 1
                    entry.active.insert(event.stream)
                    switch payload {
                    case .tradeExecuted(_, _, let notional): entry.traded += notional.cents
                    case .productPurchased(let product, let amount):
                        entry.purchased += amount.cents
                        if product == definition.promotes { entry.promoted += 1 }
                    default: break
                    }
                    sums[group] = entry
                    return true
                }
            }
            func outcome(_ group: CampaignGroup) -> CampaignReport.Group {
                let s = sums[group] ?? Sums()
                let n = s.clients
                func per(_ value: Int) -> Double? { n > 0 ? rounded(Double(value) / Double(n)) : nil }
                func perAmount(_ cents: Int64) -> String? { n > 0 ? Money(cents: cents / Int64(n)).decimalText : nil }
                return CampaignReport.Group(
                    group: group.rawValue, clients: n, activeClients: s.active.count, activities: s.activities,
                    traded: Money(cents: s.traded).decimalText, purchased: Money(cents: s.purchased).decimalText, promotedPurchases: s.promoted,
                    activitiesPerClient: per(s.activities), tradedPerClient: perAmount(s.traded), purchasedPerClient: perAmount(s.purchased),
                    promotedPurchasesPerClient: per(s.promoted), activeShare: per(s.active.count))
            }
            let treatment = outcome(.treatment)
            let holdout = outcome(.holdout)
            let both = treatment.clients > 0 && holdout.clients > 0
            func difference(_ a: Double?, _ b: Double?) -> Double? {
                guard both, let a, let b else { return nil }
                return rounded(a - b)
            }
            func amountDifference(_ a: Int64, _ na: Int, _ b: Int64, _ nb: Int) -> String? {
                guard both else { return nil }
                return Money(cents: a / Int64(na) - b / Int64(nb)).decimalText
            }
            let t = sums[.treatment] ?? Sums()
            let h = sums[.holdout] ?? Sums()
            let uplift = CampaignReport.Uplift(
                activitiesPerClient: difference(treatment.activitiesPerClient, holdout.activitiesPerClient),
                tradedPerClient: amountDifference(t.traded, t.clients, h.traded, h.clients),
                purchasedPerClient: amountDifference(t.purchased, t.clients, h.purchased, h.clients),
                promotedPurchasesPerClient: difference(treatment.promotedPurchasesPerClient, holdout.promotedPurchasesPerClient),
                activeShare: difference(treatment.activeShare, holdout.activeShare))
            return CampaignReport(
                campaignId: record.id, name: definition.name, state: record.state.stateName, award: definition.award.kind,
                promotes: definition.promotes, windowFrom: Timestamp(dayNumber: definition.fromDay).isoDate,
                windowTo: Timestamp(dayNumber: definition.toDay).isoDate,
                measuredThrough: measured ? Timestamp(millisecondsSinceEpoch: end).isoDate : nil,
                launchedAt: record.state.launchedAt, closedAt: record.state.closedAt, awards: used.awards, points: used.points,
                budget: definition.budget, budgetLeft: max(0, definition.budget - used.points),
                budgetUsedShare: rounded(Double(used.points) / Double(definition.budget), places: 10_000), clientsReached: used.clients,
                enrolled: groups.count,
                excludedByCheck: Dictionary(uniqueKeysWithValues: record.state.excluded.map { ($0.key.rawValue, $0.value) }),
                treatment: treatment, holdout: holdout, uplift: uplift)
        }
    }
}
