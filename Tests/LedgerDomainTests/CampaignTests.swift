import Foundation
import LedgerTestSupport
import Testing
@testable import LedgerApplication
@testable import LedgerDomain
import LedgerCore
import LedgerStorage

/// A valid campaign file (YAML) with one line replaced or added.
let validCampaignYAML = """
    id: SPRING-2026
    name: Spring trading bonus
    window: {from: 2026-03-01, to: 2026-03-31}
    target:
      tiers: [Standard, Silver, Gold]
      segments: [retail]
      stages: [active, new]
      rfm: {recency: [1, 2, 3, 4, 5]}
      churnRisk: [low, medium, high]
    award:
      fixed: 500
    perClientCap: 2000
    budget: 1000000
    promotes: FUND-03
    holdout: 0.1
    """

private func campaign(replacing old: String? = nil, with new: String = "", adding extra: String = "") -> String {
    var text = validCampaignYAML
    if let old {
        precondition(text.components(separatedBy: old).count == 2, "\(old) must occur once")
        text = text.replacingOccurrences(of: old, with: new)
    }
    return text + (extra.isEmpty ? "" : "\n" + extra)
}

/// A fixed-award campaign file in JSON, for ledger tests.
func fixedCampaignJSON(
    id: String = "FIX", fixed: Int64 = 500, cap: Int64 = 2000, budget: Int64 = 1_000_000, holdout: String = "0",
    target: String = "{}", promotes: String? = nil, window: (String, String) = ("2026-01-01", "2026-12-31")
) -> String {
    let promoted = promotes.map { ",\"promotes\":\"\($0)\"" } ?? ""
    return """
        {"id":"\(id)","name":"Test \(id)","window":{"from":"\(window.0)","to":"\(window.1)"},"target":\(target),"award":{"fixed":\(fixed)},"perClientCap":\(cap),"budget":\(budget),"holdout":\(holdout)\(promoted)}
        """
}

func eventCampaignJSON(
    id: String = "EV", award: String = "\"perEvent\":100", on: String = "[\"TradeExecuted\"]", cap: Int64 = 2000,
    budget: Int64 = 1_000_000, window: (String, String) = ("2026-01-01", "2026-12-31"), holdout: String = "0"
) -> String {
    """
    {"id":"\(id)","name":"Test \(id)","window":{"from":"\(window.0)","to":"\(window.1)"},"award":{\(award),"on":\(on)},"perClientCap":\(cap),"budget":\(budget),"holdout":\(holdout)}
    """
}

@Suite("Campaign file")
struct CampaignDefinitionTests {
    @Test("a valid file is read with every field, and its canonical form reads back the same")
    func valid() throws {
        let definition = try CampaignDefinition.parseFile(validCampaignYAML, rules: defaultRules)
        #expect(definition.id == "SPRING-2026")
        #expect(definition.windowDays == 31)
        #expect(definition.award == .fixed(points: 500))
        #expect(definition.holdoutBasisPoints == 1000)
        #expect(definition.target.tiers == [.standard, .silver, .gold])
        #expect(definition.target.stages == [.active, .new])
        #expect(definition.target.rfmRecency == [1, 2, 3, 4, 5])
        #expect(definition.promotes == "FUND-03")
        #expect(definition.suitabilityProduct == "FUND-03")
        let again = try CampaignDefinition.parse(definition.canonical, rules: defaultRules)
        #expect(again == definition)
        // JSON gives the same definition.
        let json = JSONValue.object(definition.canonical).compactText
        #expect(try CampaignDefinition.parseFile(json, rules: defaultRules) == definition)
    }

    @Test("multiplier and perEvent awards with their trigger events")
    func eventAwards() throws {
        let multiplier = try CampaignDefinition.parseFile(
            campaign(replacing: "  fixed: 500", with: "  multiplier: 2.5\n  on: [TradeExecuted, FundsDeposited]"), rules: defaultRules)
        #expect(multiplier.award == .multiplier(permille: 2500, on: [.tradeExecuted, .fundsDeposited]))
        #expect(multiplier.multiplierText == "2.5")
        let perEvent = try CampaignDefinition.parseFile(
            campaign(replacing: "  fixed: 500", with: "  perEvent: 200\n  on: [InteractionLogged]"), rules: defaultRules)
        #expect(perEvent.award == .perEvent(points: 200, on: [.interactionLogged]))
    }

    /// Every invalid field, each refused naming it.
    static let invalid: [(why: String, text: String, field: String)] = [
        ("unknown top-level key", campaign(adding: "colour: blue"), "colour"),
        ("unknown target key", campaign(replacing: "  segments: [retail]", with: "  segments: [retail]\n  regions: [east]"), "target.regions"),
        ("unknown window key", campaign(replacing: "{from: 2026-03-01, to: 2026-03-31}", with: "{from: 2026-03-01, to: 2026-03-31, tz: CST}"), "window.tz"),
        ("unknown award key", campaign(replacing: "  fixed: 500", with: "  fixed: 500\n  bonus: 5"), "award.bonus"),
        ("missing id", campaign(replacing: "id: SPRING-2026\n", with: ""), "id"),
        ("id not an identifier", campaign(replacing: "id: SPRING-2026", with: "id: spring 2026"), "id"),
        ("missing name", campaign(replacing: "name: Spring trading bonus\n", with: ""), "name"),
        ("missing window", campaign(replacing: "window: {from: 2026-03-01, to: 2026-03-31}\n", with: ""), "window"),
        ("window ends before it starts", campaign(replacing: "to: 2026-03-31", with: "to: 2026-02-28"), "window.to"),
        ("window date not a date", campaign(replacing: "from: 2026-03-01", with: "from: 2026-02-30"), "window.from"),
        ("window date with a time", campaign(replacing: "from: 2026-03-01", with: "from: \"2026-03-01T08:00:00Z\""), "window.from"),
        ("unknown tier", campaign(replacing: "[Standard, Silver, Gold]", with: "[Standard, Bronze]"), "target.tiers[1]"),
        ("tier in the wrong case", campaign(replacing: "[Standard, Silver, Gold]", with: "[gold]"), "target.tiers[0]"),
        ("unknown segment", campaign(replacing: "[retail]", with: "[retail, vip]"), "target.segments[1]"),
        ("unknown stage", campaign(replacing: "[active, new]", with: "[dormant]"), "target.stages[0]"),
        ("empty list", campaign(replacing: "[active, new]", with: "[]"), "target.stages"),
        ("RFM score 0", campaign(replacing: "{recency: [1, 2, 3, 4, 5]}", with: "{recency: [0, 1]}"), "target.rfm.recency[0]"),
        ("RFM score 6", campaign(replacing: "{recency: [1, 2, 3, 4, 5]}", with: "{frequency: [5, 6]}"), "target.rfm.frequency[1]"),
        ("RFM score not whole", campaign(replacing: "{recency: [1, 2, 3, 4, 5]}", with: "{monetary: [2.5]}"), "target.rfm.monetary[0]"),
        ("unknown RFM key", campaign(replacing: "{recency: [1, 2, 3, 4, 5]}", with: "{loyalty: [1]}"), "target.rfm.loyalty"),
        ("unknown churn band", campaign(replacing: "[low, medium, high]", with: "[severe]"), "target.churnRisk[0]"),
        ("unknown eligibleFor product", campaign(replacing: "  churnRisk: [low, medium, high]", with: "  churnRisk: [high]\n  eligibleFor: GOLD-99"), "target.eligibleFor"),
        ("no award kind", campaign(replacing: "  fixed: 500", with: "  on: [TradeExecuted]"), "award"),
        ("two award kinds", campaign(replacing: "  fixed: 500", with: "  fixed: 500\n  perEvent: 20\n  on: [TradeExecuted]"), "award"),
        ("fixed award 0", campaign(replacing: "fixed: 500", with: "fixed: 0"), "award.fixed"),
        ("fixed award with on", campaign(replacing: "  fixed: 500", with: "  fixed: 500\n  on: [TradeExecuted]"), "award.on"),
        ("multiplier of 1", campaign(replacing: "  fixed: 500", with: "  multiplier: 1.0\n  on: [TradeExecuted]"), "award.multiplier"),
        ("multiplier below 1", campaign(replacing: "  fixed: 500", with: "  multiplier: 0.5\n  on: [TradeExecuted]"), "award.multiplier"),
        ("multiplier without on", campaign(replacing: "  fixed: 500", with: "  multiplier: 2"), "award.on"),
        ("multiplier on an event that earns nothing", campaign(replacing: "  fixed: 500", with: "  multiplier: 2\n  on: [InteractionLogged]"), "award.on[0]"),
        ("perEvent on a decision", campaign(replacing: "  fixed: 500", with: "  perEvent: 10\n  on: [PointsAwarded]"), "award.on[0]"),
        ("perEvent negative", campaign(replacing: "  fixed: 500", with: "  perEvent: -10\n  on: [TradeExecuted]"), "award.perEvent"),
        ("cap 0", campaign(replacing: "perClientCap: 2000", with: "perClientCap: 0"), "perClientCap"),
        ("cap missing", campaign(replacing: "perClientCap: 2000\n", with: ""), "perClientCap"),
        ("budget negative", campaign(replacing: "budget: 1000000", with: "budget: -5"), "budget"),
        ("budget zero", campaign(replacing: "budget: 1000000", with: "budget: 0"), "budget"),
        ("budget as text", campaign(replacing: "budget: 1000000", with: "budget: lots"), "budget"),
        ("holdout above 0.5", campaign(replacing: "holdout: 0.1", with: "holdout: 0.6"), "holdout"),
        ("holdout negative", campaign(replacing: "holdout: 0.1", with: "holdout: -0.1"), "holdout"),
        ("unknown promoted product", campaign(replacing: "promotes: FUND-03", with: "promotes: FUND-99"), "promotes"),
        ("promoted product the target makes unsuitable",
         campaign(replacing: "  churnRisk: [low, medium, high]", with: "  churnRisk: [high]\n  eligibleFor: MMF-01"), "promotes"),
        ("a YAML alias", campaign(replacing: "  segments: [retail]", with: "  segments: &s [retail]\n  stages2: *s"), "target.stages2"),
    ]

    @Test("every invalid field is refused, naming it", arguments: invalid.indices)
    func invalidField(_ index: Int) throws {
        let example = Self.invalid[index]
        do {
            let definition = try CampaignDefinition.parseFile(example.text, rules: defaultRules)
            Issue.record("\(example.why): accepted as \(definition)")
        } catch {
            #expect(error.field == example.field, "\(example.why): \(error)")
        }
    }

    @Test("the holdout is deterministic and near its share")
    func holdoutShare() throws {
        let definition = try CampaignDefinition.parseFile(validCampaignYAML, rules: defaultRules)
        let groups = (0..<2000).map { definition.group(of: "C\($0)") }
        #expect(groups == (0..<2000).map { definition.group(of: "C\($0)") })
        let held = groups.count { $0 == .holdout }
        #expect(held > 120 && held < 280, "\(held) of 2000 held out at 0.1")
    }
}

@Suite("Campaigns in the ledger")
struct CampaignLedgerTests {
    /// Campaigns are defined and launched on May 1st; facts after it are imported by `later`.
    let clock = FixedClock(at("2026-05-01T00:00:00Z"))
    let afterLaunch = FixedClock(at("2026-06-01T12:00:00Z"))

    func later(_ ledger: Ledger) -> Ledger { Ledger(store: ledger.store, rules: defaultRules, clock: afterLaunch) }

    /// Registers clients C1…Cn with a C3 assessment (eligible for FUND-03) unless listed as unassessed.
    func register(_ ledger: Ledger, count: Int, unassessed: Set<Int> = []) throws {
        var lines: [String] = []
        for index in 1...count {
            let id = "C\(index)"
            lines.append(registrationLine(id, "2026-01-0\(1 + index % 9)T09:00:00Z"))
            if !unassessed.contains(index) {
                lines.append(line("RiskAssessed", id, "2026-01-10T09:00:00Z", #"{"level":"C3","score":55}"#))
            }
            lines.append(line("FundsDeposited", id, "2026-02-01T09:00:00Z", #"{"amount":10000}"#))
        }
        try ledger.importLines(lines)
    }

    func campaignAwards(_ ledger: Ledger, _ id: String) throws -> [(client: String, points: Int64)] {
        try ledger.store.events(EventQuery(types: ["PointsAwarded"])).compactMap { event in
            guard case .pointsAwarded(let points, .campaign, id?, _) = try StoredEvents.payload(of: event) else { return nil }
            return (String(event.stream.dropFirst(7)), points)
        }
    }

    @Test("an imported CampaignDefined with a budget of -5 is refused naming the field, and nothing is written")
    func importedDefinitionChecked() throws {
        try withTemporaryLedger(clock: clock) { ledger in
            let bad = #"{"type":"CampaignDefined","campaignId":"BAD","occurredAt":"2026-05-01T00:00:00Z","data":{"name":"Bad","definition":{"budget":-5}}}"#
            #expect(throws: InputError.self) { try ledger.importLines([bad]) }
            do {
                try ledger.importLines([bad])
            } catch let error as InputError {
                #expect(error.field?.hasPrefix("data.definition.") == true, "\(error)")
            }
            let launched = #"{"type":"CampaignLaunched","campaignId":"BAD","occurredAt":"2026-05-01T00:00:00Z","data":{}}"#
            #expect(throws: InputError.self) { try ledger.importLines([launched]) }
            #expect(try ledger.store.head().position == 0)
        }
    }

    @Test("launch: fixed awards in client-id order, cut to the cap and then to the budget; a second launch writes nothing")
    func fixedLaunch() throws {
        try withTemporaryLedger(clock: clock) { ledger in
            try register(ledger, count: 5)
            // 700 > cap 600: each award cut to 600; budget 1,500: C1 600, C2 600, C3 300, C4 and C5 nothing.
            _ = try ledger.defineCampaign(fileText: fixedCampaignJSON(fixed: 700, cap: 600, budget: 1500))
            let report = try ledger.launchCampaign("FIX")
            #expect(report.enrolled == 5 && report.treatment == 5)
            #expect(report.points == 1500 && report.awards == 3)
            #expect(report.cutByCap == 5)
            #expect(report.cutByBudget == 3)
            let awards = try campaignAwards(ledger, "FIX")
            #expect(awards.map(\.client) == ["C1", "C2", "C3"])
            #expect(awards.map(\.points) == [600, 600, 300])
            let before = try ledger.fingerprint()
            let again = try ledger.launchCampaign("FIX")
            #expect(again.alreadyLaunched)
            #expect(again.points == 1500 && again.enrolled == 5)
            #expect(try ledger.fingerprint() == before)
            // The enrolment is recorded on each client, caused by the launch.
            let events = try ledger.storedEvents(of: "C4")
            #expect(events.contains { if case .campaignEnrolled("FIX", .treatment) = $0.payload { return true } else { return false } })
        }
    }

    @Test("suitability: a campaign promoting a product enrols only clients eligible for it and counts the others by check")
    func suitabilityExclusion() throws {
        try withTemporaryLedger(clock: clock) { ledger in
            try register(ledger, count: 4, unassessed: [2, 4])
            _ = try ledger.defineCampaign(fileText: fixedCampaignJSON(promotes: "FUND-03"))
            let simulation = try CampaignAnalysis.simulate(
                try #require(try Ledger.campaignRecord("FIX", store: ledger.store, rules: defaultRules).definition),
                store: ledger.store, rules: defaultRules, asOf: clock.now())
            #expect(simulation.excludedBySuitability == 2)
            #expect(simulation.excludedClients.map(\.clientId) == ["C2", "C4"])
            #expect(simulation.excludedByCheck == ["no_risk_assessment": 2])
            let report = try ledger.launchCampaign("FIX")
            #expect(report.enrolled == 2 && report.excludedBySuitability == 2)
            #expect(try campaignAwards(ledger, "FIX").map(\.client) == ["C1", "C3"])
            let record = try Ledger.campaignRecord("FIX", store: ledger.store, rules: defaultRules)
            #expect(record.state.excluded == [.noRiskAssessment: 2])
        }
    }

    @Test("simulate writes nothing and its projected cost equals the launch's actual cost")
    func simulateMatchesLaunch() throws {
        try withTemporaryLedger(clock: clock) { ledger in
            try register(ledger, count: 30)
            _ = try ledger.defineCampaign(fileText: fixedCampaignJSON(fixed: 300, cap: 1000, budget: 5000, holdout: "0.2"))
            let definition = try #require(try Ledger.campaignRecord("FIX", store: ledger.store, rules: defaultRules).definition)
            let before = try ledger.fingerprint()
            let simulation = try CampaignAnalysis.simulate(definition, store: ledger.store, rules: defaultRules, asOf: clock.now())
            #expect(try ledger.fingerprint() == before)
            let report = try ledger.launchCampaign("FIX")
            #expect(simulation.projectedPoints == report.points)
            #expect(simulation.projectedAwards == report.awards)
            #expect(simulation.treatment == report.treatment && simulation.holdout == report.holdout)
            #expect(simulation.cutByBudget == report.cutByBudget)
            #expect(report.holdout > 0)
        }
    }

    @Test("perEvent and multiplier awards follow qualifying events in the window, only for treatment, within cap and budget")
    func eventAwards() throws {
        try withTemporaryLedger(clock: clock) { ledger in
            try register(ledger, count: 3)
            // perEvent 100 on trades, cap 250: a client gets 100, 100, 50, then nothing.
            _ = try ledger.defineCampaign(fileText: eventCampaignJSON(id: "PE", cap: 250, budget: 400))
            // multiplier 2.0 on deposits: extra = the deposit's own points.
            _ = try ledger.defineCampaign(fileText: eventCampaignJSON(id: "MU", award: "\"multiplier\":2.0", on: "[\"FundsDeposited\"]"))
            _ = try ledger.launchCampaign("PE")
            _ = try ledger.launchCampaign("MU")
            var lines: [String] = []
            for index in 1...4 { lines.append(line("TradeExecuted", "C1", "2026-05-0\(index)T10:00:00Z", #"{"orderId":"O-\#(index)","productId":"EQ-1","notional":1000}"#)) }
            lines.append(line("TradeExecuted", "C2", "2026-05-05T10:00:00Z", #"{"orderId":"O-9","productId":"EQ-1","notional":1000}"#))
            lines.append(line("TradeExecuted", "C3", "2026-05-05T10:00:00Z", #"{"orderId":"O-10","productId":"EQ-1","notional":1000}"#))
            lines.append(line("FundsDeposited", "C2", "2026-05-06T10:00:00Z", #"{"amount":50000}"#))
            try later(ledger).importLines(lines)
            let perEvent = try campaignAwards(ledger, "PE")
            // C1: 100, 100, 50 (cap); C2: 100; C3: budget 400 - 350 = 50.
            #expect(perEvent.map(\.client) == ["C1", "C1", "C1", "C2", "C3"])
            #expect(perEvent.map(\.points) == [100, 100, 50, 100, 50])
            #expect(perEvent.map(\.points).reduce(0, +) == 400)
            // The deposit of 50,000 CNY earns 50 points; the multiplier adds 50 more.
            #expect(try campaignAwards(ledger, "MU").map(\.points) == [50])
            // Each award is caused by its trade, in the same transaction.
            let c1 = try ledger.storedEvents(of: "C1")
            let trade = try #require(c1.first { $0.type == "TradeExecuted" })
            let award = try #require(c1.first { if case .pointsAwarded(_, .campaign, _, _) = $0.payload { return true } else { return false } })
            #expect(EventMetadata(json: award.event.metadata).causationId == trade.event.eventId)
            // Closed: no more awards.
            _ = try later(ledger).closeCampaign("MU", reason: "ended early")
            try later(ledger).importLines([line("FundsDeposited", "C3", "2026-05-07T10:00:00Z", #"{"amount":50000}"#)])
            #expect(try campaignAwards(ledger, "MU").count == 1)
        }
    }

    @Test("a campaign closed in an import awards nothing for the facts after the close in the same import")
    func closedInSameImport() throws {
        try withTemporaryLedger(clock: clock) { ledger in
            try register(ledger, count: 1)
            _ = try ledger.defineCampaign(fileText: eventCampaignJSON(id: "PE"))
            _ = try ledger.launchCampaign("PE")
            try later(ledger).importLines([
                line("TradeExecuted", "C1", "2026-05-10T10:00:00Z", #"{"orderId":"O-1","productId":"EQ-1","notional":1000}"#),
                #"{"type":"CampaignClosed","campaignId":"PE","occurredAt":"2026-05-11T00:00:00Z","data":{"reason":"stop"}}"#,
                line("TradeExecuted", "C1", "2026-05-12T10:00:00Z", #"{"orderId":"O-2","productId":"EQ-1","notional":1000}"#),
            ])
            #expect(try campaignAwards(ledger, "PE").count == 1)
        }
    }

    @Test("events outside the window earn no campaign award")
    func outsideWindow() throws {
        try withTemporaryLedger(clock: clock) { ledger in
            try register(ledger, count: 1)
            _ = try ledger.defineCampaign(fileText: eventCampaignJSON(id: "PE", window: ("2026-05-10", "2026-05-20")))
            _ = try ledger.launchCampaign("PE")
            try later(ledger).importLines([
                line("TradeExecuted", "C1", "2026-05-09T23:59:59Z", #"{"orderId":"O-1","productId":"EQ-1","notional":1000}"#),
                line("TradeExecuted", "C1", "2026-05-10T00:00:00Z", #"{"orderId":"O-2","productId":"EQ-1","notional":1000}"#),
                line("TradeExecuted", "C1", "2026-05-20T23:59:59Z", #"{"orderId":"O-3","productId":"EQ-1","notional":1000}"#),
                line("TradeExecuted", "C1", "2026-05-21T00:00:00Z", #"{"orderId":"O-4","productId":"EQ-1","notional":1000}"#),
            ])
            #expect(try campaignAwards(ledger, "PE").count == 2)
        }
    }

    @Test("a holdout client is enrolled but never awarded, and the report compares the groups")
    func holdoutAndReport() throws {
        try withTemporaryLedger(clock: clock) { ledger in
            try register(ledger, count: 40)
            _ = try ledger.defineCampaign(fileText: eventCampaignJSON(id: "PE", window: ("2026-05-01", "2026-12-31"), holdout: "0.5"))
            let launch = try ledger.launchCampaign("PE")
            #expect(launch.holdout > 0 && launch.treatment > 0)
            var lines: [String] = []
            for index in 1...40 {
                lines.append(line("TradeExecuted", "C\(index)", "2026-05-05T10:00:00Z", #"{"orderId":"O-\#(index)","productId":"EQ-1","notional":1000}"#))
            }
            try later(ledger).importLines(lines)
            let record = try Ledger.campaignRecord("PE", store: ledger.store, rules: defaultRules)
            let report = try CampaignAnalysis.report(record, store: ledger.store, asOf: afterLaunch.now())
            #expect(report.awards == launch.treatment)
            #expect(report.clientsReached == launch.treatment)
            #expect(report.treatment.clients == launch.treatment && report.holdout.clients == launch.holdout)
            #expect(report.treatment.activities == launch.treatment && report.holdout.activities == launch.holdout)
            #expect(report.uplift.activitiesPerClient == 0)
        }
    }

    @Test("a late fact recorded after a launch keeps the campaign award: it is not taken for the fact's own award")
    func lateFactAfterLaunch() throws {
        try withTemporaryLedger(clock: clock) { ledger in
            try register(ledger, count: 1)
            _ = try ledger.defineCampaign(fileText: fixedCampaignJSON(fixed: 500, cap: 500, budget: 500))
            _ = try ledger.launchCampaign("FIX")
            // A trade dated before the launch is late (the enrolment and award are later).
            try later(ledger).importLines([line("TradeExecuted", "C1", "2026-04-01T10:00:00Z", #"{"orderId":"O-1","productId":"EQ-1","notional":5000}"#)])
            let events = try ledger.storedEvents(of: "C1")
            #expect(!events.contains { $0.type == "PointsCorrected" }, "\(events.map(\.type))")
            let state = try ledger.streams.fold("C1")
            // 10 (deposit) + 500 (campaign) + 50 (trade).
            #expect(state.lifetimePoints == 560)
            #expect(state.campaigns["FIX"] == CampaignMembership(group: .treatment, points: 500))
        }
    }
}

@Suite("Rules backtest (rules simulate)")
struct RulesSimulationTests {
    let clock = FixedClock(at("2026-05-01T00:00:00Z"))
    let afterLaunch = FixedClock(at("2026-06-01T12:00:00Z"))

    /// A log with awards of every kind: trades, purchases, deposits, surveys, a redemption, a
    /// late fact with its corrections, an upgrade, a fixed campaign and a multiplier campaign.
    func history(_ ledger: Ledger) throws {
        try CampaignLedgerTests().register(ledger, count: 6)
        var lines: [String] = []
        for index in 1...6 {
            let id = "C\(index)"
            lines.append(line("TradeExecuted", id, "2026-03-0\(index)T10:00:00Z", #"{"orderId":"T-\#(index)","productId":"EQ-1","notional":\#(index * 40000)}"#))
            lines.append(line("SurveyAnswered", id, "2026-03-10T10:00:00Z", #"{"nps":9}"#))
            lines.append(line("ProductPurchased", id, "2026-03-12T10:00:00Z", #"{"productId":"FUND-03","amount":\#(index * 30000)}"#))
        }
        lines.append(line("PointsRedeemed", "C6", "2026-03-20T10:00:00Z", #"{"points":100,"reward":"Voucher"}"#))
        // Late: dated before C1's trade.
        lines.append(line("FundsDeposited", "C1", "2026-02-20T10:00:00Z", #"{"amount":200000}"#))
        try ledger.importLines(lines)
        _ = try ledger.defineCampaign(fileText: fixedCampaignJSON(fixed: 800, cap: 800, budget: 3000))
        _ = try ledger.launchCampaign("FIX")
        _ = try ledger.defineCampaign(fileText: eventCampaignJSON(id: "MU", award: "\"multiplier\":1.5", on: "[\"TradeExecuted\"]", cap: 500, budget: 900))
        _ = try ledger.launchCampaign("MU")
        let later = Ledger(store: ledger.store, rules: defaultRules, clock: afterLaunch)
        try later.importLines((1...6).map {
            line("TradeExecuted", "C\($0)", "2026-05-10T10:00:00Z", #"{"orderId":"U-\#($0)","productId":"EQ-1","notional":50000}"#)
        })
    }

    @Test("with the rules in force the backtest reproduces exactly the awards recorded, and writes nothing")
    func reproduces() throws {
        try withTemporaryLedger(clock: clock) { ledger in
            try history(ledger)
            let before = try ledger.fingerprint()
            let result = try Ledger.simulateRules(defaultRules, current: defaultRules, store: ledger.store)
            #expect(result.reproducesRecord, "\(result.firstDifference ?? "")")
            #expect(result.decisionsDiffering == 0)
            #expect(result.simulatedPoints == result.recordedPoints)
            #expect(result.simulatedAwards == result.recordedAwards)
            #expect(result.recordedPoints > 0)
            #expect(result.tiersBefore == result.tiersAfter)
            #expect(try ledger.fingerprint() == before)
        }
    }

    @Test("richer earning rules give more points, the difference, and the tier distribution after")
    func otherRules() throws {
        try withTemporaryLedger(clock: clock) { ledger in
            try history(ledger)
            let yaml = Rules.defaultYAML.replacingOccurrences(of: "{ name: Silver,   points: 2000,", with: "{ name: Silver,   points: 500,  ")
            let cheaper = try Rules(yaml: yaml)
            #expect(cheaper != defaultRules)
            let result = try Ledger.simulateRules(cheaper, current: defaultRules, store: ledger.store, from: at("2026-01-01T00:00:00Z"), to: at("2026-12-31T00:00:00Z"))
            #expect(!result.reproducesRecord)
            #expect(result.pointsDifference == result.simulatedPoints - result.recordedPoints)
            #expect(result.pointsDifference > 0, "a lower Silver threshold upgrades earlier, and Silver earns 1.2×")
            #expect((result.tiersAfter["Silver"] ?? 0) + (result.tiersAfter["Gold"] ?? 0) >= (result.tiersBefore["Silver"] ?? 0) + (result.tiersBefore["Gold"] ?? 0))
        }
    }
}
