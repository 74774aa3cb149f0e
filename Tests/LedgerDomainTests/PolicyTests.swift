import LedgerTestSupport
import Testing
@testable import LedgerDomain
import LedgerApplication
import LedgerCore
import LedgerSQLite
import LedgerStorage

// MARK: - Earning, through the Ledger service and import lines

@Suite("Loyalty policy: earning")
struct EarningPolicyTests {
    struct EarnCase: Sendable, CustomTestStringConvertible {
        var type: String
        var data: String
        /// Points awarded, nil when no award event may be written.
        var points: Int64?
        var reason: AwardReason
        var testDescription: String { "\(type) \(data) → \(points.map(String.init) ?? "no award")" }
    }

    static let cases: [EarnCase] = [
        EarnCase(type: "TradeExecuted", data: #"{"orderId":"O-1","productId":"EQ-1","notional":99.99}"#, points: nil, reason: .trade),
        EarnCase(type: "TradeExecuted", data: #"{"orderId":"O-1","productId":"EQ-1","notional":0.01}"#, points: nil, reason: .trade),
        EarnCase(type: "TradeExecuted", data: #"{"orderId":"O-1","productId":"EQ-1","notional":100}"#, points: 1, reason: .trade),
        EarnCase(type: "TradeExecuted", data: #"{"orderId":"O-1","productId":"EQ-1","notional":100.00}"#, points: 1, reason: .trade),
        EarnCase(type: "TradeExecuted", data: #"{"orderId":"O-1","productId":"EQ-1","notional":199.99}"#, points: 1, reason: .trade),
        EarnCase(type: "TradeExecuted", data: #"{"orderId":"O-1","productId":"EQ-1","notional":12345.67}"#, points: 123, reason: .trade),
        EarnCase(type: "TradeExecuted", data: #"{"orderId":"O-1","productId":"EQ-1","notional":499999.99}"#, points: 4999, reason: .trade),
        EarnCase(type: "TradeExecuted", data: #"{"orderId":"O-1","productId":"EQ-1","notional":500000}"#, points: 5000, reason: .trade),
        EarnCase(type: "TradeExecuted", data: #"{"orderId":"O-1","productId":"EQ-1","notional":600000}"#, points: 5000, reason: .trade),
        EarnCase(type: "TradeExecuted", data: #"{"orderId":"O-1","productId":"EQ-1","notional":1000000000000}"#, points: 5000, reason: .trade),
        EarnCase(type: "ProductPurchased", data: #"{"productId":"FUND-03","amount":49.99}"#, points: nil, reason: .purchase),
        EarnCase(type: "ProductPurchased", data: #"{"productId":"FUND-03","amount":50}"#, points: 1, reason: .purchase),
        EarnCase(type: "ProductPurchased", data: #"{"productId":"FUND-03","amount":100}"#, points: 2, reason: .purchase),
        EarnCase(type: "ProductPurchased", data: #"{"productId":"FUND-03","amount":149.99}"#, points: 2, reason: .purchase),
        EarnCase(type: "ProductPurchased", data: #"{"productId":"FUND-03","amount":12345.67}"#, points: 246, reason: .purchase),
        EarnCase(type: "FundsDeposited", data: #"{"amount":999.99}"#, points: nil, reason: .deposit),
        EarnCase(type: "FundsDeposited", data: #"{"amount":1000}"#, points: 1, reason: .deposit),
        EarnCase(type: "FundsDeposited", data: #"{"amount":1999.99}"#, points: 1, reason: .deposit),
        EarnCase(type: "FundsDeposited", data: #"{"amount":99999.99}"#, points: 99, reason: .deposit),
        EarnCase(type: "FundsWithdrawn", data: #"{"amount":5000}"#, points: nil, reason: .deposit),
        EarnCase(type: "InteractionLogged", data: #"{"channel":"app","kind":"visit"}"#, points: nil, reason: .deposit),
        EarnCase(type: "SurveyAnswered", data: #"{"nps":0}"#, points: 50, reason: .survey),
    ]

    @Test("points per fact, written by Ledger.importEvents as PointsAwarded", arguments: cases)
    func earning(_ example: EarnCase) throws {
        try withTemporaryLedger { ledger in
            let occurredAt = "2026-03-02T09:31:00Z"
            let events = try parseLines([registrationLine("C1", "2026-01-01T00:00:00Z"), line(example.type, "C1", occurredAt, example.data)].joined(separator: "\n"))
            let report = try ledger.importEvents(events)
            #expect(report.factsWritten == 2)
            let stored = try ledger.storedEvents(of: "C1")
            let awards = stored.filter { $0.type == "PointsAwarded" }
            guard let points = example.points else {
                #expect(awards.isEmpty)
                // A purchase without a valid risk assessment is flagged (SuitabilityPolicy): that
                // is its only decision.
                #expect(report.decisionsWritten == stored.filter { $0.type == "SuitabilityBreachFlagged" }.count)
                return
            }
            try #require(awards.count == 1)
            let award = awards[0]
            #expect(award.payload == .pointsAwarded(points: points, reason: example.reason, campaignId: nil, expiresAt: at(occurredAt).adding(days: 730)))
            #expect(award.occurredAt == at(occurredAt))
            // The award follows its cause, carries it, and names the rules that decided it.
            #expect(award.event.version == 3)
            let metadata = EventMetadata(json: award.event.metadata)
            #expect(metadata.causationId == events[1].eventId)
            #expect(metadata.rulesVersion == ledger.rules.version)
            #expect(metadata.actor == Ledger.decisionActor)
            let state = try ledger.clientState("C1")
            #expect(state.pointsOutstanding == points)
            #expect(state.lifetimePoints == points)
        }
    }

    @Test("the trade cap applies before the tier multiplier")
    func capBeforeMultiplier() throws {
        for (depositCents, tier, expected) in [(Int64(10_000_000), Tier.silver, Int64(6000)), (50_000_000, .gold, 7500), (300_000_000, .platinum, 10_000), (1_000_000_000, .diamond, 12_500)] {
            var client = TestClient()
            try client.process(deposit(depositCents), at: "2024-02-01T00:00:00Z")
            #expect(client.state.tier == tier)
            #expect(awards(try client.process(trade(60_000_000), at: "2024-02-02T00:00:00Z")) == [expected])
            #expect(awards(try client.process(trade(50_000_000), at: "2024-02-03T00:00:00Z")) == [expected])
        }
    }

    @Test("surveys earn 50 points at most once per calendar quarter")
    func surveyOncePerQuarter() throws {
        var client = TestClient(registeredAt: "2023-12-01T00:00:00Z")
        #expect(awards(try client.process(survey, at: "2024-01-15T00:00:00Z")) == [50])
        #expect(awards(try client.process(survey, at: "2024-03-20T00:00:00Z")) == [], "second survey in Q1")
        #expect(awards(try client.process(survey, at: "2024-03-31T23:59:59Z")) == [], "still Q1")
        #expect(awards(try client.process(survey, at: "2024-04-01T00:00:00Z")) == [50], "Q2 starts at midnight UTC")
        #expect(awards(try client.process(survey, at: "2024-06-30T23:59:59Z")) == [])
        #expect(awards(try client.process(survey, at: "2024-12-31T23:59:59Z")) == [50], "Q4")
        #expect(awards(try client.process(survey, at: "2025-01-01T00:00:00Z")) == [50], "Q1 of the next year")
        #expect(client.state.lifetimePoints == 200)
    }

    @Test("surveys on the last second of a quarter and the first of the next both earn")
    func surveyQuarterBoundary() throws {
        var client = TestClient()
        #expect(awards(try client.process(survey, at: "2024-03-31T23:59:59Z")) == [50])
        #expect(awards(try client.process(survey, at: "2024-04-01T00:00:00Z")) == [50])
        // A local time that is still March 31 in Shanghai is April in UTC: UTC decides.
        var other = TestClient()
        #expect(awards(try other.process(survey, at: "2024-03-31T16:00:00Z")) == [50])
        #expect(awards(try other.process(survey, at: at("2024-04-01T07:59:59+08:00"))) == [], "23:59:59Z on March 31")
    }

    @Test("the survey award is multiplied by the tier multiplier")
    func surveyMultiplier() throws {
        for (depositCents, expected) in [(Int64(10_000_000), Int64(60)), (50_000_000, 75), (300_000_000, 100), (1_000_000_000, 125)] {
            var client = TestClient()
            try client.process(deposit(depositCents), at: "2024-02-01T00:00:00Z")
            #expect(awards(try client.process(survey, at: "2024-02-02T00:00:00Z")) == [expected])
        }
    }

    struct RoundingCase: Sendable, CustomTestStringConvertible {
        var depositCents: Int64
        var tradeCents: Int64
        var points: Int64
        var testDescription: String { "assets \(Money(cents: depositCents)), trade \(Money(cents: tradeCents)) → \(points)" }
    }

    @Test("points are rounded down after the multiplier", arguments: [
        RoundingCase(depositCents: 10_000_000, tradeCents: 100, points: 0),        // Silver: 0 base
        RoundingCase(depositCents: 10_000_000, tradeCents: 10_000, points: 1),     // 1.2 → 1
        RoundingCase(depositCents: 10_000_000, tradeCents: 30_000, points: 3),     // 3.6 → 3
        RoundingCase(depositCents: 10_000_000, tradeCents: 40_000, points: 4),     // 4.8 → 4
        RoundingCase(depositCents: 10_000_000, tradeCents: 50_000, points: 6),     // 6.0
        RoundingCase(depositCents: 10_000_000, tradeCents: 39_999, points: 3),     // 3 base (3.9999 down first) → 3.6 → 3
        RoundingCase(depositCents: 50_000_000, tradeCents: 10_000, points: 1),     // Gold 1.5 → 1
        RoundingCase(depositCents: 50_000_000, tradeCents: 30_000, points: 4),     // 4.5 → 4
        RoundingCase(depositCents: 300_000_000, tradeCents: 30_000, points: 6),    // Platinum 2.0
        RoundingCase(depositCents: 1_000_000_000, tradeCents: 30_000, points: 7),  // Diamond 7.5 → 7
        RoundingCase(depositCents: 1_000_000_000, tradeCents: 10_000, points: 2),  // 2.5 → 2
    ])
    func roundingAfterMultiplier(_ example: RoundingCase) throws {
        var client = TestClient()
        try client.process(deposit(example.depositCents), at: "2024-02-01T00:00:00Z")
        #expect(awards(try client.process(trade(example.tradeCents), at: "2024-02-02T00:00:00Z")) == (example.points > 0 ? [example.points] : []))
    }

    @Test("the multiplier in force before the event applies: the crossing event earns at the old one")
    func multiplierBeforeTheEvent() throws {
        var client = TestClient()
        #expect(awards(try client.process(trade(19_900_000), at: "2024-02-01T00:00:00Z")) == [1990])
        #expect(client.state.tier == .standard)
        let crossing = try client.process(trade(100_000), at: "2024-02-02T00:00:00Z")
        #expect(awards(crossing) == [10], "earned at 1.0, the tier before the event")
        #expect(tierChanges(crossing).map(\.to) == [.silver])
        #expect(awards(try client.process(trade(100_000), at: "2024-02-03T00:00:00Z")) == [12], "earned at 1.2")

        // The same with assets: the deposit that makes the client Gold earns at Silver's rate.
        var rich = TestClient()
        try rich.process(deposit(10_000_000), at: "2024-02-01T00:00:00Z")
        #expect(rich.state.tier == .silver)
        let gold = try rich.process(deposit(40_000_000), at: "2024-02-02T00:00:00Z")
        #expect(awards(gold) == [480], "400 base at 1.2")
        #expect(tierChanges(gold).map(\.to) == [.gold])
        #expect(awards(try rich.process(deposit(100_000), at: "2024-02-03T00:00:00Z")) == [1], "1 base at 1.5")
    }
}

// MARK: - Tiers

@Suite("Loyalty policy: tiers")
struct TierPolicyTests {
    @Test("exactly 2,000 qualifying points make a client Silver, in the same planned list after the award")
    func upgradeAtThreshold() throws {
        var client = TestClient()
        let moment = at("2024-02-01T12:00:00Z")
        let planned = try client.process(trade(20_000_000), at: moment)
        #expect(planned.count == 3)
        #expect(planned.map(\.payload.type) == [.tradeExecuted, .pointsAwarded, .tierChanged])
        #expect(planned.map(\.isDecision) == [false, true, true])
        #expect(planned.allSatisfy { $0.occurredAt == moment })
        #expect(planned.last?.payload == .tierChanged(from: .standard, to: .silver, reason: .qualified))
        #expect(client.state.tier == .silver)
        #expect(client.state.tierSince == moment)
        #expect(client.state.tierHistory.count == 1)
    }

    @Test("1,999 qualifying points stay Standard")
    func noUpgradeBelowThreshold() throws {
        var client = TestClient()
        let planned = try client.process(trade(19_990_000), at: "2024-02-01T12:00:00Z")
        #expect(awards(planned) == [1999])
        #expect(tierChanges(planned).isEmpty)
        #expect(client.state.tier == .standard)
    }

    struct AssetCase: Sendable, CustomTestStringConvertible {
        var deposits: [Int64]
        var withdrawals: Int64
        var tier: Tier
        var testDescription: String { "deposits \(deposits), withdrawn \(withdrawals) → \(tier.rawValue)" }
    }

    @Test("net assets qualify at their thresholds", arguments: [
        AssetCase(deposits: [10_000_000], withdrawals: 0, tier: .silver),
        AssetCase(deposits: [9_999_999], withdrawals: 0, tier: .standard),
        AssetCase(deposits: [6_000_000, 4_000_000], withdrawals: 0, tier: .silver),
        AssetCase(deposits: [6_000_000, 4_000_001], withdrawals: 1, tier: .silver),
        AssetCase(deposits: [6_000_000, 4_000_000], withdrawals: 1, tier: .standard),
        AssetCase(deposits: [50_000_000], withdrawals: 0, tier: .gold),
        AssetCase(deposits: [49_999_999], withdrawals: 0, tier: .silver),
        AssetCase(deposits: [300_000_000], withdrawals: 0, tier: .platinum),
        AssetCase(deposits: [1_000_000_000], withdrawals: 0, tier: .diamond),
        AssetCase(deposits: [999_999_999], withdrawals: 0, tier: .platinum),
    ])
    func assetThresholds(_ example: AssetCase) throws {
        var client = TestClient()
        var day: Int64 = 0
        if example.withdrawals > 0 {
            try client.process(.fundsWithdrawn(amount: Money(cents: example.withdrawals)), at: at("2024-02-01T00:00:00Z"))
        }
        for cents in example.deposits {
            day += 1
            try client.process(deposit(cents), at: at("2024-02-01T00:00:00Z").adding(days: day))
        }
        #expect(client.state.tier == example.tier)
        #expect(client.state.tierHistory.count == (example.tier == .standard ? 0 : 1))
    }

    @Test("a client can jump straight to Gold, Platinum or Diamond", arguments: [
        (purchase: true, cents: Int64(50_000_000), tier: Tier.gold),
        (purchase: true, cents: 250_000_000, tier: .platinum),
        (purchase: true, cents: 1_000_000_000, tier: .diamond),
        (purchase: false, cents: 50_000_000, tier: .gold),
        (purchase: false, cents: 300_000_000, tier: .platinum),
        (purchase: false, cents: 1_000_000_000, tier: .diamond),
    ])
    func jumps(purchase isPurchase: Bool, cents: Int64, tier: Tier) throws {
        var client = TestClient()
        let planned = try client.process(isPurchase ? purchase(cents) : deposit(cents), at: "2024-02-01T00:00:00Z")
        let changes = tierChanges(planned)
        #expect(changes.count == 1)
        #expect(changes.first?.from == .standard)
        #expect(changes.first?.to == tier)
        #expect(changes.first?.reason == .qualified)
        #expect(client.state.tier == tier)
    }

    struct WindowCase: Sendable, CustomTestStringConvertible {
        var name: String
        /// Milliseconds after the 1,999-point award.
        var offset: Int64
        var upgraded: Bool
        var testDescription: String { name }
    }

    static let day: Int64 = 86_400_000

    @Test("qualifying points are those awarded in (t − 365 days, t]", arguments: [
        WindowCase(name: "same moment", offset: 0, upgraded: true),
        WindowCase(name: "364 days later", offset: 364 * day, upgraded: true),
        WindowCase(name: "365 days minus 1 ms later", offset: 365 * day - 1, upgraded: true),
        WindowCase(name: "exactly 365 days later (excluded)", offset: 365 * day, upgraded: false),
        WindowCase(name: "365 days plus 1 s later", offset: 365 * day + 1000, upgraded: false),
        WindowCase(name: "366 days later", offset: 366 * day, upgraded: false),
    ])
    func qualifyingWindow(_ example: WindowCase) throws {
        var client = TestClient()
        let awardedAt = at("2024-02-01T12:00:00Z")
        #expect(awards(try client.process(trade(19_990_000), at: awardedAt)) == [1999])
        let moment = Timestamp(millisecondsSinceEpoch: awardedAt.millisecondsSinceEpoch + example.offset)
        #expect(client.state.qualifyingPointsSnapshot(at: moment, windowDays: 365) == (example.upgraded ? 1999 : 0))
        let planned = try client.process(trade(10_000), at: moment)
        #expect(awards(planned) == [1])
        #expect(client.state.tier == (example.upgraded ? .silver : .standard))
        #expect(tierChanges(planned).count == (example.upgraded ? 1 : 0))
    }

    @Test("redemptions do not reduce qualifying points")
    func redemptionsDoNotReduceQualifyingPoints() throws {
        var client = TestClient()
        try client.process(trade(19_990_000), at: "2024-02-01T00:00:00Z")
        try client.process(redeem(1999), at: "2024-02-02T00:00:00Z")
        #expect(client.state.pointsOutstanding == 0)
        try client.process(trade(10_000), at: "2024-02-03T00:00:00Z")
        #expect(client.state.tier == .silver)
    }

    @Test("positive adjustments do not count as qualifying points")
    func adjustmentsDoNotQualify() throws {
        var client = TestClient()
        try client.process(adjust(5000), at: "2024-02-01T00:00:00Z")
        try client.process(trade(10_000), at: "2024-02-02T00:00:00Z")
        #expect(client.state.pointsOutstanding == 5001)
        #expect(client.state.tier == .standard)
    }

    @Test("an upgrade through Ledger.importEvents writes fact, award and TierChanged in one transaction")
    func upgradeThroughLedger() throws {
        try withTemporaryLedger { ledger in
            let events = try parseLines([
                registrationLine("C1", "2026-01-01T00:00:00Z"),
                line("TradeExecuted", "C1", "2026-01-05T10:00:00Z", #"{"orderId":"O-1","productId":"EQ-1","notional":200000.00}"#),
            ].joined(separator: "\n"))
            let report = try ledger.importEvents(events)
            #expect(report.factsWritten == 2)
            #expect(report.decisionsWritten == 2)
            let stored = try ledger.storedEvents(of: "C1")
            #expect(stored.map(\.type) == ["ClientRegistered", "TradeExecuted", "PointsAwarded", "TierChanged"])
            #expect(stored.map(\.event.version) == [1, 2, 3, 4])
            #expect(Set(stored.map(\.event.recordedAt)).count == 1, "one transaction")
            #expect(stored[3].payload == .tierChanged(from: .standard, to: .silver, reason: .qualified))
            for decision in stored[2...] {
                #expect(EventMetadata(json: decision.event.metadata).causationId == events[1].eventId)
            }
            #expect(try ledger.clientState("C1").tier == .silver)
        }
    }
}

// MARK: - Lots and balances

@Suite("Loyalty policy: lots")
struct LotPolicyTests {
    /// A client with one 1,000-point lot awarded 2024-01-01T10:00Z, expiring 2025-12-31T10:00Z.
    static func clientWithOneLot() throws -> TestClient {
        var client = TestClient(registeredAt: "2024-01-01T00:00:00Z")
        let planned = try client.process(trade(10_000_000), at: "2024-01-01T10:00:00Z")
        #expect(planned.contains { $0.payload == .pointsAwarded(points: 1000, reason: .trade, campaignId: nil, expiresAt: at("2025-12-31T10:00:00Z")) })
        #expect(client.state.lots.map(\.expiresAt) == [at("2025-12-31T10:00:00Z")])
        return client
    }

    @Test("a lot still counts one second before it expires")
    func lotBeforeExpiry() throws {
        var client = try Self.clientWithOneLot()
        let planned = try client.process(interaction, at: "2025-12-31T09:59:59Z")
        #expect(expiries(planned).isEmpty)
        #expect(client.state.pointsOutstanding == 1000)
        var redeemer = try Self.clientWithOneLot()
        let redemption = try redeemer.process(redeem(1000), at: "2025-12-31T09:59:59Z")
        #expect(redemption.map(\.payload.type) == [.pointsRedeemed])
        #expect(redeemer.state.pointsOutstanding == 0)
        #expect(redeemer.state.expiredPoints == 0)
    }

    @Test("a lot expires at awardedAt + 730 days: the next event sees PointsExpired before itself")
    func lotExpiresOnTheDay() throws {
        var client = try Self.clientWithOneLot()
        let expiry = at("2025-12-31T10:00:00Z")
        let planned = try client.process(interaction, at: expiry)
        #expect(planned.map(\.payload) == [.pointsExpired(points: 1000, lotAwardedAt: at("2024-01-01T10:00:00Z")), interaction])
        #expect(planned.first?.occurredAt == expiry)
        #expect(planned.first?.isDecision == true)
        #expect(client.state.pointsOutstanding == 0)
        #expect(client.state.expiredPoints == 1000)
        #expect(client.state.openLots.isEmpty)

        // An event much later expires the lot at its own end, not at the event's time.
        var late = try Self.clientWithOneLot()
        let latePlanned = try late.process(interaction, at: "2026-06-01T00:00:00Z")
        #expect(latePlanned.first?.occurredAt == expiry)

        var redeemer = try Self.clientWithOneLot()
        do {
            _ = try redeemer.process(redeem(1), at: expiry)
            Issue.record("redeemed an expired point")
        } catch {
            #expect(error.field == "data.points")
            #expect(error.problem.contains("0 available"))
        }
        #expect(redeemer.state.pointsOutstanding == 1000, "a refused command changes nothing, not even the lazy expiry")
        #expect(redeemer.state.version == 3)
    }

    @Test("expiry takes only what is left of a partly used lot")
    func partialLotExpiry() throws {
        var client = try Self.clientWithOneLot()
        try client.process(redeem(400), at: "2025-01-01T00:00:00Z")
        let planned = try client.process(interaction, at: "2026-01-01T00:00:00Z")
        #expect(expiries(planned) == [600])
        #expect(client.state.expiredPoints == 600)
        #expect(client.state.redeemedPoints == 400)
        #expect(client.state.pointsOutstanding == 0)
    }

    /// Lots of 100 (Jan 10), 200 (Feb 10) and 300 (Mar 10).
    static func clientWithThreeLots() throws -> TestClient {
        var client = TestClient()
        try client.process(trade(1_000_000), at: "2024-01-10T00:00:00Z")
        try client.process(trade(2_000_000), at: "2024-02-10T00:00:00Z")
        try client.process(trade(3_000_000), at: "2024-03-10T00:00:00Z")
        #expect(client.state.openLots.map(\.remaining) == [100, 200, 300])
        #expect(client.state.pointsOutstanding == 600)
        return client
    }

    @Test("a redemption spanning two lots consumes the oldest first")
    func fifoRedemption() throws {
        var client = try Self.clientWithThreeLots()
        try client.process(redeem(150), at: "2024-04-01T00:00:00Z")
        #expect(client.state.lots.map(\.remaining) == [0, 150, 300])
        #expect(client.state.openLots.map(\.awardedAt) == [at("2024-02-10T00:00:00Z"), at("2024-03-10T00:00:00Z")])
        #expect(client.state.openLots.map(\.remaining) == [150, 300])
        #expect(client.state.pointsOutstanding == 450)
        try client.process(redeem(200), at: "2024-04-02T00:00:00Z")
        #expect(client.state.openLots.map(\.remaining) == [250])
        #expect(client.state.redeemedPoints == 350)
    }

    @Test("a negative adjustment consumes lots like a redemption; a positive one adds a lot")
    func adjustmentsAndLots() throws {
        var client = try Self.clientWithThreeLots()
        try client.process(redeem(50), at: "2024-04-01T00:00:00Z")
        let planned = try client.process(adjust(-120), at: "2024-04-02T00:00:00Z")
        #expect(awards(planned).isEmpty)
        #expect(client.state.lots.map(\.remaining) == [0, 130, 300])
        #expect(client.state.adjustedPoints == -120)
        try client.process(adjust(30), at: "2024-04-03T00:00:00Z")
        let added = try #require(client.state.openLots.last)
        #expect(added == PointsLot(awardedAt: at("2024-04-03T00:00:00Z"), expiresAt: at("2024-04-03T00:00:00Z").adding(days: 730), points: 30, remaining: 30, fromAward: false))
        try client.process(redeem(440), at: "2024-04-04T00:00:00Z")
        #expect(client.state.openLots.map(\.remaining) == [20])
        #expect(client.state.pointsOutstanding == 20)
        #expect(client.state.pointsOutstanding == client.state.lifetimePoints - client.state.redeemedPoints - client.state.expiredPoints + client.state.adjustedPoints)
    }

    @Test("a redemption beyond the balance is refused, naming data.points and the balance, and changes nothing")
    func redemptionBeyondBalance() throws {
        let client = try Self.clientWithThreeLots()
        for fact in [redeem(601), redeem(1_000_000), adjust(-601)] {
            var attempt = client
            do {
                _ = try attempt.process(fact, at: "2024-04-01T00:00:00Z")
                Issue.record("accepted \(fact)")
            } catch {
                #expect(error.field == "data.points")
                #expect(error.problem.contains("600 available") || error.problem.contains("600 points available"), "\(error.problem)")
            }
            #expect(attempt.state.version == client.state.version)
            #expect(attempt.state.pointsOutstanding == 600)
            #expect(attempt.state.lots == client.state.lots)
            #expect(attempt.state.redeemedPoints == 0)
            #expect(attempt.state.adjustedPoints == 0)
        }
        var exact = client
        try exact.process(redeem(600), at: "2024-04-01T00:00:00Z")
        #expect(exact.state.pointsOutstanding == 0)
        #expect(exact.state.openLots.isEmpty)
    }

    @Test("points a lot lost to expiry cannot be redeemed in the same event")
    func balanceCheckSeesExpiry() throws {
        var client = try Self.clientWithThreeLots()
        // Jan 10 2024 + 730 days = Jan 9 2026: the 100-point lot has expired, 500 remain.
        do {
            _ = try client.process(redeem(501), at: "2026-01-09T00:00:00Z")
            Issue.record("redeemed expired points")
        } catch {
            #expect(error.problem.contains("500 available"))
        }
        let planned = try client.process(redeem(500), at: "2026-01-09T00:00:00Z")
        #expect(planned.map(\.payload.type) == [.pointsExpired, .pointsRedeemed])
        #expect(client.state.pointsOutstanding == 0)
        #expect(client.state.expiredPoints == 100)
    }
}

// MARK: - Periodic jobs on a temporary database

@Suite("Ledger jobs: expiry and tier evaluation")
struct LedgerJobTests {
    @Test("points expire on the day; a second run for the same date writes nothing")
    func expirePoints() throws {
        try withTemporaryLedger { ledger in
            try ledger.importLines([
                registrationLine("C1", "2024-01-01T00:00:00Z"),
                line("TradeExecuted", "C1", "2024-01-01T10:00:00Z", #"{"orderId":"O-1","productId":"EQ-1","notional":100000}"#),
                registrationLine("C2", "2024-06-01T00:00:00Z"),
                line("TradeExecuted", "C2", "2024-06-01T00:00:00Z", #"{"orderId":"O-2","productId":"EQ-1","notional":50000}"#),
            ])
            let start = try ledger.fingerprint()

            let early = try ledger.expirePoints(asOf: at("2025-12-31T09:59:59Z"))
            #expect(early == Ledger.JobReport())
            #expect(try ledger.fingerprint() == start)

            let due = try ledger.expirePoints(asOf: at("2025-12-31T10:00:00Z"))
            #expect(due.eventsWritten == 1)
            #expect(due.clientsChanged == 1)
            #expect(due.points == 1000)
            let c1 = try ledger.clientState("C1")
            #expect(c1.pointsOutstanding == 0)
            #expect(c1.expiredPoints == 1000)
            #expect(try ledger.clientState("C2").pointsOutstanding == 500)
            let expired = try #require(try ledger.storedEvents(of: "C1").last)
            #expect(expired.payload == .pointsExpired(points: 1000, lotAwardedAt: at("2024-01-01T10:00:00Z")))
            #expect(expired.occurredAt == at("2025-12-31T10:00:00Z"))
            #expect(EventMetadata(json: expired.event.metadata).rulesVersion == ledger.rules.version)

            let afterFirst = try ledger.fingerprint()
            #expect(afterFirst.rows == start.rows + 1)
            let again = try ledger.expirePoints(asOf: at("2025-12-31T10:00:00Z"))
            #expect(again.eventsWritten == 0)
            #expect(try ledger.fingerprint() == afterFirst)
            let later = try ledger.expirePoints(asOf: at("2026-01-15T00:00:00Z"))
            #expect(later.eventsWritten == 0, "C2's lot lives until 2026-05-31")
            #expect(try ledger.fingerprint() == afterFirst)

            // A later fact does not expire the same lot a second time.
            try ledger.importLines([line("InteractionLogged", "C1", "2026-02-01T00:00:00Z", #"{"channel":"app","kind":"visit"}"#)])
            #expect(try ledger.storedEvents(of: "C1").filter { $0.type == "PointsExpired" }.count == 1)
            #expect(try ledger.clientState("C1").expiredPoints == 1000)
        }
    }

    @Test("downgrades only after the 365-day guarantee, only to the tier qualified for, once per date")
    func evaluateTiers() throws {
        try withTemporaryLedger { ledger in
            let reached = "2024-01-10T00:00:00Z"
            try ledger.importLines([
                // G: Gold by 10,000 points on Jan 10, then 3,750 more points in July.
                registrationLine("G", "2024-01-01T00:00:00Z"),
                line("ProductPurchased", "G", reached, #"{"productId":"FUND-03","amount":500000}"#),
                line("TradeExecuted", "G", "2024-07-01T00:00:00Z", #"{"orderId":"O-1","productId":"EQ-1","notional":250000}"#),
                // X: Silver by 2,000 points on Jan 10, nothing since.
                registrationLine("X", "2024-01-01T00:00:00Z"),
                line("TradeExecuted", "X", reached, #"{"orderId":"O-2","productId":"EQ-1","notional":200000}"#),
                // S: Silver by assets; still qualifies.
                registrationLine("S", "2024-01-01T00:00:00Z"),
                line("FundsDeposited", "S", reached, #"{"amount":100000}"#),
            ])
            #expect(try ledger.clientState("G").tier == .gold)
            #expect(try ledger.clientState("G").lifetimePoints == 13_750)
            #expect(try ledger.clientState("X").tier == .silver)
            #expect(try ledger.clientState("S").tier == .silver)
            let start = try ledger.fingerprint()

            // On day 365 the guarantee still holds, although the points have left the window.
            let guaranteeEnds = at(reached).adding(days: 365)
            #expect(try ledger.evaluateTiers(asOf: guaranteeEnds).eventsWritten == 0)
            #expect(try ledger.evaluateTiers(asOf: at(reached).adding(days: 200)).eventsWritten == 0)
            #expect(try ledger.fingerprint() == start)

            // One second after it, G moves to Silver (3,750 points in the window), X to Standard.
            let asOf = guaranteeEnds.adding(seconds: 1)
            let report = try ledger.evaluateTiers(asOf: asOf)
            #expect(report.eventsWritten == 2)
            #expect(report.clientsChanged == 2)
            let g = try ledger.clientState("G")
            #expect(g.tier == .silver)
            #expect(g.tierSince == asOf)
            #expect(try ledger.storedEvents(of: "G").last?.payload == .tierChanged(from: .gold, to: .silver, reason: .downgraded))
            #expect(try ledger.storedEvents(of: "G").last?.occurredAt == asOf)
            #expect(try ledger.clientState("X").tier == .standard)
            #expect(try ledger.storedEvents(of: "X").last?.payload == .tierChanged(from: .silver, to: .standard, reason: .downgraded))
            #expect(try ledger.clientState("S").tier == .silver)
            #expect(g.pointsOutstanding == 13_750, "a downgrade takes no points")

            // The same date again, and the next day: nothing (G's new tier has its own guarantee).
            let afterFirst = try ledger.fingerprint()
            #expect(afterFirst.rows == start.rows + 2)
            #expect(try ledger.evaluateTiers(asOf: asOf).eventsWritten == 0)
            #expect(try ledger.evaluateTiers(asOf: at(reached).adding(days: 366)).eventsWritten == 0)
            #expect(try ledger.fingerprint() == afterFirst)
        }
    }

    @Test("a downgrade on the whole day after the guarantee, with day arithmetic")
    func evaluateTiersByDay() throws {
        try withTemporaryLedger { ledger in
            try ledger.importLines([
                registrationLine("X", "2024-03-01T00:00:00Z"),
                line("TradeExecuted", "X", "2024-03-01T00:00:00Z", #"{"orderId":"O-2","productId":"EQ-1","notional":200000}"#),
            ])
            #expect(try ledger.evaluateTiers(asOf: at("2025-03-01T00:00:00Z")).eventsWritten == 0, "day 365")
            #expect(try ledger.evaluateTiers(asOf: at("2025-03-02T00:00:00Z")).eventsWritten == 1, "day 366")
            #expect(try ledger.clientState("X").tier == .standard)
        }
    }

    @Test("an offboarded or Standard client is never evaluated")
    func evaluateSkipsOffboarded() throws {
        try withTemporaryLedger { ledger in
            try ledger.importLines([
                registrationLine("X", "2024-01-01T00:00:00Z"),
                line("TradeExecuted", "X", "2024-01-02T00:00:00Z", #"{"orderId":"O-2","productId":"EQ-1","notional":200000}"#),
                line("ClientOffboarded", "X", "2024-02-01T00:00:00Z", #"{"reason":"moved"}"#),
                registrationLine("N", "2024-01-01T00:00:00Z"),
            ])
            let start = try ledger.fingerprint()
            #expect(try ledger.evaluateTiers(asOf: at("2026-01-01T00:00:00Z")).eventsWritten == 0)
            #expect(try ledger.fingerprint() == start)
        }
    }
}

// MARK: - Jobs and imports on one ledger, and the as-of date of a job

@Suite("Ledger jobs mixed with imports")
struct LedgerJobMixTests {
    @Test("after the expiry job, the next import of the same ledger sees the expired balance")
    func importAfterExpiryJob() throws {
        try withTemporaryLedger { ledger in
            try ledger.importLines([
                registrationLine("C1", "2024-01-01T00:00:00Z"),
                line("TradeExecuted", "C1", "2024-01-01T10:00:00Z", #"{"orderId":"O-1","productId":"EQ-1","notional":100000}"#),
                line("SurveyAnswered", "C1", "2025-06-01T00:00:00Z", #"{"nps":9}"#),
            ])
            #expect(try ledger.expirePoints(asOf: at("2026-01-01T00:00:00Z")).points == 1000)
            let before = try ledger.fingerprint()
            do {
                try ledger.importLines([line("PointsRedeemed", "C1", "2026-01-02T00:00:00Z", #"{"points":51,"reward":"Mug"}"#)])
                Issue.record("redeemed expired points")
            } catch let error as InputError {
                #expect(error.field == "data.points")
                #expect(error.problem.contains("50 available"), "\(error.problem)")
            }
            #expect(try ledger.fingerprint() == before)
            let report = try ledger.importLines([line("PointsRedeemed", "C1", "2026-01-02T00:00:00Z", #"{"points":50,"reward":"Mug"}"#)])
            #expect(report.factsWritten == 1)
            #expect(report.decisionsWritten == 0, "the lot was expired by the job, not again by the import")
            #expect(try ledger.clientState("C1").pointsOutstanding == 0)
        }
    }

    @Test("after a downgrade, the next import of the same ledger earns at the new tier's multiplier")
    func importAfterDowngrade() throws {
        try withTemporaryLedger { ledger in
            try ledger.importLines([
                registrationLine("G", "2024-01-01T00:00:00Z"),
                line("ProductPurchased", "G", "2024-01-10T00:00:00Z", #"{"productId":"FUND-03","amount":500000}"#),
                line("TradeExecuted", "G", "2024-07-01T00:00:00Z", #"{"orderId":"O-1","productId":"EQ-1","notional":250000}"#),
            ])
            #expect(try ledger.evaluateTiers(asOf: at("2025-01-20T00:00:00Z")).eventsWritten == 1)
            #expect(try ledger.clientState("G").tier == .silver)
            try ledger.importLines([line("TradeExecuted", "G", "2025-01-21T00:00:00Z", #"{"orderId":"O-2","productId":"EQ-1","notional":100000}"#)])
            let stored = try ledger.storedEvents(of: "G")
            #expect(stored.map(\.type).suffix(2) == ["TradeExecuted", "PointsAwarded"])
            #expect(stored.last?.payload == .pointsAwarded(points: 1200, reason: .trade, campaignId: nil, expiresAt: at("2025-01-21T00:00:00Z").adding(days: 730)))
            #expect(stored.map(\.event.version) == Array(1...Int64(stored.count)))
        }
    }

    /// A decision "as of" a date may only use what had happened by that date: a rebuild of the
    /// client as of the date must agree with it.
    @Test("a tier evaluation as of a past date ignores facts that occurred after it")
    func evaluateTiersUsesFactsAsOfTheDate() throws {
        try withTemporaryLedger { ledger in
            try ledger.importLines([
                // Silver by assets since 2024-01-10; the money leaves on 2025-03-01.
                registrationLine("W", "2024-01-01T00:00:00Z"),
                line("FundsDeposited", "W", "2024-01-10T00:00:00Z", #"{"amount":100000}"#),
                line("FundsWithdrawn", "W", "2025-03-01T00:00:00Z", #"{"amount":100000}"#),
                // Silver by points since 2024-01-10; the money arrives on 2025-03-01.
                registrationLine("D", "2024-01-01T00:00:00Z"),
                line("TradeExecuted", "D", "2024-01-10T00:00:00Z", #"{"orderId":"O-1","productId":"EQ-1","notional":200000}"#),
                line("FundsDeposited", "D", "2025-03-01T00:00:00Z", #"{"amount":100000}"#),
            ])
            let asOf = at("2025-02-01T00:00:00Z")
            // As of Feb 1 2025, W still held 100,000 CNY (Silver); D held nothing and its
            // points had left the window (Standard).
            let wThen = try ledger.clientState("W", asOf: asOf)
            #expect(defaultRules.qualifyingTier(points: 0, assets: wThen.netAssets) == .silver)
            #expect(try ledger.clientState("D", asOf: asOf).netAssets == .zero)
            _ = try ledger.evaluateTiers(asOf: asOf)
            #expect(try ledger.clientState("W").tier == .silver, "W was downgraded on Feb 1 for a withdrawal of Mar 1")
            #expect(try ledger.clientState("D").tier == .standard, "D was kept Silver on Feb 1 for a deposit of Mar 1")
        }
    }

    @Test("reconciling after a rules change writes TierChanged(reevaluated) once")
    func reconcileAfterRulesChange() throws {
        let yaml = Rules.defaultYAML.replacingOccurrences(of: "points: 2000,", with: "points: 1500,")
        let lowered = try Rules(yaml: yaml)
        #expect(lowered.version != defaultRules.version)
        try withTemporaryLedger { ledger in
            try ledger.importLines([
                registrationLine("C1", "2024-01-01T00:00:00Z"),
                line("TradeExecuted", "C1", "2024-02-01T00:00:00Z", #"{"orderId":"O-1","productId":"EQ-1","notional":160000}"#),
                registrationLine("C2", "2024-01-01T00:00:00Z"),
                line("TradeExecuted", "C2", "2024-02-01T00:00:00Z", #"{"orderId":"O-2","productId":"EQ-1","notional":100000}"#),
            ])
            #expect(try ledger.clientState("C1").tier == .standard)
            let relaxed = Ledger(store: ledger.store, rules: lowered)
            let asOf = at("2024-03-01T00:00:00Z")
            let report = try relaxed.reconcileTiers(asOf: asOf)
            #expect(report.eventsWritten == 1)
            let last = try #require(try relaxed.storedEvents(of: "C1").last)
            #expect(last.payload == .tierChanged(from: .standard, to: .silver, reason: .reevaluated))
            #expect(EventMetadata(json: last.event.metadata).rulesVersion == lowered.version)
            #expect(try relaxed.clientState("C2").tier == .standard)
            let after = try relaxed.fingerprint()
            #expect(try relaxed.reconcileTiers(asOf: asOf).eventsWritten == 0)
            #expect(try relaxed.fingerprint() == after)
        }
    }

    @Test("an explicit event id stored before: same event is a no-op, a different one is refused")
    func reusedEventIds() throws {
        try withTemporaryLedger { ledger in
            let id = "0f0e0d0c-0b0a-4908-8706-050403020100"
            try ledger.importLines([
                registrationLine("C1", "2024-01-01T00:00:00Z"),
                line("TradeExecuted", "C1", "2024-02-01T00:00:00Z", #"{"orderId":"O-1","productId":"EQ-1","notional":1000}"#, eventId: id),
            ])
            let before = try ledger.fingerprint()
            let retry = try ledger.importLines([line("TradeExecuted", "C1", "2024-02-01T00:00:00Z", #"{"orderId":"O-1","productId":"EQ-1","notional":1000.00}"#, eventId: id.uppercased())])
            #expect(retry.alreadyStored == 1)
            #expect(retry.factsWritten == 0)
            #expect(try ledger.fingerprint() == before)
            do {
                try ledger.importLines([line("TradeExecuted", "C1", "2024-02-01T00:00:00Z", #"{"orderId":"O-1","productId":"EQ-1","notional":2000}"#, eventId: id)])
                Issue.record("accepted a different event under a stored id")
            } catch let error as InputError {
                #expect(error.field == "eventId")
                #expect(error.line == 1)
            }
            #expect(try ledger.fingerprint() == before)
        }
    }

    @Test("a RiskAssessed imported at version 1 is stored upcast, at the current version")
    func importedV1IsStoredUpcast() throws {
        try withTemporaryLedger { ledger in
            try ledger.importLines([
                registrationLine("C1", "2024-01-01T00:00:00Z"),
                #"{"type":"RiskAssessed","clientId":"C1","occurredAt":"2024-01-02T00:00:00Z","schemaVersion":1,"data":{"level":"C3","score":60}}"#,
            ])
            let stored = try #require(try ledger.store.events(EventQuery(stream: "client/C1", types: ["RiskAssessed"])).first)
            #expect(stored.schemaVersion == EventType.riskAssessed.currentSchemaVersion)
            #expect(stored.data == #"{"level":"C3","score":60,"lowestCategory":false}"#)
            #expect(try ledger.clientState("C1").risk?.level == .c3)
        }
    }
}

// MARK: - Registration rules and atomic refusals

@Suite("Loyalty policy: registration rules")
struct RegistrationRuleTests {
    struct Refusal: Sendable, CustomTestStringConvertible {
        var name: String
        var lines: [String]
        /// 1-based line of the refused event within `lines`.
        var line: Int
        var field: String
        var testDescription: String { name }
    }

    static let trade = #"{"orderId":"O-9","productId":"EQ-1","notional":1000}"#

    static let refusals: [Refusal] = [
        Refusal(name: "event for a client never registered", lines: [line("TradeExecuted", "C9", "2025-01-01T00:00:00Z", trade)], line: 1, field: "clientId"),
        Refusal(name: "event before the registration line in the same batch",
                lines: [line("TradeExecuted", "C5", "2025-01-01T00:00:00Z", trade), registrationLine("C5", "2024-01-01T00:00:00Z")], line: 1, field: "clientId"),
        Refusal(name: "second registration", lines: [registrationLine("C1", "2025-01-01T00:00:00Z")], line: 1, field: "type"),
        Refusal(name: "second registration in the same batch",
                lines: [registrationLine("C6", "2025-01-01T00:00:00Z"), registrationLine("C6", "2025-01-02T00:00:00Z")], line: 2, field: "type"),
        Refusal(name: "event after offboarding", lines: [line("TradeExecuted", "C2", "2025-01-01T00:00:00Z", trade)], line: 1, field: "clientId"),
        Refusal(name: "registration after offboarding", lines: [registrationLine("C2", "2025-01-01T00:00:00Z")], line: 1, field: "type"),
        Refusal(name: "second offboarding", lines: [line("ClientOffboarded", "C2", "2025-01-01T00:00:00Z", #"{"reason":"again"}"#)], line: 1, field: "clientId"),
        Refusal(name: "occurredAt before registration", lines: [line("TradeExecuted", "C1", "2023-12-31T23:59:59Z", trade)], line: 1, field: "occurredAt"),
        Refusal(name: "redemption beyond the balance", lines: [line("PointsRedeemed", "C1", "2025-01-01T00:00:00Z", #"{"points":11,"reward":"Mug"}"#)], line: 1, field: "data.points"),
        Refusal(name: "negative adjustment beyond the balance", lines: [line("PointsAdjusted", "C1", "2025-01-01T00:00:00Z", #"{"points":-11,"reason":"r","approvedBy":"a"}"#)], line: 1, field: "data.points"),
        Refusal(name: "redeeming a product not held", lines: [line("ProductRedeemed", "C1", "2025-01-01T00:00:00Z", #"{"productId":"BOND-02"}"#)], line: 1, field: "data.productId"),
        Refusal(name: "a good line, then a refused one: nothing of the batch is written",
                lines: [line("TradeExecuted", "C1", "2025-01-01T00:00:00Z", #"{"orderId":"O-10","productId":"EQ-1","notional":500000}"#),
                        line("PointsRedeemed", "C1", "2025-01-02T00:00:00Z", #"{"points":999999,"reward":"Car"}"#)], line: 2, field: "data.points"),
        Refusal(name: "expected version conflict",
                lines: [#"{"type":"SurveyAnswered","clientId":"C1","occurredAt":"2025-01-01T00:00:00Z","expectedVersion":1,"data":{"nps":9}}"#], line: 1, field: "expectedVersion"),
    ]

    /// C1 registered 2024-01-01 with 10 points; C2 registered and offboarded.
    static func seeded(_ ledger: Ledger) throws {
        try ledger.importLines([
            registrationLine("C1", "2024-01-01T00:00:00Z"),
            line("TradeExecuted", "C1", "2024-01-02T00:00:00Z", #"{"orderId":"O-1","productId":"EQ-1","notional":1000}"#),
            registrationLine("C2", "2024-01-01T00:00:00Z"),
            line("ClientOffboarded", "C2", "2024-06-01T00:00:00Z", #"{"reason":"Account closed"}"#),
        ])
        #expect(try ledger.clientState("C1").pointsOutstanding == 10)
    }

    @Test("refused commands name the field, and leave the log exactly as it was", arguments: refusals)
    func refusedThroughLedger(_ refusal: Refusal) throws {
        try withTemporaryLedger { ledger in
            try Self.seeded(ledger)
            let before = try ledger.fingerprint()
            let events = try parseLines(refusal.lines.joined(separator: "\n"))
            do {
                let report = try ledger.importEvents(events)
                Issue.record("accepted: \(report)")
            } catch let error as InputError {
                #expect(error.field == refusal.field, "\(error)")
                #expect(error.line == refusal.line, "\(error)")
                #expect(error.isConflict == (refusal.field == "expectedVersion"))
            }
            #expect(try ledger.fingerprint() == before)
            // The batched import checks everything before committing anything.
            if events.count > 1 {
                #expect(throws: (any Error).self) { try ledger.importEvents(events, batchSize: 1) }
                #expect(try ledger.fingerprint() == before)
            }
            // The ledger still works after a refusal.
            try ledger.importLines([line("SurveyAnswered", "C1", "2025-03-01T00:00:00Z", #"{"nps":10}"#)])
            #expect(try ledger.fingerprint().rows == before.rows + 2)
            #expect(try ledger.clientState("C1").pointsOutstanding == 60)
        }
    }

    @Test("the same rules hold in LoyaltyPolicy.process", arguments: [
        ("unregistered", "clientId"), ("second registration", "type"), ("offboarded", "clientId"), ("before registration", "occurredAt"),
    ])
    func refusedInMemory(name: String, field: String) throws {
        var state = ClientState(clientId: "C1")
        let registered = at("2024-01-01T00:00:00Z")
        var fact = interaction
        var moment = registered.adding(days: 1)
        switch name {
        case "unregistered":
            break
        case "second registration":
            _ = try LoyaltyPolicy.process(registration, at: registered, state: &state, rules: defaultRules)
            fact = registration
        case "offboarded":
            _ = try LoyaltyPolicy.process(registration, at: registered, state: &state, rules: defaultRules)
            _ = try LoyaltyPolicy.process(.clientOffboarded(reason: "closed"), at: registered.adding(days: 1), state: &state, rules: defaultRules)
            moment = registered.adding(days: 2)
        default:
            _ = try LoyaltyPolicy.process(registration, at: registered, state: &state, rules: defaultRules)
            moment = registered.adding(seconds: -1)
        }
        let version = state.version
        #expect(throws: FieldError.self) { try LoyaltyPolicy.process(fact, at: moment, state: &state, rules: defaultRules) }
        do {
            _ = try LoyaltyPolicy.process(fact, at: moment, state: &state, rules: defaultRules)
        } catch {
            #expect(error.field == field)
        }
        #expect(state.version == version)
    }
}
