import PropertyBased
import LedgerTestSupport
import Testing
@testable import LedgerDomain
@testable import LedgerApplication
import LedgerCore
import LedgerSQLite
import LedgerStorage

/// What must not depend on the recording order (rules.md, "Late facts").
struct WorldSummary: Equatable, CustomStringConvertible {
    struct Lot: Equatable { var awardedAt, expiresAt: Timestamp; var points, remaining: Int64 }
    struct Change: Equatable { var at: Timestamp; var from, to: Tier }
    var available, lifetime, qualifying, redeemed, expired: Int64
    var netAssets: Money
    var tier: Tier
    var tierSince: Timestamp?
    var history: [Change]
    var lots: [Lot]

    init(_ state: ClientState, at moment: Timestamp, rules: Rules) {
        available = state.pointsAvailable(at: moment)
        lifetime = state.lifetimePoints
        qualifying = state.qualifyingPointsSnapshot(at: moment, windowDays: rules.qualifyingWindowDays)
        redeemed = state.redeemedPoints
        expired = state.expiredPoints
        netAssets = state.netAssets
        tier = state.tier
        tierSince = state.tierSince
        history = state.tierHistory.map { Change(at: $0.at, from: $0.from, to: $0.to) }
        // A lot whose award was corrected to nothing is no lot in world time.
        lots = state.lots.filter { $0.points > 0 }.map { Lot(awardedAt: $0.awardedAt, expiresAt: $0.expiresAt, points: $0.points, remaining: $0.remaining) }
    }

    var description: String {
        "available \(available) lifetime \(lifetime) qualifying \(qualifying) redeemed \(redeemed) expired \(expired) assets \(netAssets.cents) tier \(tier) since \(tierSince?.iso8601 ?? "-") history \(history.map { "\($0.at.iso8601) \($0.from)→\($0.to)" }) lots \(lots.map { "\($0.awardedAt.iso8601):\($0.points)/\($0.remaining)" })"
    }
}

let lateClock = FixedClock(at("2040-01-01T00:00:00Z"))

extension Ledger {
    func world(_ clientId: String = "C1", at moment: Timestamp = at("2025-06-01T00:00:00Z")) throws -> WorldSummary {
        WorldSummary(try streams.fold(clientId), at: moment, rules: rules)
    }

    /// Imports each line in its own transaction, in the order given.
    func importEach(_ lines: [String]) throws {
        for text in lines { try importLines([text]) }
    }

    func types(_ clientId: String = "C1") throws -> [String] {
        try storedEvents(of: clientId).map(\.type)
    }
}

func depositLine(_ occurredAt: String, _ amount: String, id: String? = nil) -> String {
    line("FundsDeposited", "C1", occurredAt, "{\"amount\":\(amount)}", eventId: id)
}

@Suite("Late facts: judged in world time, corrected by new decisions")
struct LateFactTests {
    @Test("the issue's example: a late deposit before a later one gives the in-order points and tiers")
    func issueExample() throws {
        let register = registrationLine("C1", "2025-01-01T00:00:00Z")
        let march = depositLine("2025-03-01T00:00:00Z", "200000.00")
        let february = depositLine("2025-02-01T00:00:00Z", "400000.00")
        try withTemporaryLedger(clock: lateClock) { late in
            try late.importEach([register, march])
            #expect(try late.world().lifetime == 200)
            #expect(try late.world().tier == .silver)
            try late.importEach([february])
            let world = try late.world()
            #expect(world.lifetime == 640)  // 400 at ×1.0 on 1 February, 240 at ×1.2 on 1 March
            #expect(world.available == 640)
            #expect(world.tier == .gold)
            #expect(world.history == [
                .init(at: at("2025-02-01T00:00:00Z"), from: .standard, to: .silver),
                .init(at: at("2025-03-01T00:00:00Z"), from: .silver, to: .gold),
            ])
            let events = try late.storedEvents(of: "C1")
            let correction = try #require(events.first { $0.type == "PointsCorrected" })
            let award = try #require(events.first { $0.type == "PointsAwarded" })
            guard case .pointsCorrected(let points, let corrects, .pointsAwarded, let lot, .lateFact) = correction.payload else {
                Issue.record("not an award correction: \(correction.payload)")
                return
            }
            #expect(points == 40)
            #expect(corrects == award.event.eventId)
            #expect(lot == at("2025-03-01T00:00:00Z"))
            #expect(correction.occurredAt == at("2025-03-01T00:00:00Z"))
            // The Gold correction names the recorded March upgrade it replaces.
            let marchUpgrade = try #require(events.first { $0.type == "TierChanged" })
            #expect(marchUpgrade.payload == .tierChanged(from: .standard, to: .silver, reason: .qualified))
            #expect(marchUpgrade.occurredAt == at("2025-03-01T00:00:00Z"))
            #expect(events.contains { $0.payload == .tierChanged(from: .silver, to: .gold, reason: .corrected, corrects: marchUpgrade.event.eventId) })
            #expect(events.allSatisfy { event in
                guard case .tierChanged(_, _, let reason, let corrects) = event.payload else { return true }
                return (reason == .corrected) == (corrects != nil)
            })
            #expect(events.contains { $0.payload == .tierChanged(from: .standard, to: .silver, reason: .qualified) && $0.occurredAt == at("2025-02-01T00:00:00Z") })
            // history --as-of 15 February: the world as now known, Silver since 1 February.
            let asOf = try late.streams.fold("C1", asOf: at("2025-02-15T00:00:00Z"))
            #expect(asOf.tier == .silver)
            #expect(asOf.lifetimePoints == 400)
            try withTemporaryLedger(clock: lateClock) { inOrder in
                try inOrder.importEach([register, february, march])
                #expect(try inOrder.world() == world)
                #expect(try inOrder.types().contains("PointsCorrected") == false)
            }
            #expect(try late.store.verifyChain().isIntact)
        }
    }

    @Test("a retried late fact writes nothing twice")
    func retryIsIdempotent() throws {
        try withTemporaryLedger(clock: lateClock) { ledger in
            let late = depositLine("2025-02-01T00:00:00Z", "400000.00", id: "5b0f3a52-6c1e-4a8b-9d4f-0a1b2c3d4e5f")
            try ledger.importEach([registrationLine("C1", "2025-01-01T00:00:00Z"), depositLine("2025-03-01T00:00:00Z", "200000.00"), late])
            let before = try ledger.fingerprint()
            let report = try ledger.importLines([late])
            #expect(report.alreadyStored == 1)
            #expect(try ledger.fingerprint() == before)
        }
    }

    @Test("a late withdrawal undoes an upgrade")
    func lateWithdrawalUndoesUpgrade() throws {
        let lines = [
            registrationLine("C1", "2025-01-01T00:00:00Z"),
            depositLine("2025-01-10T00:00:00Z", "150000.00"),
            line("FundsWithdrawn", "C1", "2025-01-05T00:00:00Z", "{\"amount\":100000.00}"),
        ]
        try withTemporaryLedger(clock: lateClock) { late in
            try late.importEach(lines)
            let world = try late.world()
            #expect(world.tier == .standard)
            #expect(world.history.isEmpty)
            let events = try late.storedEvents(of: "C1")
            let upgrade = try #require(events.first { $0.payload == .tierChanged(from: .standard, to: .silver, reason: .qualified) })
            let correction = try #require(events.first { $0.type == "TierChanged" && $0.event.eventId != upgrade.event.eventId })
            // Dated at the upgrade that should not have happened, and naming it.
            #expect(correction.payload == .tierChanged(from: .silver, to: .standard, reason: .corrected, corrects: upgrade.event.eventId))
            #expect(correction.occurredAt == upgrade.occurredAt)
            #expect(correction.event.schemaVersion == 2)
            try withTemporaryLedger(clock: lateClock) { inOrder in
                try inOrder.importEach([lines[0], lines[2], lines[1]])
                #expect(try inOrder.world() == world)
            }
        }
    }

    @Test("an upgrade the record never had names the fact at its moment in corrects")
    func correctedUpgradeWithoutRecordedChange() throws {
        let lines = [
            registrationLine("C1", "2025-01-01T00:00:00Z"),
            depositLine("2025-03-01T00:00:00Z", "60000.00"),
            depositLine("2025-02-01T00:00:00Z", "50000.00"),  // late: 110,000.00 of assets on 1 March
        ]
        try withTemporaryLedger(clock: lateClock) { late in
            try late.importEach(lines)
            let world = try late.world()
            #expect(world.history == [.init(at: at("2025-03-01T00:00:00Z"), from: .standard, to: .silver)])
            let events = try late.storedEvents(of: "C1")
            let march = try #require(events.first { $0.type == "FundsDeposited" && $0.occurredAt == at("2025-03-01T00:00:00Z") })
            let change = try #require(events.first { $0.type == "TierChanged" })
            #expect(change.payload == .tierChanged(from: .standard, to: .silver, reason: .corrected, corrects: march.event.eventId))
            #expect(change.occurredAt == at("2025-03-01T00:00:00Z"))
            try withTemporaryLedger(clock: lateClock) { inOrder in
                try inOrder.importEach([lines[0], lines[2], lines[1]])
                #expect(try inOrder.world() == world)
            }
        }
    }

    @Test("a late survey in an already-rewarded quarter takes the award; the later one loses it")
    func lateSurveySameQuarter() throws {
        let lines = [
            registrationLine("C1", "2025-01-01T00:00:00Z"),
            line("SurveyAnswered", "C1", "2025-03-01T00:00:00Z", "{\"nps\":9}"),
            line("SurveyAnswered", "C1", "2025-02-01T00:00:00Z", "{\"nps\":7}"),
        ]
        try withTemporaryLedger(clock: lateClock) { late in
            try late.importEach(lines)
            let world = try late.world()
            #expect(world.lifetime == 50)
            #expect(world.lots.map(\.awardedAt) == [at("2025-02-01T00:00:00Z")])
            #expect(try late.storedEvents(of: "C1").contains {
                if case .pointsCorrected(-50, _, .pointsAwarded, _, _) = $0.payload { return true }
                return false
            })
            try withTemporaryLedger(clock: lateClock) { inOrder in
                try inOrder.importEach([lines[0], lines[2], lines[1]])
                #expect(try inOrder.world() == world)
            }
        }
    }

    @Test("a late redemption that would have overdrawn at its moment is refused, naming it")
    func lateRedemptionOverdraws() throws {
        try withTemporaryLedger(clock: lateClock) { ledger in
            try ledger.importEach([registrationLine("C1", "2025-01-01T00:00:00Z"), depositLine("2025-03-01T00:00:00Z", "100000.00")])
            let before = try ledger.fingerprint()
            let id = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
            // 100 points today, none on 15 February.
            let early = line("PointsRedeemed", "C1", "2025-02-15T00:00:00Z", "{\"points\":10,\"reward\":\"Voucher\"}", eventId: id)
            #expect {
                try ledger.importLines([early])
            } throws: { error in
                guard let error = error as? InputError else { return false }
                return error.field == "data.points" && error.problem.contains(id) && error.problem.contains("0 available")
            }
            // A late redemption that leaves a recorded later one without points.
            try ledger.importEach([line("PointsRedeemed", "C1", "2025-04-01T00:00:00Z", "{\"points\":80,\"reward\":\"Voucher\"}")])
            let middle = line("PointsRedeemed", "C1", "2025-03-15T00:00:00Z", "{\"points\":50,\"reward\":\"Voucher\"}", eventId: id)
            let afterSecond = try ledger.fingerprint()
            #expect {
                try ledger.importLines([middle])
            } throws: { error in
                guard let error = error as? InputError else { return false }
                return error.problem.contains(id) && error.problem.contains("PointsRedeemed")
            }
            #expect(try ledger.fingerprint() == afterSecond)
            #expect(before.rows + 1 == afterSecond.rows)
        }
    }

    @Test("a late fact after tiers evaluate corrects a downgrade that should not have happened")
    func lateFactAfterEvaluation() throws {
        let register = registrationLine("C1", "2024-01-01T00:00:00Z")
        let deposit = depositLine("2024-01-10T00:00:00Z", "150000.00")
        let withdrawal = line("FundsWithdrawn", "C1", "2024-06-01T00:00:00Z", "{\"amount\":100000.00}")
        let lateDeposit = depositLine("2024-12-01T00:00:00Z", "100000.00")
        let evaluation = at("2025-02-01T23:59:59.999Z")
        try withTemporaryLedger(clock: lateClock) { late in
            try late.importEach([register, deposit, withdrawal])
            _ = try late.evaluateTiers(asOf: evaluation)
            #expect(try late.world().tier == .standard)
            try late.importEach([lateDeposit])
            let world = try late.world()
            #expect(world.tier == .silver)
            #expect(world.history == [.init(at: at("2024-01-10T00:00:00Z"), from: .standard, to: .silver)])
            try withTemporaryLedger(clock: lateClock) { inOrder in
                try inOrder.importEach([register, deposit, withdrawal, lateDeposit])
                _ = try inOrder.evaluateTiers(asOf: evaluation)
                #expect(try inOrder.world() == world)
            }
        }
    }

    @Test("a late fact after points expire: a late lot expires, a late redemption reduces what expired")
    func lateFactAfterExpiry() throws {
        let register = registrationLine("C1", "2024-01-01T00:00:00Z")
        let deposit = depositLine("2024-01-10T00:00:00Z", "100000.00")
        let lateDeposit = depositLine("2024-01-05T00:00:00Z", "50000.00")
        let lateRedemption = line("PointsRedeemed", "C1", "2024-06-01T00:00:00Z", "{\"points\":30,\"reward\":\"Voucher\"}")
        let expiry = at("2026-02-01T23:59:59.999Z")
        try withTemporaryLedger(clock: lateClock) { late in
            try late.importEach([register, deposit])
            _ = try late.expirePoints(asOf: expiry)
            #expect(try late.world().expired == 100)
            try late.importEach([lateDeposit, lateRedemption])
            let world = try late.world()
            #expect(world.expired == 120)
            #expect(world.redeemed == 30)
            #expect(world.available == 0)
            #expect(world.lots.allSatisfy { $0.remaining == 0 })
            try withTemporaryLedger(clock: lateClock) { inOrder in
                try inOrder.importEach([register, lateDeposit, deposit, lateRedemption])
                _ = try inOrder.expirePoints(asOf: expiry)
                #expect(try inOrder.world() == world)
            }
        }
    }

    /// The minimal case the property found: a redemption recorded before a lot that is
    /// older in world time takes that lot first (FIFO by `occurredAt`), and an expiry
    /// recorded on the old allocation is corrected by a new decision.
    @Test("a late lot older than the lot a recorded redemption took from is consumed first")
    func lateLotConsumedFirst() throws {
        let register = registrationLine("C1", "2024-01-01T00:00:00Z")
        let newer = depositLine("2024-01-01T00:00:00.002Z", "100000.00")  // 100 points
        let redemption = line("PointsRedeemed", "C1", "2024-01-02T00:00:00Z", "{\"points\":60,\"reward\":\"Voucher\"}")
        let older = depositLine("2024-01-01T00:00:00.001Z", "50000.00")  // 50 points, late
        let remaining = { (world: WorldSummary) in world.lots.map { "\($0.awardedAt.iso8601):\($0.remaining)" } }
        try withTemporaryLedger(clock: lateClock) { late in
            try late.importEach([register, newer, redemption, older])
            let world = try late.world(at: at("2024-06-01T00:00:00Z"))
            #expect(remaining(world) == ["2024-01-01T00:00:00.001Z:0", "2024-01-01T00:00:00.002Z:90"])
            try withTemporaryLedger(clock: lateClock) { inOrder in
                try inOrder.importEach([register, older, newer, redemption])
                #expect(try inOrder.world(at: at("2024-06-01T00:00:00Z")) == world)
            }
        }
        // The same after the newer lot's expiry was recorded with 40 points left: 90 expire.
        let expiry = at("2026-01-02T00:00:00Z")
        try withTemporaryLedger(clock: lateClock) { late in
            try late.importEach([register, newer, redemption])
            _ = try late.expirePoints(asOf: expiry)
            #expect(try late.world().expired == 40)
            let before = try late.storedEvents(of: "C1")
            try late.importEach([older])
            let events = try late.storedEvents(of: "C1")
            #expect(Array(events.prefix(before.count)).map(\.event.eventId) == before.map(\.event.eventId), "recorded events stay")
            let expired = try #require(before.first { $0.type == "PointsExpired" })
            #expect(events.contains {
                $0.payload == .pointsCorrected(
                    points: 50, corrects: expired.event.eventId, decision: .pointsExpired,
                    lotAwardedAt: at("2024-01-01T00:00:00.002Z"), reason: .lateFact)
            })
            #expect(!events.dropFirst(before.count).contains { $0.type == "PointsExpired" }, "the late lot was used up before it ended")
            let world = try late.world(at: expiry)
            #expect(world.expired == 90)
            #expect(world.available == 0)
            try withTemporaryLedger(clock: lateClock) { inOrder in
                try inOrder.importEach([register, older, newer, redemption])
                _ = try inOrder.expirePoints(asOf: expiry)
                #expect(try inOrder.world(at: expiry) == world)
            }
        }
    }
}

// MARK: - Property: any recording order gives the same world

/// One random fact of a history (kind 5, a redemption, only in `lateStepsWithRedemptions`).
struct LateStep: Sendable, CustomStringConvertible {
    var kind: Int
    var size: Int64
    var scale: Int
    var dayOffset: Int64
    var minute: Int64

    var payload: EventPayload {
        var magnitude = size
        for _ in 0..<scale { magnitude *= 10 }
        switch kind {
        case 0: return .fundsDeposited(amount: Money(cents: magnitude * 1000))
        case 1: return .fundsWithdrawn(amount: Money(cents: magnitude * 500))
        case 2: return .tradeExecuted(orderId: "O-\(size)", productId: "EQ-600519", notional: Money(cents: magnitude * 1000))
        case 3: return .productPurchased(productId: "FUND-03", amount: Money(cents: magnitude * 100))
        case 4: return .surveyAnswered(nps: size % 11)
        default: return .pointsRedeemed(points: size, reward: "Voucher")
        }
    }

    var description: String { "day \(dayOffset) \(payload)" }
}

let lateSteps = zip(Gen.int(in: 0...4), Gen.int64(in: 1...999), Gen.int(in: 0...3), Gen.int64(in: 1...700), Gen.int64(in: 0...1439))
    .map { LateStep(kind: $0.0, size: $0.1, scale: $0.2, dayOffset: $0.3, minute: $0.4) }
    .array(of: 3...25)

/// Longer histories (lots expire) with redemptions.
let lateStepsWithRedemptions = zip(Gen.int(in: 0...5), Gen.int64(in: 1...999), Gen.int(in: 0...3), Gen.int64(in: 1...1600), Gen.int64(in: 0...1439))
    .map { LateStep(kind: $0.0, size: $0.1, scale: $0.2, dayOffset: $0.3, minute: $0.4) }
    .array(of: 3...25)

@Suite("Property: late facts")
struct LateFactPropertyTests {
    @Test("the same facts imported in time order and in a random order end in the same world")
    func anyOrderSameWorld() async {
        await propertyCheck(count: 25, input: zip(lateSteps, Gen.int(in: 0...1_000_000))) { steps, seed in
            try Self.check(steps, seed: seed)
        }
    }

    /// Consumptions take lots in world time (`lateLotConsumedFirst` is the minimal case this
    /// property once found: deposits at t+2 ms, a redemption at t+1 day, a deposit at t+1 ms).
    @Test("with redemptions and expiry: the same world in any order of the accepted facts")
    func anyOrderWithRedemptions() async {
        await propertyCheck(count: 25, input: zip(lateStepsWithRedemptions, Gen.int(in: 0...1_000_000))) { steps, seed in
            try Self.check(steps, seed: seed)
        }
    }

    static func check(_ steps: [LateStep], seed: Int) throws {
        do {  // swiftlint:disable:this redundant_do
            let start = at("2024-01-01T00:00:00Z")
            var lines: [(Timestamp, String)] = []
            for (index, step) in steps.enumerated() {
                let moment = Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + step.dayOffset * Timestamp.millisecondsPerDay + step.minute * 60_000 + Int64(index))
                lines.append((moment, "{\"type\":\"\(step.payload.type.rawValue)\",\"clientId\":\"C1\",\"occurredAt\":\"\(moment.iso8601)\",\"data\":\(step.payload.dataJSON)}"))
            }
            var generator = SplitMix(seed: UInt64(seed))
            let register = registrationLine("C1", "2024-01-01T00:00:00Z")
            try withTemporaryLedger(clock: lateClock) { ordered in
                // Facts refused in time order (redemptions beyond the balance) are left out.
                try ordered.importLines([register])
                var accepted: [String] = []
                for text in lines.sorted(by: { $0.0 < $1.0 }).map(\.1) {
                    do { try ordered.importLines([text]); accepted.append(text) } catch is InputError {}
                }
                let shuffled = accepted.shuffled(using: &generator)
                let expected = try ordered.world(at: at("2028-06-01T00:00:00Z"))
                try withTemporaryLedger(clock: lateClock) { random in
                    try random.importEach([register])
                    var retry: [String] = []
                    for text in shuffled {
                        // A random order may refuse a redemption that time order accepted
                        // (its points arrive later): it is imported again at the end.
                        do { try random.importLines([text]) } catch is InputError { retry.append(text) }
                    }
                    for text in retry { try random.importLines([text]) }
                    #expect(try random.world(at: at("2028-06-01T00:00:00Z")) == expected, "order: \(shuffled)")
                    #expect(try random.store.verifyChain().isIntact)
                }
                #expect(try ordered.store.verifyChain().isIntact)
            }
        }
    }
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Late facts inside one import, with the planned events moved out of memory")
struct LateFactSpillTests {
    /// An import keeps the events it has planned (not yet visible to its reading connection)
    /// in a temporary file past a buffer; a late fact in the same import reads its client's
    /// planned events back from there. With a buffer of a few bytes every record is read
    /// from the file, and the world must be the one of the same facts in time order.
    @Test("a late fact in the same import as the events it corrects, read back from the spill file")
    func lateFactReadsSpilledEvents() throws {
        var lines = [registrationLine("C1", "2025-01-01T00:00:00Z"), registrationLine("C2", "2025-01-01T00:00:00Z")]
        for day in 1...20 {
            let date = "2025-03-\(day < 10 ? "0" : "")\(day)T00:00:00Z"
            lines.append(depositLine(date, "\(day * 10_000).00"))
            lines.append(line("FundsDeposited", "C2", date, "{\"amount\":5000.00}"))
        }
        let late = depositLine("2025-02-01T00:00:00Z", "400000.00")
        try withTemporaryLedger(clock: lateClock) { spilled in
            spilled.plannedLogBufferLimit = 64
            try spilled.importLines(lines + [late])
            try withTemporaryLedger(clock: lateClock) { inOrder in
                try inOrder.importLines([lines[0], lines[1], late] + lines[2...])
                #expect(try spilled.world() == inOrder.world())
                #expect(try spilled.world("C2") == inOrder.world("C2"))
            }
            #expect(try spilled.types().contains("PointsCorrected"))
            #expect(try spilled.store.verifyChain().isIntact)
        }
    }
}
