import PropertyBased
import LedgerTestSupport
import Testing
@testable import LedgerDomain
import LedgerApplication
import LedgerCore
import LedgerSQLite
import LedgerStorage

/// One random fact for the client, some time after the previous one.
struct RandomStep: Sendable, CustomStringConvertible {
    /// 0 deposit, 1 withdrawal, 2 trade, 3 purchase, 4 survey, 5 redemption, 6 positive adjustment, 7 negative adjustment.
    var kind: Int
    /// 1…999, scaled by 10^scale: small and large amounts are equally likely.
    var size: Int64
    var scale: Int
    var gapMinutes: Int64

    private var magnitude: Int64 {
        var value = size
        for _ in 0..<scale { value *= 10 }
        return value
    }

    var payload: EventPayload {
        switch kind {
        case 0: return .fundsDeposited(amount: Money(cents: magnitude * 10))           // 0.10 … 99,900 CNY
        case 1: return .fundsWithdrawn(amount: Money(cents: magnitude * 10))
        case 2: return .tradeExecuted(orderId: "O-\(size)", productId: "EQ-600519", notional: Money(cents: magnitude * 100))  // up to 999,000 CNY
        case 3: return .productPurchased(productId: "FUND-03", amount: Money(cents: magnitude * 10))
        case 4: return .surveyAnswered(nps: size % 11)
        case 5: return .pointsRedeemed(points: size * Int64(scale + 1), reward: "Voucher")        // 1 … 3,996
        case 6: return .pointsAdjusted(points: size * Int64(scale + 1), reason: "Goodwill", approvedBy: "ops")
        default: return .pointsAdjusted(points: -size * Int64(scale + 1), reason: "Correction", approvedBy: "ops")
        }
    }

    /// Only redemptions and negative adjustments may be refused (beyond the balance).
    var mayBeRefused: Bool { kind == 5 || kind == 7 }

    var description: String { "+\(gapMinutes)min \(payload)" }
}

/// 10 to 40 facts, 1 minute to ~70 days apart: about two to three years of history, often
/// long enough for lots to expire.
let randomSteps = zip(Gen.int(in: 0...7), Gen.int64(in: 1...999), Gen.int(in: 0...3), Gen.int64(in: 1...100_000))
    .map { RandomStep(kind: $0.0, size: $0.1, scale: $0.2, gapMinutes: $0.3) }
    .array(of: 10...40)

/// The same, where a fact may also be backdated up to ~40 days before the previous one
/// (SPEC §2: backdated corrections), never before the registration.
let randomStepsWithBackdating = zip(Gen.int(in: 0...7), Gen.int64(in: 1...999), Gen.int(in: 0...3), Gen.int64(in: -60_000...100_000))
    .map { RandomStep(kind: $0.0, size: $0.1, scale: $0.2, gapMinutes: $0.3) }
    .array(of: 10...40)

let propertyStart = at("2024-01-01T00:00:00Z")

/// The moment of the next step: `gapMinutes` after `previous`, never before the registration.
func nextMoment(after previous: Timestamp, _ step: RandomStep) -> Timestamp {
    max(propertyStart, Timestamp(millisecondsSinceEpoch: previous.millisecondsSinceEpoch + step.gapMinutes * 60_000))
}

/// The points and tier invariants that must hold after every accepted event at `moment`.
func checkInvariants(_ state: inout ClientState, at moment: Timestamp, rules: Rules, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(state.pointsOutstanding >= 0, sourceLocation: sourceLocation)
    #expect(state.pointsOutstanding == state.lifetimePoints - state.redeemedPoints - state.expiredPoints + state.adjustedPoints, sourceLocation: sourceLocation)
    #expect(state.pointsOutstanding == state.openLots.reduce(0) { $0 + $1.remaining }, sourceLocation: sourceLocation)
    #expect(state.lots.allSatisfy { $0.remaining >= 0 && $0.remaining <= $0.points }, sourceLocation: sourceLocation)
    #expect(zip(state.lots, state.lots.dropFirst()).allSatisfy { $0.awardedAt <= $1.awardedAt }, "lots in award order", sourceLocation: sourceLocation)
    #expect(state.lotsExpired(at: moment).isEmpty, "lazy expiry left an expired lot with points", sourceLocation: sourceLocation)
    let snapshot = state.qualifyingPointsSnapshot(at: moment, windowDays: rules.qualifyingWindowDays)
    #expect(state.qualifyingPoints(at: moment, windowDays: rules.qualifyingWindowDays) == snapshot, "sliding window", sourceLocation: sourceLocation)
    #expect(state.tier >= rules.qualifyingTier(points: snapshot, assets: state.netAssets), "upgrades are immediate", sourceLocation: sourceLocation)
    #expect(zip(state.tierHistory, state.tierHistory.dropFirst()).allSatisfy { $0.to == $1.from && $0.to < $1.to }, "only upgrades on import", sourceLocation: sourceLocation)
}

@Suite("Properties of random client histories")
struct PropertyTests {
    @Test("balances stay consistent after every accepted event")
    func balanceInvariants() async {
        await propertyCheck(count: 300, input: randomSteps) { steps in
            Self.checkHistory(steps)
        }
    }

    @Test("balances stay consistent with backdated facts too")
    func balanceInvariantsWithBackdating() async {
        await propertyCheck(count: 300, input: randomStepsWithBackdating) { steps in
            Self.checkHistory(steps)
        }
    }

    /// Drives one random history through the policies in memory, checking every step.
    static func checkHistory(_ steps: [RandomStep]) {
        var client = TestClient("P1", registeredAt: "2024-01-01T00:00:00Z")
        var moment = propertyStart
        for step in steps {
            moment = nextMoment(after: moment, step)
            let before = client.state
            do throws(FieldError) {
                let planned = try client.process(step.payload, at: moment)
                #expect(planned.filter { !$0.isDecision }.map(\.payload) == [step.payload])
                #expect(planned.allSatisfy { $0.occurredAt <= moment })
                checkInvariants(&client.state, at: moment, rules: client.rules)
            } catch {
                #expect(step.mayBeRefused, "refused \(step): \(error)")
                #expect(error.field == "data.points")
                #expect(client.state.version == before.version)
                #expect(client.state.pointsOutstanding == before.pointsOutstanding)
                #expect(client.state.lots == before.lots)
            }
        }
    }

    @Test("state folded back from the log equals the state the policies kept in memory")
    func foldFromLogMatchesMemory() async {
        await propertyCheck(count: 12, input: randomSteps) { steps in
            // Random histories run up to ~2031: the ledger's clock is put after all of them.
            try withTemporaryLedger(clock: FixedClock(at("2040-01-01T00:00:00Z"))) { ledger in
                try ledger.importLines([registrationLine("P1", "2024-01-01T00:00:00Z")])
                var client = TestClient("P1", registeredAt: "2024-01-01T00:00:00Z", rules: ledger.rules)
                var moment = propertyStart
                for (index, step) in steps.enumerated() {
                    moment = nextMoment(after: moment, step)
                    let text = "{\"type\":\"\(step.payload.type.rawValue)\",\"clientId\":\"P1\",\"occurredAt\":\"\(moment.iso8601)\",\"data\":\(step.payload.dataJSON)}"
                    let events = try parseLines(text)
                    #expect(events.first?.payload == step.payload)
                    let before = try ledger.fingerprint()
                    var accepted = true
                    do {
                        try client.process(step.payload, at: moment)
                    } catch {
                        accepted = false
                    }
                    do {
                        _ = try ledger.importEvents(events)
                        #expect(accepted, "step \(index): the ledger accepted what the policy refused")
                    } catch let error as InputError {
                        #expect(!accepted, "step \(index): the ledger refused \(step): \(error)")
                        #expect(error.field == "data.points")
                        #expect(try ledger.fingerprint() == before)
                    }
                    let folded = try ledger.clientState("P1")
                    #expect(folded.version == client.state.version, "step \(index)")
                    #expect(folded.tier == client.state.tier, "step \(index)")
                    #expect(folded.pointsOutstanding == client.state.pointsOutstanding, "step \(index)")
                    #expect(folded.lots == client.state.lots, "step \(index)")
                    #expect(folded.openLots == client.state.openLots, "step \(index)")
                    #expect(folded.lifetimePoints == client.state.lifetimePoints)
                    #expect(folded.expiredPoints == client.state.expiredPoints)
                    #expect(folded.netAssets == client.state.netAssets)
                    if accepted {
                        var copy = folded
                        checkInvariants(&copy, at: moment, rules: ledger.rules)
                    }
                }
                // A reader that never saw the writes folds the same state.
                let reader = Ledger(store: try SQLiteEventStore(path: ledger.store.location, readOnly: true), rules: ledger.rules)
                let cold = try reader.clientState("P1")
                #expect(cold.tier == client.state.tier)
                #expect(cold.pointsOutstanding == client.state.pointsOutstanding)
                #expect(cold.lots == client.state.lots)
                #expect(cold.tierHistory.map(\.to) == client.state.tierHistory.map(\.to))
            }
        }
    }
}
