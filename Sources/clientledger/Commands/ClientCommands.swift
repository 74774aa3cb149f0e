import ArgumentParser
import Foundation
import LedgerDomain
import LedgerApplication
import LedgerCore
import LedgerStorage

extension ClientLedger {
    struct ClientCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "client",
            abstract: "A client's current state, folded from its stream.",
            subcommands: [Show.self])
    }
}

extension ClientLedger.ClientCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tier, points, lots, net assets, risk assessment and holdings of one client.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var rulesOptions: RulesOptions

        @Argument(help: "Client id, e.g. C000123.")
        var client: String

        @Option(help: "Only events that occurred up to this time (a date means the end of that day).")
        var asOf: String?

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                let rules = try rulesOptions.load()
                let log = try global.openLog(readOnly: true)
                let ledger = Ledger(store: log, rules: rules)
                let asOfMoment = try asOf.map { try parseMoment($0, option: "--as-of") }
                let state: ClientState
                switch try ledger.readClient(client, asOf: asOfMoment) {
                case .unknown:
                    throw InputError(line: nil, field: "client", problem: "no client \(client) is registered")
                case .notYetRegistered:
                    let moment = asOfMoment ?? Timestamp.now()
                    print(format == .json
                        ? jsonText(NoStateView(clientId: client, asOf: moment.iso8601))
                        : "client \(client): no state yet as of \(moment.iso8601) (its first event occurred later)")
                    return
                case .registered(let found):
                    state = found
                }
                let view = ClientView(state, rules: rules, asOf: asOfMoment ?? Timestamp.now())
                print(format == .json ? jsonText(view) : view.text)
            }
        }
    }
}

/// What `client show --format json` prints for a moment before the client's registration.
struct NoStateView: Encodable {
    var clientId: String
    var registered = false
    var version: Int64 = 0
    var asOf: String
}

/// What `client show` prints.
struct ClientView: Encodable {
    var registered = true
    struct Lot: Encodable {
        var awardedAt, expiresAt: String
        var points, remaining: Int64
        var source: String
    }

    var clientId, name, segment, investorType, branch: String
    var version: Int64
    var registeredAt: String?
    var offboardedAt: String?
    var tier: String
    var tierSince: String?
    var pointsAvailable, lifetimePoints, qualifyingPoints, redeemedPoints, expiredPoints, adjustedPoints: Int64
    var pointsExpiringIn90Days: Int64
    var netAssets: String
    var riskLevel: String?
    var riskScore: Int64?
    var lowestCategory: Bool?
    var riskAssessedAt: String?
    var riskAssessmentValid: Bool
    var holdings: [String]
    var lots: [Lot]
    var asOf: String

    init(_ state: ClientState, rules: Rules, asOf: Timestamp) {
        clientId = state.clientId
        name = state.name
        segment = state.segment.rawValue
        investorType = state.investorType.rawValue
        branch = state.branch
        version = state.version
        registeredAt = state.registeredAt?.iso8601
        offboardedAt = state.offboardedAt?.iso8601
        tier = state.tier.rawValue
        tierSince = state.tierSince?.iso8601
        pointsAvailable = state.pointsAvailable(at: asOf)
        lifetimePoints = state.lifetimePoints
        qualifyingPoints = state.qualifyingPointsSnapshot(at: asOf, windowDays: rules.qualifyingWindowDays)
        redeemedPoints = state.redeemedPoints
        expiredPoints = state.expiredPoints
        adjustedPoints = state.adjustedPoints
        pointsExpiringIn90Days = state.pointsExpiring(after: asOf, withinDays: 90)
        netAssets = state.netAssets.decimalText
        riskLevel = state.risk?.level.rawValue
        riskScore = state.risk?.score
        lowestCategory = state.risk?.lowestCategory
        riskAssessedAt = state.risk?.assessedAt.iso8601
        riskAssessmentValid = state.validRisk(at: asOf, validDays: rules.riskAssessmentValidDays) != nil
        holdings = state.holdings.sorted()
        lots = state.availableLots(at: asOf).map {
            Lot(awardedAt: $0.awardedAt.iso8601, expiresAt: $0.expiresAt.iso8601, points: $0.points, remaining: $0.remaining, source: $0.fromAward ? "award" : "adjustment")
        }
        self.asOf = asOf.iso8601
    }

    var riskText: String {
        guard let riskLevel else { return "not assessed" }
        let lowest = lowestCategory == true ? " lowest category" : ""
        let validity = riskAssessmentValid ? "valid" : "expired"
        return "\(riskLevel) score \(riskScore ?? 0)\(lowest) assessed \(riskAssessedAt ?? "-") (\(validity))"
    }

    var text: String {
        let offboarded = offboardedAt.map { "   offboarded \($0)" } ?? ""
        var lines: [String] = [
            "client \(clientId)  \(name)  (\(segment), \(investorType), branch \(branch))",
            "  registered        \(registeredAt ?? "-")\(offboarded)",
            "  tier              \(tier) since \(tierSince ?? "-")",
            "  points available  \(pointsAvailable)   (lifetime \(lifetimePoints), qualifying \(qualifyingPoints), redeemed \(redeemedPoints), expired \(expiredPoints), adjusted \(adjustedPoints))",
            "  expiring ≤ 90 d   \(pointsExpiringIn90Days)",
            "  net assets        \(netAssets) CNY",
            "  risk              \(riskText)",
            "  holdings          " + (holdings.isEmpty ? "none" : holdings.joined(separator: ", ")),
            "  stream version    \(version)   as of \(asOf)",
        ]
        if !lots.isEmpty {
            lines.append("  open lots (oldest first):")
            lines.append(table(["awardedAt", "expiresAt", "points", "remaining", "source"], lots.map {
                [$0.awardedAt, $0.expiresAt, String($0.points), String($0.remaining), $0.source]
            }).split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        }
        return lines.joined(separator: "\n")
    }
}
