import LedgerTestSupport
import Testing
@testable import LedgerDomain
import LedgerApplication
import LedgerCore
import LedgerStorage

/// Reading a client as of a moment: the version at the cut and a cut before the registration.
@Suite("A client as of a moment")
struct AsOfReadTests {
    /// Registered 2023-01-01; a 2026 deposit (and its award) recorded before a backdated 2023
    /// deposit (its award, the 2026 award's correction to Silver's ×1.2, the expiry of the
    /// 2023 lot before the 2026 deposit, and Silver from 2023 on): the events that occurred
    /// by 2024 are versions 1, 4, 5 and 8 (late facts, rules.md).
    static let lines = [
        registrationLine("C1", "2023-01-01T09:00:00Z"),
        line("FundsDeposited", "C1", "2026-03-01T09:00:00Z", #"{"amount":50000.00}"#),
        line("FundsDeposited", "C1", "2023-02-01T09:00:00Z", #"{"amount":100000.00}"#),
    ]

    @Test("the state as of a cut carries the stream version of the last event in the cut, not a count")
    func versionAtCut() throws {
        try withTemporaryLedger { ledger in
            try ledger.importLines(Self.lines)
            let cut = at("2024-01-01T00:00:00Z")
            let inCut = try ledger.store.events(EventQuery(stream: "client/C1", occurredTo: cut)).map(\.version)
            #expect(inCut == [1, 4, 5, 8])
            #expect(try ledger.clientState("C1", asOf: cut).version == 8)
            #expect(try ledger.clientState("C1").version == 8, "no cut: the last version")
            #expect(try ledger.history("C1", asOf: cut).map(\.stateAfter.version) == [1, 4, 5, 8])
        }
    }

    @Test("a cut before the registration is 'not registered yet', a client without events is unknown")
    func beforeRegistration() throws {
        try withTemporaryLedger { ledger in
            try ledger.importLines(Self.lines)
            guard case .notYetRegistered = try ledger.readClient("C1", asOf: at("2022-06-01T00:00:00Z")) else {
                Issue.record("a cut before the registration should be notYetRegistered")
                return
            }
            guard case .registered(let state) = try ledger.readClient("C1", asOf: at("2023-01-01T09:00:00Z")) else {
                Issue.record("registered at the cut's very moment")
                return
            }
            #expect(state.version == 1)
            guard case .unknown = try ledger.readClient("C2", asOf: at("2022-06-01T00:00:00Z")) else {
                Issue.record("C2 has no events")
                return
            }
            guard case .unknown = try ledger.readClient("C2") else {
                Issue.record("C2 has no events")
                return
            }
        }
    }
}
