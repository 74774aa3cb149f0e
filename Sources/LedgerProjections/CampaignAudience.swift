import LedgerCore
import LedgerDomain
import LedgerStorage

/// One client of a campaign's audience.
public struct AudienceMember: Sendable {
    public var clientId: String
    public var group: CampaignGroup
    /// The client's state at the moment the audience is taken.
    public var state: ClientState
    public var tier: Tier
    public var segment: Segment
    public var stage: LifecycleStage
}

/// A client the target matched but suitability for the promoted product left out.
public struct AudienceExclusion: Sendable, Equatable, Codable {
    public var clientId: String
    public var failedChecks: [EligibilityCheck]
}

/// Who a campaign reaches at a moment: the clients every given target key holds for, in
/// client-id order, each with its group; and those suitability left out.
public struct CampaignAudience: Sendable {
    public var asOf: Timestamp
    public var members: [AudienceMember]
    public var excluded: [AudienceExclusion]

    public var treatment: Int { members.count { $0.group == .treatment } }
    public var holdout: Int { members.count { $0.group == .holdout } }

    /// Clients left out per failed check (a client failing two checks counts under both).
    public var excludedByCheck: [EligibilityCheck: Int64] {
        var counts: [EligibilityCheck: Int64] = [:]
        for exclusion in excluded {
            for check in exclusion.failedChecks { counts[check, default: 0] += 1 }
        }
        return counts
    }
}

/// The state of every client at a moment, folded from the log (nothing written).
public struct ClientSnapshot: Sendable {
    public var asOf: Timestamp
    public var folds: [ClientFold]
    /// Events the fold read.
    public var events: Int64
    public var head: Int64
}

extension ClientSnapshot {
    /// Every client's fold from the log up to `head` (default: the log's head), keeping only
    /// events whose `occurredAt` is at or before `asOf`: what the ledger knows of each client at
    /// that moment. Reads the log only (the projections are not used) and writes nothing.
    public static func take(_ log: any EventStore, rules: Rules, asOf: Timestamp, through head: Int64? = nil) throws -> ClientSnapshot {
        try log.read {
            let end = try head ?? log.head().position
            let into = FoldAccumulator(rules: rules)
            try LogReplay.replay(log, after: 0, through: end) { event in
                guard event.occurredAt <= asOf else { return }
                into.apply(event)
            }
            return ClientSnapshot(asOf: asOf, folds: into.sortedByClient(), events: into.applied, head: end)
        }
    }
}

public enum CampaignTargeting {
    /// The audience of `definition` among `snapshot`'s clients at its moment (SPEC §3): every
    /// target key given must hold (a list is any-of); offboarded clients are never enrolled;
    /// a campaign promoting a product (or naming `eligibleFor`) enrols only clients eligible
    /// for it, and the others are listed with the checks they fail.
    public static func audience(_ definition: CampaignDefinition, snapshot: ClientSnapshot, rules: Rules) -> CampaignAudience {
        let asOf = snapshot.asOf
        let day = asOf.dayNumber
        let target = definition.target
        let rfm = target.usesRFM ? rfmScores(snapshot.folds, asOfDay: day) : [:]
        let scorer = ChurnScorer(rules: rules.churnRisk)
        let product = definition.suitabilityProduct.flatMap { rules.product($0) }
        var members: [AudienceMember] = []
        var excluded: [AudienceExclusion] = []
        for fold in snapshot.folds {
            let state = fold.state
            guard state.isRegistered, !state.isOffboarded else { continue }
            guard let stage = LifecycleStage.stage(
                registeredDay: fold.registeredDay, firstActivityDay: fold.firstActivityDay, lastActivityDay: fold.lastActivityDay,
                offboardedDay: fold.offboardedDay, asOfDay: day, rules: rules), stage != .offboarded else { continue }
            if let tiers = target.tiers, !tiers.contains(state.tier) { continue }
            if let segments = target.segments, !segments.contains(state.segment) { continue }
            if let stages = target.stages, !stages.contains(stage) { continue }
            if target.usesRFM {
                guard let score = rfm[state.clientId] else { continue }
                if let allowed = target.rfmRecency, !allowed.contains(score.recency) { continue }
                if let allowed = target.rfmFrequency, !allowed.contains(score.frequency) { continue }
                if let allowed = target.rfmMonetary, !allowed.contains(score.monetary) { continue }
            }
            if let bands = target.churnRisk {
                guard let score = scorer.score(InsightClient(fold: fold), asOfDay: day), bands.contains(score.band) else { continue }
            }
            if let product {
                let failed = EligibilityPolicy.failedChecks(state: state, product: product, asOf: asOf, rules: rules)
                if !failed.isEmpty {
                    excluded.append(AudienceExclusion(clientId: state.clientId, failedChecks: failed))
                    continue
                }
            }
            members.append(AudienceMember(
                clientId: state.clientId, group: definition.group(of: state.clientId), state: state, tier: state.tier,
                segment: state.segment, stage: stage))
        }
        return CampaignAudience(asOf: asOf, members: members, excluded: excluded)
    }

    /// RFM quintile scores as of a day (the retention projection's definition), by client.
    static func rfmScores(_ folds: [ClientFold], asOfDay day: Int64) -> [String: RetentionMetrics.RFMScore] {
        let firstOfWindow = day - 364
        var input: [RFMInput] = []
        for fold in folds {
            guard let last = fold.lastActivityDay, last <= day, last >= firstOfWindow, !fold.state.isOffboarded else { continue }
            var frequency: Int64 = 0
            var monetary: Int64 = 0
            for (month, activity) in fold.months {
                let monthStart = Timestamp.days(fromCivil: month / 12, month % 12 + 1, 1)
                for entry in activity.days {
                    let absolute = monthStart + entry.day - 1
                    guard absolute >= firstOfWindow, absolute <= day else { continue }
                    frequency += entry.activities
                    monetary += entry.tradedCents + entry.purchasedCents
                }
            }
            input.append(RFMInput(client: fold.state.clientId, recency: day - last, frequency: frequency, monetary: monetary))
        }
        var scores: [String: RetentionMetrics.RFMScore] = [:]
        for score in ProjectionEngine.rfmScores(input) { scores[score.clientId] = score }
        return scores
    }
}
