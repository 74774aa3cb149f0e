import ArgumentParser
import Foundation
import LedgerDomain
import LedgerProjections
import LedgerApplication
import LedgerCore
import LedgerStorage

/// Options of the commands that read projections.
struct ProjectionReadOptions: ParsableArguments {
    @Flag(help: "Do not catch the projections up first; only say how far behind they are.")
    var noCatchUp = false

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text
}

extension ClientLedger {
    struct Membership: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Membership: tier, points available and expiring, lifetime and qualifying points, per client.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var read: ProjectionReadOptions
        @Argument(help: "One client (with its tier history).") var client: String?
        @Option(help: "Only clients of this tier (Standard, Silver, Gold, Platinum, Diamond).") var tier: String?

        func validate() throws {
            if let tier, Tier(rawValue: tier) == nil {
                let names = Tier.allCases.map(\.rawValue)
                let hint = caseInsensitiveMatch(tier, among: names).map { "; did you mean \($0)? (tier names are case-sensitive)" }
                    ?? " (tiers: \(names.joined(separator: ", ")))"
                throw ValidationError("--tier: unknown tier \"\(tier)\"" + hint)
            }
        }

        func run() throws {
            try runMapped {
                let engine = try openProjections(global, rules: try rulesInForce(global), catchUp: !read.noCatchUp)
                let rows = try engine.membership(client: client, tier: tier.flatMap(Tier.init(rawValue:)), withHistory: client != nil)
                if let client, rows.isEmpty { throw InputError(line: nil, field: "client", problem: "no client \(client) in the membership projection") }
                if read.format == .json {
                    print(try jsonText(client == nil ? AnyEncodable(rows) : AnyEncodable(rows[0])))
                    return
                }
                print(table(["client", "tier", "since", "rules tier", "available", "expiring 90d", "lifetime", "qualifying", "net assets"], rows.map {
                    [$0.clientId, $0.tier, String(($0.tierSince ?? "-").prefix(10)), $0.rulesTier, String($0.pointsAvailable),
                     String($0.pointsExpiring90d), String($0.pointsLifetime), String($0.pointsQualifying), $0.netAssets.decimalText]
                }))
                if let history = rows.first?.tierHistory, client != nil, !history.isEmpty {
                    print("\ntier history:")
                    print(table(["at", "from", "to", "reason"], history.map { [$0.at.iso8601, $0.from.rawValue, $0.to.rawValue, $0.reason.rawValue] }))
                }
                if client == nil { print("\(rows.count) clients") }
            }
        }
    }

    struct Eligibility: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cross-sell eligibility with the reason of each failed check: one client, or one product.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var read: ProjectionReadOptions
        @Argument(help: "A client: its eligibility for every product.") var client: String?
        @Option(help: "A product: every client's eligibility for it.") var product: String?
        @Flag(help: "With --product, list only the eligible clients.") var eligibleOnly = false

        func validate() throws {
            guard (client == nil) != (product == nil) else { throw ValidationError("give a CLIENT or --product P (one of them)") }
        }

        func run() throws {
            try runMapped {
                let rules = try rulesInForce(global)
                if let product, rules.product(product) == nil {
                    throw InputError(line: nil, field: "product", problem: "unknown product \(product) (products: \(rules.products.map(\.id).joined(separator: ", ")))")
                }
                let engine = try openProjections(global, rules: rules, catchUp: !read.noCatchUp)
                var rows = try engine.eligibility(client: client, product: product)
                if let client, rows.isEmpty { throw InputError(line: nil, field: "client", problem: "no client \(client) in the eligibility projection") }
                if eligibleOnly { rows = rows.filter(\.eligible) }
                if read.format == .json {
                    print(try jsonText(rows))
                    return
                }
                print(table(["client", "product", "eligible", "failed checks"], rows.map {
                    [$0.clientId, $0.productId, $0.eligible ? "yes" : "no", $0.failedChecks.joined(separator: ", ")]
                }))
                if product != nil { print("\(rows.filter(\.eligible).count) of \(rows.count) clients eligible") }
            }
        }
    }

    struct Metrics: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Marketing: retention metrics.",
            subcommands: [Retention.self])
    }
}

extension ClientLedger.Metrics {
    struct Retention: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lifecycle stages, active clients, churn and reactivations, cohorts, RFM, net inflow and NPS as of a date.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var read: ProjectionReadOptions
        @Option(help: "The day (default: today, UTC).") var asOf: String?

        func run() throws {
            try runMapped {
                let moment = try asOf.map { try parseMoment($0, option: "--as-of") } ?? Timestamp.now()
                let engine = try openProjections(global, rules: try rulesInForce(global), catchUp: !read.noCatchUp)
                let metrics = try engine.retentionMetrics(asOf: moment)
                if read.format == .json {
                    print(try jsonText(metrics))
                    return
                }
                print("retention as of \(metrics.asOf): \(metrics.clients) clients, \(metrics.activeClients) active, \(metrics.churned) churned, \(metrics.reactivations) reactivations (\(metrics.reactivationsLast365Days) in the last 365 days)")
                print("\nlifecycle stages:")
                print(table(["stage", "clients"], LifecycleStage.allCases.map { [$0.rawValue, String(metrics.stages[$0.rawValue] ?? 0)] }))
                print("\nmonthly cohorts (share active in month k after the first activity):")
                print(table(["cohort", "size", "k=0", "k=1", "k=2", "k=3", "k=6", "k=12"], metrics.cohorts.suffix(12).map { cohort in
                    [cohort.month, String(cohort.size)] + [0, 1, 2, 3, 6, 12].map { k in
                        k < cohort.retained.count ? String(format: "%.0f%%", cohort.retained[k] * 100) : "-"
                    }
                }))
                print("\nRFM cells (recency, frequency, monetary quintiles; 5 best) of \(metrics.rfm.count) clients active in the last 365 days, largest first:")
                print(table(["cell", "clients"], metrics.rfmCells.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(10).map { [$0.key, String($0.value)] }))
                print("\nnet asset inflow, last 12 months (CNY):")
                print(table(["month", "deposited", "withdrawn", "net"], metrics.netInflow.suffix(12).map { [$0.month, $0.deposited, $0.withdrawn, $0.net] }))
                let nps = metrics.nps
                print("\nNPS (365 days to \(metrics.asOf)): " + (nps.score.map { String(format: "%.1f", $0) } ?? "no answers")
                    + " (\(nps.promoters) promoters, \(nps.passives) passives, \(nps.detractors) detractors)")
            }
        }
    }
}

/// Lets one `jsonText` call print either a list or a single row.
struct AnyEncodable: Encodable {
    private let encodeValue: (any Encoder) throws -> Void
    init<T: Encodable>(_ value: T) { encodeValue = value.encode }
    func encode(to encoder: any Encoder) throws { try encodeValue(encoder) }
}
