import LedgerTestSupport
import Testing
@testable import LedgerDomain
import LedgerApplication
import LedgerCore
import LedgerStorage

/// Offboarding closes a client's stream: no fact and no job decision after it.
@Suite("Offboarded clients")
struct OffboardedClientTests {
    @Test("points expire writes nothing to an offboarded client's stream, and still expires the others")
    func expiryLeavesOffboardedAlone() throws {
        try withTemporaryLedger { ledger in
            let trade = #"{"orderId":"O-1","productId":"EQ-1","notional":100000}"#
            try ledger.importLines([
                registrationLine("C1", "2024-01-01T00:00:00Z"),
                line("TradeExecuted", "C1", "2024-01-01T10:00:00Z", trade),
                registrationLine("GONE", "2024-01-01T00:00:00Z"),
                line("TradeExecuted", "GONE", "2024-01-01T10:00:00Z", trade),
                line("ClientOffboarded", "GONE", "2024-06-01T00:00:00Z", #"{"reason":"closed"}"#),
            ])
            let gone = try ledger.clientState("GONE")
            let report = try ledger.expirePoints(asOf: at("2026-01-01T00:00:00Z"))
            #expect(report.eventsWritten == 1, "only C1's lot")
            #expect(try ledger.store.events(EventQuery(types: ["PointsExpired"])).map(\.stream) == ["client/C1"])
            let after = try ledger.clientState("GONE")
            #expect(after.version == gone.version, "nothing after the offboarding")
            #expect(after.pointsOutstanding == 1_000, "its lot stays as recorded")
            #expect(after.pointsAvailable(at: at("2026-01-01T00:00:00Z")) == 0, "and none of it is available")
            #expect(after.pointsAvailable(at: at("2024-07-01T00:00:00Z")) == 0)
        }
    }

    @Test("the lazy expiry before the offboarding still expires what had ended by then")
    func offboardingExpiresEndedLotsFirst() throws {
        var client = TestClient("C1", registeredAt: "2024-01-01T00:00:00Z")
        try client.process(trade(10_000_000), at: "2024-01-02T00:00:00Z")
        let planned = try client.process(.clientOffboarded(reason: "closed"), at: "2026-06-01T00:00:00Z")
        #expect(expiries(planned) == [1_000])
        #expect(LoyaltyPolicy.periodicExpiries(state: client.state, asOf: at("2026-07-01T00:00:00Z")).isEmpty)
    }
}
