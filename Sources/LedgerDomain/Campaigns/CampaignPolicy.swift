import LedgerCore

/// The open campaigns whose awards follow events (multiplier and perEvent), with the budget
/// each has used: what the policies of one write transaction need. It is read inside the
/// write transaction (SQLite lets one writer at a time in), and kept up to date as the
/// transaction plans awards, so the budget holds whatever other processes write.
public struct CampaignBook: Sendable {
    public struct Entry: Sendable {
        public var definition: CampaignDefinition
        /// Campaign points awarded so far (committed and planned in this transaction).
        public var used: Int64

        public init(definition: CampaignDefinition, used: Int64) {
            self.definition = definition
            self.used = used
        }

        public var left: Int64 { max(0, definition.budget - used) }
    }

    /// Open campaigns with an event-triggered award, in id order.
    public var entries: [Entry]

    public init(entries: [Entry] = []) {
        self.entries = entries.sorted { $0.definition.id < $1.definition.id }
    }

    public static let empty = CampaignBook()
    public var isEmpty: Bool { entries.isEmpty }
}

/// What a campaign awards (SPEC §3): each award is cut to what is left of the client's cap
/// and of the campaign's budget, and an award cut to 0 is not written.
public enum CampaignPolicy {
    /// An award of `points` after the cuts: the client's cap left, then the budget left.
    public static func cut(_ points: Int64, capLeft: Int64, budgetLeft: Int64) -> Int64 {
        max(0, min(points, capLeft, budgetLeft))
    }

    /// The campaign award decision of `points` at `moment`.
    static func award(_ points: Int64, campaignId: String, at moment: Timestamp, rules: Rules) -> PlannedEvent {
        PlannedEvent(
            payload: .pointsAwarded(points: points, reason: .campaign, campaignId: campaignId, expiresAt: moment.adding(days: rules.lotLifetimeDays)),
            occurredAt: moment, isDecision: true)
    }

    /// The decisions a launch writes for one enrolled client, applied to `state`: its
    /// enrolment, then (treatment, fixed award) the award cut to the cap and to
    /// `budgetLeft`, then an upgrade it earns. Returns them with the points awarded.
    public static func launch(
        _ definition: CampaignDefinition, group: CampaignGroup, at moment: Timestamp, state: inout ClientState,
        budgetLeft: Int64, rules: Rules
    ) -> (events: [PlannedEvent], points: Int64) {
        var events: [PlannedEvent] = []
        func record(_ step: PlannedEvent) {
            state.apply(step.payload, at: step.occurredAt)
            events.append(step)
        }
        record(PlannedEvent(payload: .campaignEnrolled(campaignId: definition.id, group: group), occurredAt: moment, isDecision: true))
        guard group == .treatment, case .fixed(let fixed) = definition.award else { return (events, 0) }
        let capLeft = definition.perClientCap - (state.campaigns[definition.id]?.points ?? 0)
        let points = cut(fixed, capLeft: capLeft, budgetLeft: budgetLeft)
        guard points > 0 else { return (events, 0) }
        record(award(points, campaignId: definition.id, at: moment, rules: rules))
        if let upgrade = LoyaltyPolicy.upgrade(state: &state, at: moment, rules: rules) {
            record(PlannedEvent(payload: upgrade, occurredAt: moment, isDecision: true))
        }
        return (events, points)
    }

    /// The points a fact earned by the loyalty rules, from what was planned for it: the
    /// award (not a campaign's) dated at the fact's moment that follows it.
    public static func earned(by planned: [PlannedEvent], at moment: Timestamp) -> Int64 {
        guard let factIndex = planned.firstIndex(where: { !$0.isDecision }) else { return 0 }
        for step in planned[(factIndex + 1)...] {
            if case .pointsAwarded(let points, let reason, _, _) = step.payload, reason != .campaign, step.occurredAt == moment {
                return points
            }
        }
        return 0
    }

    /// The campaign awards one fact triggers, for a client already updated by `planned`
    /// (the fact and the decisions of the loyalty rules): for each open campaign whose
    /// window holds the fact's moment, whose `on` list names its type and whose treatment
    /// group holds the client. Applied to `state` and counted in `book`; an upgrade the
    /// awards earn follows them.
    public static func triggered(
        by fact: EventPayload, at moment: Timestamp, planned: [PlannedEvent], state: inout ClientState,
        book: inout CampaignBook, rules: Rules
    ) -> [PlannedEvent] {
        guard !book.isEmpty, state.isRegistered, !state.isOffboarded else { return [] }
        var events: [PlannedEvent] = []
        for index in book.entries.indices {
            let definition = book.entries[index].definition
            guard definition.award.on.contains(fact.type), definition.inWindow(moment),
                  state.campaigns[definition.id]?.group == .treatment else { continue }
            let raw: Int64
            switch definition.award {
            case .fixed: continue
            case .perEvent(let points, _): raw = points
            case .multiplier(let permille, _): raw = earned(by: planned, at: moment) * (permille - 1000) / 1000
            }
            let capLeft = definition.perClientCap - (state.campaigns[definition.id]?.points ?? 0)
            let points = cut(raw, capLeft: capLeft, budgetLeft: book.entries[index].left)
            guard points > 0 else { continue }
            let step = award(points, campaignId: definition.id, at: moment, rules: rules)
            state.apply(step.payload, at: moment)
            book.entries[index].used += points
            events.append(step)
        }
        if !events.isEmpty, let upgrade = LoyaltyPolicy.upgrade(state: &state, at: moment, rules: rules) {
            state.apply(upgrade, at: moment)
            events.append(PlannedEvent(payload: upgrade, occurredAt: moment, isDecision: true))
        }
        return events
    }
}
