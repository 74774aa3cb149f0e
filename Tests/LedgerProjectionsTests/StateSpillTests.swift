import Foundation
import Testing

@testable import LedgerApplication
import LedgerCore
import LedgerDomain
import LedgerSQLite
import LedgerStorage
import LedgerTestSupport

/// An import keeps client states in memory up to a budget and sets the least recently used
/// aside in a temporary file past it. Where a state lives may change no decision.
@Suite struct StateSpillTests {
    /// A generated history (points earned, redeemed, tiers, offboardings), with some trades
    /// moved to the end: late facts, judged from the client's stream and planned events.
    static func input() -> [String] {
        var lines = generatedBatches(seed: 11).flatMap { $0 }
        var moved = 0
        var index = 60
        while index < lines.count - 1, moved < 12 {
            if lines[index].contains("\"TradeExecuted\"") {
                lines.append(lines.remove(at: index))
                moved += 1
            }
            index += 37
        }
        return lines
    }

    /// Every stored event, in log order, as text: type, id, moment and data.
    static func events(_ input: [String], residentLimit: Int?, batchSize: Int?) throws -> [String] {
        try withTemporaryLedger { store in
            let ledger = store.ledger(try defaultRules())
            if let residentLimit { ledger.clientStateResidentLimit = residentLimit }
            let bytes = Array((input.joined(separator: "\n") + "\n").utf8)
            _ = try bytes.withUnsafeBufferPointer { try ledger.importJSONLines($0, batchSize: batchSize) }
            #expect(try store.log.verifyChain().isIntact)
            // Personal data is sealed with a key of each ledger's own: its ciphertext differs.
            let sealed = /"sealed":"[0-9a-f]+"/
            return try store.log.events(.all).map { "\($0.type) \($0.eventId) \($0.occurredAt) \($0.data.replacing(sealed, with: "sealed"))" }
        }
    }

    @Test("an import whose client states are all set aside after every event (a budget of 0) stores exactly the events of one that keeps them in memory, in one transaction and batched")
    func spilledStatesDecideTheSame() throws {
        let input = Self.input()
        let inMemory = try Self.events(input, residentLimit: nil, batchSize: nil)
        #expect(inMemory.count > input.count, "the input earns points: decisions are stored beside the facts")
        #expect(inMemory.contains { $0.hasPrefix("PointsRedeemed") || $0.hasPrefix("TierChanged") })
        for batchSize in [nil, 97] {
            let spilled = try Self.events(input, residentLimit: 0, batchSize: batchSize)
            #expect(spilled.count == inMemory.count)
            let first = spilled.indices.first { $0 < inMemory.count && spilled[$0] != inMemory[$0] }
            #expect(first == nil, "batch size \(batchSize.map(String.init) ?? "none"): event \(first ?? 0) differs: \(first.map { spilled[$0] } ?? "") against \(first.map { inMemory[$0] } ?? "")")
        }
    }

    @Test("a state set aside and taken back is the same state, byte for byte in the snapshot form; its slot is reused while it fits")
    func roundTrip() throws {
        let rules = try defaultRules()
        var state = ClientState(clientId: "C0001", adjustmentLotLifetimeDays: rules.lotLifetimeDays)
        let start = at("2024-01-01T00:00:00Z")
        state.apply(.clientRegistered(name: "Ann Lee", segment: .retail, investorType: .ordinary, branch: "SH"), at: start)
        for day in 1...40 {
            _ = try LoyaltyPolicy.process(
                .tradeExecuted(orderId: "O-\(day)", productId: "EQ-1", notional: Money(cents: 1_000_000)), at: start.adding(days: Int64(day)),
                state: &state, rules: rules)
        }
        #expect(state.lots.count >= 40)
        let spill = StateSpill()
        try spill.put(state, number: 3)
        #expect(spill.count == 1)
        #expect(throws: StorageError.self, "a number's state is checked to be its client's") { try spill.take(number: 3, id: "C0002") }
        let back = try #require(try spill.take(number: 3, id: "C0001"))
        #expect(spill.count == 0)
        #expect(try spill.take(number: 3, id: "C0001") == nil, "taken states leave the file")
        var original = BinaryWriter(), copy = BinaryWriter()
        state.encode(to: &original)
        back.encode(to: &copy)
        #expect(original.bytes == copy.bytes)
        #expect(try spill.take(number: 0, id: "C0000") == nil)
        #expect(try spill.take(number: 9, id: "C0009") == nil, "past the numbers set aside")
    }

    @Test("client numbers are given in the order ids are first met, found again whatever the table's growth, and give the id back")
    func clientNumbers() throws {
        var numbers = ClientNumbers()
        let ids = (0..<5_000).map { "C\($0 * 7919 % 100_003)" } + ["", "é-client", String(repeating: "x", count: 300)]
        for (index, id) in ids.enumerated() { #expect(try numbers.number(adding: id) == index) }
        #expect(numbers.count == ids.count)
        for (index, id) in ids.enumerated().reversed() {
            #expect(numbers.number(of: id) == index)
            #expect(try numbers.number(adding: id) == index, "an id met before keeps its number")
            #expect(numbers.id(of: index) == id)
        }
        #expect(numbers.count == ids.count)
        #expect(numbers.number(of: "C100003") == nil)
        #expect(numbers.number(of: "C1 ") == nil, "a longer id sharing a prefix is another id")
        #expect(numbers.number(of: "e\u{301}-client") == nil, "ids are compared byte for byte, as the log stores them")
    }

    @Test("what a pass keeps for every client it meets counts against its budget of states: past it the states give way, down to an eighth of the budget, and every state comes back")
    func bookkeepingCountsAgainstTheBudget() throws {
        try withTemporaryLedger { store in
            let ledger = store.ledger(try defaultRules())
            let limit = 1 << 20
            var states = StateCache(ledger: ledger, reader: store.log, session: nil, logWasEmpty: true, residentLimit: limit)
            let ids = (0..<30_000).map { "C\($0)" }
            var largestResident = 0
            for id in ids {
                var state = try states.client(id)
                state.apply(.clientRegistered(name: "Ann Lee", segment: .retail, investorType: .ordinary, branch: "SH"), at: at("2024-01-01T00:00:00Z"))
                try states.store(state)
                largestResident = max(largestResident, states.residentBytes)
                #expect(states.residentBytes <= max(limit / 8, limit - states.bookkeepingBytes) + state.approximateBytes)
            }
            #expect(states.bookkeepingBytes > limit / 2, "thirty thousand clients' numbers and slots")
            #expect(states.residentBytes < limit / 4, "the states gave way to the bookkeeping")
            #expect(largestResident > limit / 2, "before the bookkeeping grew, the states had the budget")
            for id in ids.shuffled().prefix(500) { #expect(try states.client(id).clientId == id) }
        }
    }
}
