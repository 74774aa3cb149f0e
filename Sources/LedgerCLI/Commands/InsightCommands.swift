import ArgumentParser
import Foundation
import LedgerApplication
import LedgerCore
import LedgerDomain
import LedgerProjections

extension ChurnBand: ExpressibleByArgument {}
extension ServiceGrouping: ExpressibleByArgument {}

extension ClientLedger {
    struct Insight: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Client insight: churn risk with its factors, its backtest, service quality, reassessment reminders.",
            subcommands: [Churn.self, BacktestCommand.self, ServiceCommand.self, ReassessCommand.self])
    }
}

/// `--as-of DAY` of the insight commands (default: today, UTC).
private func insightMoment(_ text: String?) throws -> Timestamp {
    try text.map { try parseMoment($0, option: "--as-of") } ?? Timestamp.now()
}

private func percent(_ share: Double?) -> String {
    share.map { String(format: "%.1f%%", $0 * 100) } ?? "-"
}

extension ClientLedger.Insight {
    struct Churn: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Churn risk per client as of a day, highest first, with each factor's contribution (docs/insight.md).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var read: ProjectionReadOptions
        @Option(help: "The day (default: today, UTC).") var asOf: String?
        @Option(help: "Only clients of this band: low, medium or high.") var band: ChurnBand?
        @Option(help: "Only this client.") var client: String?
        @Option(parsing: .unconditional, help: "At most this many clients.", transform: nonNegative("--limit")) var limit: Int?

        func validate() throws {
            if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
        }

        func run() throws {
            try runMapped {
                let moment = try insightMoment(asOf)
                let engine = try openProjections(global, rules: try rulesInForce(global), catchUp: !read.noCatchUp)
                var scores = try engine.churnScores(asOf: moment) { score in
                    (band.map { $0.rawValue == score.band } ?? true) && (client.map { $0 == score.clientId } ?? true)
                }
                if let client, scores.isEmpty, try engine.membership(client: client).isEmpty {
                    throw InputError(line: nil, field: "client", problem: "no client \(client) in the projections")
                }
                if let limit { scores = Array(scores.prefix(limit)) }
                if read.format == .json {
                    print(try jsonText(scores))
                    return
                }
                let names = ["recency", "activityDrop", "complaints", "nps", "netOutflow"]
                print(table(["client", "score", "band", "last activity"] + names, scores.map { score in
                    [score.clientId, String(score.score), score.band, score.lastActivity ?? "-"] + names.map { name in
                        score.factors.first { $0.factor == name }.map { String(format: "%.1f", $0.contribution) } ?? "-"
                    }
                }))
                if scores.count == 1, let only = scores.first {
                    print("\nwhy \(only.clientId) scores \(only.score) (\(only.band)) as of \(only.asOf):")
                    print(table(["factor", "weight", "contribution", "observed"], only.factors.map {
                        [$0.factor, String($0.weight), String(format: "%.1f", $0.contribution), $0.detail]
                    }))
                }
                print("\(scores.count) client\(scores.count == 1 ? "" : "s") as of \(Timestamp(dayNumber: moment.dayNumber).isoDate)")
            }
        }
    }

    struct BacktestCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "backtest",
            abstract: "How well the score as of a day ranked the clients who churned within the horizon, against recency alone.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var read: ProjectionReadOptions
        @Option(help: "The day the clients are scored.") var asOf: String
        @Option(parsing: .unconditional, help: "Days after it in which churn is looked for.", transform: nonNegative("--horizon"))
        var horizon: Int64 = 180

        func validate() throws {
            guard horizon >= 0 else { throw ValidationError("--horizon must not be negative") }
            guard horizon > 0 else { throw ValidationError("--horizon must be at least 1 day") }
        }

        func run() throws {
            try runMapped {
                let moment = try parseMoment(asOf, option: "--as-of")
                let engine = try openProjections(global, rules: try rulesInForce(global), catchUp: !read.noCatchUp)
                let result = try engine.backtest(asOf: moment, horizonDays: horizon)
                if read.format == .json {
                    print(try jsonText(result))
                    return
                }
                print("backtest as of \(result.asOf), churn within \(result.horizonDays) days (to \(result.horizonEnd)): \(result.churned) of \(result.clients) clients churned")
                func number(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "-" }
                print(table(["ranking", "AUC", "top-decile lift"], [
                    ["churn-risk score", number(result.score.auc), number(result.score.topDecileLift)],
                    ["recency alone", number(result.recency.auc), number(result.recency.topDecileLift)],
                ]))
                print(result.statement)
            }
        }
    }

    struct ServiceCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "service",
            abstract: "Service quality over the trailing 365 days by channel, branch or segment.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var read: ProjectionReadOptions
        @Option(help: "The day (default: today, UTC).") var asOf: String?
        @Option(help: "Group by channel, branch or segment.") var by: ServiceGrouping = .channel

        func run() throws {
            try runMapped {
                let moment = try insightMoment(asOf)
                let engine = try openProjections(global, rules: try rulesInForce(global), catchUp: !read.noCatchUp)
                let quality = try engine.serviceQuality(asOf: moment, by: by)
                if read.format == .json {
                    print(try jsonText(quality))
                    return
                }
                print("service quality by \(quality.by), \(quality.from) to \(quality.asOf) (\(quality.windowDays) days):")
                print(table([quality.by, "interactions", "complaints", "per 1,000", "NPS", "answers", "complaining clients", "churned within \(quality.churnWithinDays)d"],
                    quality.rows.map {
                        [$0.group, String($0.interactions), String($0.complaints), $0.complaintsPer1000.map { String(format: "%.1f", $0) } ?? "-",
                         $0.nps.map { String(format: "%.1f", $0) } ?? "-", String($0.npsAnswers), String($0.complainingClients), percent($0.churnedShare)]
                    }))
                if quality.by == ServiceGrouping.channel.rawValue { print("NPS is not shown by channel: survey answers carry no channel.") }
            }
        }
    }

    struct ReassessCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reassess",
            abstract: "Clients whose risk assessment expires within the window (or has expired) and who hold or may take products above R1.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var read: ProjectionReadOptions
        @Option(help: "The moment (default: now).") var asOf: String?
        @Option(parsing: .unconditional, help: "Days ahead.", transform: nonNegative("--within")) var within: Int64 = 60

        func validate() throws {
            guard within >= 0 else { throw ValidationError("--within must not be negative") }
        }

        func run() throws {
            try runMapped {
                let moment = try asOf.map { try parseMoment($0, option: "--as-of") } ?? Timestamp.now()
                let engine = try openProjections(global, rules: try rulesInForce(global), catchUp: !read.noCatchUp)
                let rows = try engine.reassessReminders(asOf: moment, withinDays: within)
                if read.format == .json {
                    print(try jsonText(rows))
                    return
                }
                print(table(["client", "risk level", "assessed", "valid until", "days left", "holds above R1", "allows above R1"], rows.map {
                    [$0.clientId, $0.riskLevel, $0.assessedAt.isoDate, $0.validUntil.isoDate, $0.expired ? "expired" : String($0.daysLeft),
                     $0.holdsAboveR1.joined(separator: ", "), $0.allowsAboveR1 ? "yes" : "no"]
                }))
                print("\(rows.count) client\(rows.count == 1 ? "" : "s") to reassess within \(within) days")
            }
        }
    }
}
