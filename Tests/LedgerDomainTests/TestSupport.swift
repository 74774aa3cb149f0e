import Foundation
import LedgerTestSupport
import Testing
@testable import LedgerDomain
import LedgerApplication
import LedgerCore
import LedgerSQLite
import LedgerStorage

// MARK: - Rules and moments

/// The default rules of SPEC §4, loaded once for every test.
let defaultRules: Rules = try! Rules.defaults()


// MARK: - A temporary ledger on a file

/// A ledger on a fresh temporary database file, removed (with its WAL files) afterwards.
/// `clock` is the ledger's "now" (facts dated after it are refused).
func withTemporaryLedger<R>(rules: Rules = defaultRules, clock: any LedgerClock = SystemClock(), _ body: (Ledger) throws -> R) throws -> R {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("clientledger-domain-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("ledger.sqlite").path
    let (log, created) = try SQLiteEventStore.create(at: path)
    #expect(created)
    let ledger = Ledger(store: log, rules: rules, clock: clock)
    return try body(ledger)
}

/// Everything that identifies the log's content: head position, head hash and row count.
struct LogFingerprint: Equatable {
    var position: Int64
    var hash: [UInt8]
    var rows: Int64
}

extension Ledger {
    func fingerprint() throws -> LogFingerprint {
        let head = try store.head()
        return LogFingerprint(position: head.position, hash: head.hash, rows: Int64(try store.events(.all).count))
    }

    /// Parses JSON Lines and imports them in one transaction.
    @discardableResult
    func importLines(_ lines: [String]) throws -> ImportReport {
        try importEvents(try parseLines(lines.joined(separator: "\n")))
    }

    /// The stored events of one client, decoded.
    func storedEvents(of clientId: String) throws -> [(type: String, payload: EventPayload, occurredAt: Timestamp, event: RecordedEvent)] {
        try store.events(EventQuery(stream: ClientState.stream(for: clientId))).map {
            (type: $0.type, payload: try StoredEvents.payload(of: $0), occurredAt: $0.occurredMoment, event: $0)
        }
    }
}

// MARK: - Import lines

func parseLines(_ text: String) throws(InputError) -> [IncomingEvent] {
    let bytes = Array(text.utf8)
    var result: Result<[IncomingEvent], InputError> = .success([])
    bytes.withUnsafeBufferPointer { buffer in
        do throws(InputError) { result = .success(try ImportLineParser.parseAll(buffer)) } catch { result = .failure(error) }
    }
    return try result.get()
}

/// One import line for a client event.
func line(_ type: String, _ clientId: String = "C1", _ occurredAt: String, _ data: String, eventId: String? = nil) -> String {
    let id = eventId.map { "\"eventId\":\"\($0)\"," } ?? ""
    return "{\(id)\"type\":\"\(type)\",\"clientId\":\"\(clientId)\",\"occurredAt\":\"\(occurredAt)\",\"data\":\(data)}"
}

func registrationLine(_ clientId: String = "C1", _ occurredAt: String, investorType: String = "ordinary") -> String {
    line("ClientRegistered", clientId, occurredAt,
         "{\"name\":\"Test Client\",\"segment\":\"retail\",\"investorType\":\"\(investorType)\",\"branch\":\"Shanghai\"}")
}

// MARK: - In-memory clients

let registration = EventPayload.clientRegistered(name: "Test Client", segment: .retail, investorType: .ordinary, branch: "Shanghai")

/// A client registered at `registeredAt`, driven through `LoyaltyPolicy.process`.
struct TestClient {
    var state: ClientState
    let rules: Rules

    init(_ clientId: String = "C1", registeredAt: String = "2024-01-01T00:00:00Z", rules: Rules = defaultRules) {
        self.rules = rules
        state = ClientState(clientId: clientId, adjustmentLotLifetimeDays: rules.lotLifetimeDays)
        _ = try! LoyaltyPolicy.process(registration, at: at(registeredAt), state: &state, rules: rules)
    }

    @discardableResult
    mutating func process(_ fact: EventPayload, at moment: Timestamp) throws(FieldError) -> [PlannedEvent] {
        try LoyaltyPolicy.process(fact, at: moment, state: &state, rules: rules)
    }

    @discardableResult
    mutating func process(_ fact: EventPayload, at text: String) throws(FieldError) -> [PlannedEvent] {
        try process(fact, at: LedgerTestSupport.at(text))
    }
}

func yuan(_ cents: Int64) -> Money { Money(cents: cents) }

func trade(_ cents: Int64, order: String = "O-1") -> EventPayload {
    .tradeExecuted(orderId: order, productId: "EQ-600519", notional: Money(cents: cents))
}

func deposit(_ cents: Int64) -> EventPayload { .fundsDeposited(amount: Money(cents: cents)) }

func purchase(_ cents: Int64, product: String = "FUND-03") -> EventPayload {
    .productPurchased(productId: product, amount: Money(cents: cents))
}

func redeem(_ points: Int64) -> EventPayload { .pointsRedeemed(points: points, reward: "Voucher") }

func adjust(_ points: Int64) -> EventPayload { .pointsAdjusted(points: points, reason: "Correction", approvedBy: "ops") }

let survey = EventPayload.surveyAnswered(nps: 9)
let interaction = EventPayload.interactionLogged(channel: .app, kind: .inquiry)

/// The awards among planned events.
func awards(_ planned: [PlannedEvent]) -> [Int64] {
    planned.compactMap { if case .pointsAwarded(let points, _, _, _) = $0.payload { return points } else { return nil } }
}

func tierChanges(_ planned: [PlannedEvent]) -> [(from: Tier, to: Tier, reason: TierChangeReason)] {
    planned.compactMap { if case .tierChanged(let from, let to, let reason, _) = $0.payload { return (from, to, reason) } else { return nil } }
}

func expiries(_ planned: [PlannedEvent]) -> [Int64] {
    planned.compactMap { if case .pointsExpired(let points, _) = $0.payload { return points } else { return nil } }
}
