import PropertyBased
import LedgerTestSupport
import Testing
@testable import LedgerDomain
import LedgerCore

/// "Points available at t" is exactly the largest redemption `LoyaltyPolicy` accepts at t:
/// a lot that has ended is not available whether or not its `PointsExpired` is recorded.
@Suite("Points available at a moment")
struct AvailablePointsTests {
    /// Moments to ask about, as minutes after the registration: up to ~9 years, beyond the
    /// end of every lot of the longest random history.
    static let askedMinutes = Gen.int64(in: 0...5_000_000).array(of: 1...6)

    @Test("available(t) equals the largest redemption LoyaltyPolicy accepts at t, over random histories and moments")
    func availableIsLargestAcceptedRedemption() async {
        await propertyCheck(count: 300, input: randomStepsWithBackdating, Self.askedMinutes, Gen.bool(0.2)) { steps, minutes, offboard in
            let client = Self.history(steps, offboard: offboard)
            var moments = minutes.map { propertyStart.addingMinutes($0) }
            // The boundary of every lot: the moment it ends and the millisecond before.
            for lot in client.state.lots {
                moments.append(lot.expiresAt)
                moments.append(Timestamp(millisecondsSinceEpoch: lot.expiresAt.millisecondsSinceEpoch - 1))
            }
            for moment in moments where moment >= propertyStart {
                Self.checkAvailable(client, at: moment)
            }
        }
    }

    /// A random history through the policies (refused steps are skipped), optionally ending
    /// with an offboarding.
    static func history(_ steps: [RandomStep], offboard: Bool) -> TestClient {
        var client = TestClient("P1", registeredAt: "2024-01-01T00:00:00Z")
        var moment = propertyStart
        for step in steps {
            moment = nextMoment(after: moment, step)
            _ = try? client.process(step.payload, at: moment)
        }
        if offboard { _ = try? client.process(.clientOffboarded(reason: "closed"), at: moment) }
        return client
    }

    static func checkAvailable(_ client: TestClient, at moment: Timestamp, sourceLocation: SourceLocation = #_sourceLocation) {
        let state = client.state
        let available = state.pointsAvailable(at: moment)
        #expect(available >= 0, sourceLocation: sourceLocation)
        #expect(available <= state.pointsOutstanding, sourceLocation: sourceLocation)
        #expect(available == state.availableLots(at: moment).reduce(0) { $0 + $1.remaining }, "the lots shown add up", sourceLocation: sourceLocation)
        #expect(state.availableLots(at: moment).allSatisfy { $0.expiresAt > moment }, sourceLocation: sourceLocation)
        // Expiring within 90 days is a part of what is available: an ended lot is in neither.
        let expiring = state.pointsExpiring(after: moment, withinDays: 90)
        let later = state.availableLots(at: moment).filter { $0.expiresAt > moment.adding(days: 90) }.reduce(0) { $0 + $1.remaining }
        #expect(expiring + later == available, "expiring \(expiring) + later \(later) ≠ available \(available)", sourceLocation: sourceLocation)

        // One point more is refused, for a redemption and for a negative adjustment alike.
        for tooMuch in [redeem(available + 1), adjust(-(available + 1))] {
            var attempt = client
            #expect(throws: FieldError.self, "\(tooMuch) at \(moment.iso8601) with \(available) available", sourceLocation: sourceLocation) {
                try attempt.process(tooMuch, at: moment)
            }
            #expect(attempt.state.version == state.version, sourceLocation: sourceLocation)
        }
        // Exactly the points available is accepted, and leaves none. Only for a moment at or
        // after the client's last event: a redemption dated earlier is a late fact, judged by
        // `LateFactPolicy`, and in world time it may take an older lot whose recorded expiry
        // its correction then reduces (LateFactTests cover that).
        guard available > 0, state.lastEventAt.map({ moment >= $0 }) ?? true else { return }
        for exact in [redeem(available), adjust(-available)] {
            var attempt = client
            do throws(FieldError) {
                try attempt.process(exact, at: moment)
                #expect(attempt.state.pointsAvailable(at: moment) == 0, sourceLocation: sourceLocation)
            } catch {
                Issue.record("\(exact) at \(moment.iso8601) with \(available) available was refused: \(error)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("a lot counts until the millisecond before it ends, and not at its end, before any PointsExpired")
    func boundary() throws {
        var client = TestClient("C1", registeredAt: "2024-01-01T00:00:00Z")
        try client.process(trade(10_000_000), at: "2024-02-01T00:00:00Z")  // 1,000 points, ends 2026-01-31
        try client.process(trade(5_000_000), at: "2025-06-01T00:00:00Z")  // 500 × 1.0, ends 2027-06-01
        let end = at("2026-01-31T00:00:00Z")
        let before = Timestamp(millisecondsSinceEpoch: end.millisecondsSinceEpoch - 1)
        #expect(client.state.pointsOutstanding == 1_500, "nothing recorded as expired yet")
        #expect(client.state.pointsAvailable(at: before) == 1_500)
        #expect(client.state.pointsAvailable(at: end) == 500)
        #expect(client.state.availableLots(at: end).map(\.remaining) == [500])
        #expect(client.state.pointsExpiring(after: before, withinDays: 90) == 1_000)
        #expect(client.state.pointsExpiring(after: end, withinDays: 90) == 0, "an ended lot is not counted as expiring")
        Self.checkAvailable(client, at: before)
        Self.checkAvailable(client, at: end)
    }

    @Test("an offboarded client has no points available: nothing can be redeemed")
    func offboarded() throws {
        var client = TestClient("C1", registeredAt: "2024-01-01T00:00:00Z")
        try client.process(trade(10_000_000), at: "2024-02-01T00:00:00Z")
        try client.process(.clientOffboarded(reason: "closed"), at: "2024-03-01T00:00:00Z")
        let moment = at("2024-04-01T00:00:00Z")
        #expect(client.state.pointsOutstanding == 1_000)
        #expect(client.state.pointsAvailable(at: moment) == 0)
        #expect(client.state.pointsExpiring(after: moment, withinDays: 900) == 0)
        #expect(client.state.availableLots(at: moment).isEmpty)
        Self.checkAvailable(client, at: moment)
    }
}

extension Timestamp {
    func addingMinutes(_ minutes: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + minutes * 60_000)
    }
}
