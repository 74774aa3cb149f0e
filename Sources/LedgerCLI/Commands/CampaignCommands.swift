import ArgumentParser
import Foundation
import LedgerApplication
import LedgerCore
import LedgerDomain
import LedgerProjections
import LedgerStorage

extension ClientLedger {
    struct Campaign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Marketing: loyalty campaigns — define, list, show, simulate, launch, close, report (docs/campaigns.md).",
            subcommands: [Define.self, List.self, Show.self, Simulate.self, Launch.self, Close.self, Report.self])
    }
}

private func plural(_ count: Int, _ word: String) -> String { "\(count) \(word)\(count == 1 ? "" : "s")" }

private func percent(_ share: Double) -> String { String(format: "%.1f%%", share * 100) }

private func countsText(_ counts: [String: Int]) -> String {
    counts.isEmpty ? "-" : counts.keys.sorted().map { "\($0) \(counts[$0] ?? 0)" }.joined(separator: ", ")
}

private func checksText(_ counts: [String: Int64]) -> String {
    counts.isEmpty ? "none" : counts.keys.sorted().map { "\($0) \(counts[$0] ?? 0)" }.joined(separator: ", ")
}

/// The recorded campaign `id`, or exit 65 naming it.
private func recordedCampaign(_ id: String, store: any EventStore, rules: Rules) throws -> CampaignRecord {
    let record = try store.read { try Ledger.campaignRecord(id, store: store, rules: rules) }
    guard record.state.isDefined else { throw InputError(line: nil, field: "campaignId", problem: "no campaign \(id) is defined") }
    return record
}

extension ClientLedger.Campaign {
    struct Define: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a campaign file (YAML or JSON) and record CampaignDefined with its canonical definition.",
            discussion: "Every field is checked; a problem exits 65 naming the field, and nothing is written. The same file twice writes nothing.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Campaign file (YAML or JSON), or - for standard input.") var file: String
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                let text = String(decoding: try readInput(file), as: UTF8.self)
                let ledger = try Ledger.open(store: try global.openLog(readOnly: false))
                let report = try ledger.defineCampaign(fileText: text)
                if format == .json {
                    print(try jsonText(CampaignDefineOutput(
                        campaignId: report.definition.id, alreadyDefined: report.alreadyDefined, position: report.position,
                        definition: EncodedJSON(.object(report.definition.canonical)))))
                    return
                }
                let id = report.definition.id
                print(report.alreadyDefined
                    ? "campaign \(id) is already defined with this definition; nothing written"
                    : "campaign \(id) defined at position \(report.position.map(String.init) ?? "-"); next: campaign simulate \(id), campaign launch \(id)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every campaign with its state and budget used.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var rulesOptions: RulesOptions
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                let store = try global.openLog(readOnly: true)
                let rows = try CampaignAnalysis.summaries(store: store, rules: try rulesOptions.load(store))
                if format == .json {
                    print(try jsonText(rows))
                    return
                }
                print(table(["campaign", "name", "state", "award", "window", "budget", "used", "left"], rows.map { row in
                    [row.campaignId, row.name ?? "-", row.state, row.award ?? "-",
                     row.windowFrom.map { "\($0) to \(row.windowTo ?? "")" } ?? "-",
                     row.budget.map(String.init) ?? "-", String(row.budgetUsed), row.budgetLeft.map(String.init) ?? "-"]
                }))
                print(plural(rows.count, "campaign"))
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One campaign: its definition, state, budget used and left.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var rulesOptions: RulesOptions
        @Argument(help: "Campaign id.") var campaign: String
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                let store = try global.openLog(readOnly: true)
                let record = try recordedCampaign(campaign, store: store, rules: try rulesOptions.load(store))
                let summary = try store.read { try CampaignAnalysis.summary(record, store: store) }
                let definition = record.state.definition.map { JSONValue.object($0).compactText }
                if format == .json {
                    print(try jsonText(CampaignShowOutput(summary: summary, definition: record.state.definition.map { EncodedJSON(.object($0)) })))
                    return
                }
                print("campaign \(summary.campaignId): \(summary.name ?? "-")")
                print("state: \(summary.state)")
                if let definedAt = summary.definedAt { print("defined: \(definedAt.iso8601)") }
                if let launchedAt = summary.launchedAt { print("launched: \(launchedAt.iso8601)") }
                if let closedAt = summary.closedAt { print("closed: \(closedAt.iso8601)") }
                if let from = summary.windowFrom { print("window: \(from) to \(summary.windowTo ?? "-") (UTC days, both included)") }
                if let budget = summary.budget { print("budget: \(budget) points, used \(summary.budgetUsed), left \(summary.budgetLeft ?? 0)") }
                if let problem = summary.problem { print("problem: the recorded definition does not pass: \(problem)") }
                print("definition: \(definition.map { $0.escapedForDisplay() } ?? "-")")
            }
        }
    }

    struct Simulate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reach and cost of a campaign if it were launched now (or --as-of): writes nothing.",
            discussion: """
                Audience by tier, segment and lifecycle stage; treatment and holdout sizes; clients left out by
                suitability with the checks they fail; projected awards and points, share of the budget, awards cut
                by the per-client cap and by the budget. Multiplier and perEvent awards replay the window's recorded
                events (a window that has not begun replays the most recent days of the same length).
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var rulesOptions: RulesOptions
        @Argument(help: "A defined campaign's id, or a campaign file (YAML or JSON).") var campaign: String
        @Option(help: "The moment the audience is taken (a date means the end of that day, UTC; default: now).") var asOf: String?
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                let moment = try asOf.map { try parseMoment($0, option: "--as-of") } ?? Timestamp.now()
                let store = try global.openLog(readOnly: true)
                let rules = try rulesOptions.load(store)
                let definition: CampaignDefinition
                if FileManager.default.fileExists(atPath: campaign) || campaign == "-" {
                    let text = String(decoding: try readInput(campaign), as: UTF8.self)
                    do {
                        definition = try CampaignDefinition.parseFile(text, rules: rules)
                    } catch let error as FieldError {
                        throw InputError(line: nil, field: error.field, problem: error.problem)
                    }
                } else {
                    let record = try recordedCampaign(campaign, store: store, rules: rules)
                    guard let recorded = record.definition else {
                        let problem = record.definitionProblem ?? FieldError(field: "definition", problem: "cannot be read")
                        throw InputError(line: nil, field: problem.field, problem: "the recorded definition of \(campaign) does not pass: \(problem.problem)")
                    }
                    definition = recorded
                }
                let simulation = try CampaignAnalysis.simulate(definition, store: store, rules: rules, asOf: moment)
                if format == .json {
                    print(try jsonText(simulation))
                    return
                }
                let s = simulation
                print("campaign \(s.campaignId) (\(s.award)) simulated as of \(s.asOf.iso8601): nothing written")
                print("audience: \(s.audience) (treatment \(s.treatment), holdout \(s.holdout))")
                print("  by tier: \(countsText(s.byTier))")
                print("  by segment: \(countsText(s.bySegment))")
                print("  by stage: \(countsText(s.byStage))")
                print("excluded by suitability: \(s.excludedBySuitability) (\(checksText(s.excludedByCheck)))")
                for exclusion in s.excludedClients.prefix(10) {
                    print("  \(exclusion.clientId): \(exclusion.failedChecks.map(\.rawValue).joined(separator: ", "))")
                }
                if s.excludedClients.count > 10 { print("  … and \(s.excludedClients.count - 10) more (--format json lists them all)") }
                if let from = s.replayedFrom, let to = s.replayedTo {
                    print("replayed: \(from) to \(to), \(s.triggeringEvents ?? 0) triggering events")
                }
                if let note = s.note { print("note: \(note)") }
                print("projected: \(s.projectedAwards) awards, \(s.projectedPoints) points to \(plural(s.clientsAwarded, "client")), \(percent(s.shareOfBudget)) of the budget of \(s.budget)")
                print("cut by the per-client cap: \(s.cutByCap); cut by the budget: \(s.cutByBudget)")
            }
        }
    }

    struct Launch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Launch a defined campaign: freeze its audience (CampaignEnrolled per client) and make the fixed awards.",
            discussion: """
                One transaction: interrupted anywhere it leaves nothing, and run again after it committed it writes
                nothing. From then on, while the campaign is open and inside its window, multiplier and perEvent
                awards follow each qualifying event in the same transaction.
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Campaign id.") var campaign: String
        @Option(help: "A note recorded on CampaignLaunched.") var note: String?
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                let ledger = try Ledger.open(store: try global.openLog(readOnly: false))
                let report = try ledger.launchCampaign(campaign, note: note)
                if format == .json {
                    print(try jsonText(report))
                    return
                }
                if report.alreadyLaunched {
                    print("campaign \(report.campaignId) was already launched at \(report.launchedAt.iso8601); nothing written")
                } else {
                    print("campaign \(report.campaignId) launched at \(report.launchedAt.iso8601)")
                }
                print("enrolled: \(report.enrolled) (treatment \(report.treatment), holdout \(report.holdout))")
                print("awards: \(report.awards), \(report.points) points of the budget of \(report.budget)")
                if !report.alreadyLaunched {
                    print("cut by the per-client cap: \(report.cutByCap); cut by the budget: \(report.cutByBudget)")
                }
                print("excluded by suitability: \(report.excludedBySuitability) (\(checksText(report.excludedByCheck)))")
            }
        }
    }

    struct Close: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a campaign: no award follows an event recorded after it. Closing it again writes nothing.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Campaign id.") var campaign: String
        @Option(help: "Why it is closed (recorded on CampaignClosed).") var reason: String?
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                let ledger = try Ledger.open(store: try global.openLog(readOnly: false))
                let record = try ledger.closeCampaign(campaign, reason: reason)
                let summary = try ledger.store.read { try CampaignAnalysis.summary(record, store: ledger.store) }
                if format == .json {
                    print(try jsonText(summary))
                    return
                }
                print("campaign \(campaign) closed at \(summary.closedAt?.iso8601 ?? "-"); \(summary.budgetUsed) points awarded")
            }
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A campaign's awards, budget and reach, and treatment against holdout over its window (the uplift).",
            discussion: "Computed from the log alone. Amounts per client are in CNY, cut to the cent.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var rulesOptions: RulesOptions
        @Argument(help: "Campaign id.") var campaign: String
        @Option(help: "Measure up to this moment (a date means the end of that day, UTC; default: now).") var asOf: String?
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                let moment = try asOf.map { try parseMoment($0, option: "--as-of") } ?? Timestamp.now()
                let store = try global.openLog(readOnly: true)
                let record = try recordedCampaign(campaign, store: store, rules: try rulesOptions.load(store))
                let report = try CampaignAnalysis.report(record, store: store, asOf: moment)
                if format == .json {
                    print(try jsonText(report))
                    return
                }
                print("campaign \(report.campaignId): \(report.name) (\(report.state), \(report.award) award)")
                print("window: \(report.windowFrom) to \(report.windowTo); measured through \(report.measuredThrough ?? "- (not begun or not launched)")")
                print("awards: \(report.awards), \(report.points) points to \(plural(report.clientsReached, "client")); budget \(report.budget), used \(percent(report.budgetUsedShare)), left \(report.budgetLeft)")
                print("enrolled: \(report.enrolled); excluded by suitability at launch: \(checksText(report.excludedByCheck))")
                let g = [report.treatment, report.holdout]
                func cell(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "-" }
                print(table(["per client", "treatment", "holdout", "difference"], [
                    ["clients", String(g[0].clients), String(g[1].clients), "-"],
                    ["activities", cell(g[0].activitiesPerClient), cell(g[1].activitiesPerClient), cell(report.uplift.activitiesPerClient)],
                    ["active share", cell(g[0].activeShare), cell(g[1].activeShare), cell(report.uplift.activeShare)],
                    ["traded (CNY)", g[0].tradedPerClient ?? "-", g[1].tradedPerClient ?? "-", report.uplift.tradedPerClient ?? "-"],
                    ["purchased (CNY)", g[0].purchasedPerClient ?? "-", g[1].purchasedPerClient ?? "-", report.uplift.purchasedPerClient ?? "-"],
                    ["promoted purchases", cell(g[0].promotedPurchasesPerClient), cell(g[1].promotedPurchasesPerClient), cell(report.uplift.promotedPurchasesPerClient)],
                ]))
            }
        }
    }
}

struct CampaignDefineOutput: Encodable {
    var campaignId: String
    var alreadyDefined: Bool
    @NullEncoded var position: Int64?
    /// The canonical definition recorded.
    var definition: EncodedJSON
}

struct CampaignShowOutput: Encodable {
    var summary: CampaignSummary
    @NullEncoded var definition: EncodedJSON?
}

/// A stored JSON value in an output document: whole numbers as numbers, other numbers as
/// their exact decimal text.
struct EncodedJSON: Encodable, Sendable {
    let value: JSONValue

    init(_ value: JSONValue) { self.value = value }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        switch value {
        case .null:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        case .bool(let flag):
            var c = encoder.singleValueContainer()
            try c.encode(flag)
        case .number(let text):
            var c = encoder.singleValueContainer()
            if let whole = Int64(text) { try c.encode(whole) } else { try c.encode(text) }
        case .string(let text):
            var c = encoder.singleValueContainer()
            try c.encode(text)
        case .array(let items):
            var c = encoder.unkeyedContainer()
            for item in items { try c.encode(EncodedJSON(item)) }
        case .object(let object):
            var c = encoder.container(keyedBy: Key.self)
            for member in object.members { try c.encode(EncodedJSON(member.value), forKey: Key(stringValue: member.key)) }
        }
    }
}

extension ClientLedger {
    struct MarketingReport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Marketing: one self-contained HTML page with the tier mix over time, cohort retention, lifecycle stages, campaign cost and uplift, churn risk and service quality.",
            discussion: "The page needs no network: inline CSS and SVG, and a small inline script. The projections are caught up first, as for every reading command.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var rulesOptions: RulesOptions
        @Option(help: "The HTML file to write (created with mode 0600, written whole or not at all).") var html: String
        @Option(help: "The day (default: today, UTC; a date means the end of that day).") var asOf: String?
        @Flag(help: "Do not catch the projections up first.") var noCatchUp = false

        func run() throws {
            try runMapped {
                let moment = try asOf.map { try parseMoment($0, option: "--as-of") } ?? Timestamp.now()
                let rules = try rulesOptions.load(try global.openLog(readOnly: true))
                let engine = try openProjections(global, rules: rules, catchUp: !noCatchUp)
                let data = try MarketingReportData.gather(log: engine.log, engine: engine, rules: rules, asOf: moment)
                let page = HTMLReport.render(data)
                let file = try OutputFile(path: html)
                try file.write(page)
                try file.commit()
                print("wrote \(html): \(data.tierMix.count) months of tiers, \(data.cohorts.count) cohorts, \(plural(data.campaigns.count, "campaign")), \(data.service.rows.count) channels")
            }
        }
    }
}
