import LedgerDomain
import LedgerCore
import LedgerStorage

/// What other rules would change, client by client, compared with the rules in force.
public struct ProjectionDiff: Sendable, Equatable, Codable {
    public struct Change: Sendable, Equatable, Codable {
        public var clientId: String
        /// `tier`, `stage` or `eligibility:<product>`.
        public var what: String
        public var from: String
        public var to: String
    }

    public var currentRulesVersion: String
    public var proposedRulesVersion: String
    public var asOf: String
    public var clients: Int
    /// Counts per `what: from → to`.
    public var counts: [String: Int]
    public var changes: [Change]
}

extension ProjectionEngine {
    /// Folds the log once and evaluates membership tier, lifecycle stage and eligibility under
    /// the engine's rules and under `proposed`, writing nothing.
    public func diff(against proposed: Rules, projections: Set<ProjectionName> = Set(ProjectionName.allCases)) throws -> ProjectionDiff {
        let (folds, _, _) = try foldAll()
        let day = asOf.dayNumber
        var changes: [ProjectionDiff.Change] = []
        for client in folds.keys.sorted() {
            guard let fold = folds[client], fold.state.isRegistered else { continue }
            let state = fold.state
            // Offboarded clients keep their last tier: reconcile never changes it.
            if projections.contains(.membership), !state.isOffboarded {
                let before = LoyaltyPolicy.tierUnderRules(state: state, asOf: asOf, rules: rules)
                let after = LoyaltyPolicy.tierUnderRules(state: state, asOf: asOf, rules: proposed)
                if before != after { changes.append(.init(clientId: client, what: "tier", from: before.rawValue, to: after.rawValue)) }
            }
            if projections.contains(.retention) {
                func stage(_ rules: Rules) -> String {
                    LifecycleStage.stage(
                        registeredDay: fold.registeredDay, firstActivityDay: fold.firstActivityDay,
                        lastActivityDay: fold.lastActivityDay, offboardedDay: fold.offboardedDay, asOfDay: day, rules: rules)?.rawValue ?? "-"
                }
                let before = stage(rules)
                let after = stage(proposed)
                if before != after { changes.append(.init(clientId: client, what: "stage", from: before, to: after)) }
            }
            if projections.contains(.eligibility) {
                let ids = Set(rules.products.map(\.id)).union(proposed.products.map(\.id)).sorted()
                for id in ids {
                    func verdict(_ rules: Rules) -> String {
                        guard let product = rules.product(id) else { return "not offered" }
                        return EligibilityPolicy.failedChecks(state: state, product: product, asOf: asOf, rules: rules).isEmpty
                            ? "eligible" : "not eligible"
                    }
                    let before = verdict(rules)
                    let after = verdict(proposed)
                    if before != after { changes.append(.init(clientId: client, what: "eligibility:\(id)", from: before, to: after)) }
                }
            }
        }
        var counts: [String: Int] = [:]
        for change in changes { counts["\(change.what): \(change.from) → \(change.to)", default: 0] += 1 }
        return ProjectionDiff(
            currentRulesVersion: rulesVersion, proposedRulesVersion: proposed.version, asOf: asOf.iso8601,
            clients: folds.count, counts: counts, changes: changes)
    }
}
