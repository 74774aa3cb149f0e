import LedgerTestSupport
import Testing
@testable import LedgerDomain
import LedgerApplication
import LedgerCore
import LedgerStorage

/// Ids the ledger derives: facts without an eventId from their content, decisions from
/// their cause, never blocked by a fact.
@Suite("Derived event ids")
struct DerivedIdTests {
    @Test("derived event ids come from the content in canonical form: stable, and the same for a reformatted line")
    func derivedIds() throws {
        let survey = line("SurveyAnswered", "C1", "2026-01-02T00:00:00Z", #"{"nps":9}"#)
        let text = [registrationLine("C1", "2026-01-01T00:00:00Z"), survey].joined(separator: "\n")
        let first = try parseLines(text)
        let second = try parseLines(text)
        #expect(first.map(\.eventId) == second.map(\.eventId))
        #expect(Set(first.map(\.eventId)).count == 2)
        for event in first {
            #expect(EventID.normalized(event.eventId) == event.eventId)
            #expect(event.idWasDerived)
        }
        // The id depends on the content, not on the line's position or bytes.
        let alone = try parseLines(survey)
        #expect(alone.map(\.eventId) == [first[1].eventId])
        let reformatted = [
            #" { "data" : { "nps" : 9.0 } , "occurredAt" : "2026-01-02T08:00:00+08:00", "clientId":"C1", "type":"SurveyAnswered", "metadata":{} } "#,
            #"{"type":"SurveyAnswered","clientId":"C1","occurredAt":"2026-01-02","data":{"nps":9}}"#,
            #"{"type":"Survey\u0041nswered","clientId":"C\u0031","occurredAt":"2026-01-02T00:00:00.000Z","data":{"nps":9}}"#,
        ]
        for text in reformatted {
            #expect(try parseLines(text).map(\.eventId) == [first[1].eventId], "\(text)")
        }
        // An amount written with other decimals, and an old schema version, are the same fact.
        let deposit = try parseLines(line("FundsDeposited", "C1", "2026-01-02T00:00:00Z", #"{"amount":5000}"#))
        #expect(try parseLines(line("FundsDeposited", "C1", "2026-01-02T00:00:00Z", #"{"amount":5000.000}"#)).map(\.eventId) == deposit.map(\.eventId))
        let v1 = try parseLines(#"{"type":"RiskAssessed","clientId":"C1","occurredAt":"2026-01-02T00:00:00Z","schemaVersion":1,"data":{"level":"C2","score":40}}"#)
        let v2 = try parseLines(line("RiskAssessed", "C1", "2026-01-02T00:00:00Z", #"{"level":"C2","score":40,"lowestCategory":false}"#))
        #expect(v1.map(\.eventId) == v2.map(\.eventId))
        // Any difference of type, subject, moment, data or metadata gives another id.
        let others = [
            line("SurveyAnswered", "C1", "2026-01-02T00:00:00Z", #"{"nps":8}"#),
            line("SurveyAnswered", "C2", "2026-01-02T00:00:00Z", #"{"nps":9}"#),
            line("SurveyAnswered", "C1", "2026-01-02T00:00:00.001Z", #"{"nps":9}"#),
            #"{"type":"SurveyAnswered","clientId":"C1","occurredAt":"2026-01-02T00:00:00Z","data":{"nps":9},"metadata":{"actor":"crm"}}"#,
        ]
        var ids: Set<String> = [first[1].eventId]
        for other in others { ids.insert(try parseLines(other)[0].eventId) }
        #expect(ids.count == others.count + 1)
        // The canonical form, as docs/event-log.md writes it down.
        #expect(first[1].eventId == EventID.derived(from: "clientledger/fact\nSurveyAnswered\nclient/C1\n2026-01-02T00:00:00.000Z\n{\"nps\":9}\n{}"))
    }

    @Test("two lines with the same content and no eventId are the same fact: the input is refused, naming both lines")
    func identicalLinesRefused() throws {
        let survey = line("SurveyAnswered", "C1", "2026-01-02T00:00:00Z", #"{"nps":9}"#)
        let copy = #"{"data":{"nps":9},"type":"SurveyAnswered","clientId":"C1","occurredAt":"2026-01-02T00:00:00Z"}"#
        let text = [registrationLine("C1", "2026-01-01T00:00:00Z"), survey, "", copy].joined(separator: "\n")
        do {
            _ = try parseLines(text)
            Issue.record("two copies of one fact were accepted")
        } catch {
            #expect(error.line == 4)
            #expect(error.field == "eventId")
            #expect(error.problem.contains("line 2"), "\(error)")
            #expect(error.problem.contains("its own eventId"), "\(error)")
        }
        // With their own ids, two equal facts are two facts.
        let two = [
            registrationLine("C1", "2026-01-01T00:00:00Z"),
            line("SurveyAnswered", "C1", "2026-01-02T00:00:00Z", #"{"nps":9}"#, eventId: "0a1b2c3d-0000-4000-8000-000000000001"),
            line("SurveyAnswered", "C1", "2026-01-02T00:00:00Z", #"{"nps":9}"#, eventId: "0a1b2c3d-0000-4000-8000-000000000002"),
        ]
        #expect(try parseLines(two.joined(separator: "\n")).count == 3)
    }

    // MARK: - Decisions are never pre-empted or blocked by a fact

    static let tradeId = "21111111-2222-4333-8444-555555555555"
    static let trade = line(
        "TradeExecuted", "C1", "2025-02-01T09:00:00Z", #"{"orderId":"O1","productId":"EQ-1","notional":10000.00}"#, eventId: tradeId)
    /// The id the trade's award gets when nothing holds it (pinned: ids of old ledgers stay valid).
    static let awardId = EventID.derived(from: "clientledger/decision\n\(tradeId)\n0")

    static func visit(_ at: String, id: String) -> String {
        line("InteractionLogged", "C1", at, #"{"channel":"app","kind":"inquiry"}"#, eventId: id)
    }

    /// The trade's awards: (eventId, causationId).
    static func awards(_ ledger: Ledger) throws -> [(id: String, cause: String?)] {
        try ledger.store.events(EventQuery(types: ["PointsAwarded"])).map { ($0.eventId, EventMetadata(json: $0.metadata).causationId) }
    }

    @Test("a fact holding the id the award would get: the award takes the next id of its sequence",
          arguments: ["two imports", "one input", "pipeline"])
    func factDoesNotBlockAward(path: String) throws {
        try withTemporaryLedger { ledger in
            let first = [registrationLine("C1", "2025-01-01T09:00:00Z"), Self.visit("2025-01-15T09:00:00Z", id: Self.awardId)]
            switch path {
            case "two imports":
                try ledger.importLines(first)
                try ledger.importLines([Self.trade])
            case "one input":
                try ledger.importLines(first + [Self.trade])
            default:
                let bytes = Array((first + [Self.trade]).joined(separator: "\n").utf8)
                _ = try bytes.withUnsafeBufferPointer { try ledger.importJSONLines($0) }
            }
            let awards = try Self.awards(ledger)
            #expect(awards.count == 1)
            #expect(awards.first?.cause == Self.tradeId)
            #expect(awards.first?.id == Ledger.decisionId(name: "clientledger/decision\n\(Self.tradeId)\n0", attempt: 1))
            #expect(try ledger.store.storedEvent(id: Self.awardId)?.type == "InteractionLogged")
            #expect(try ledger.store.verifyChain().isIntact)
            // A retry of the trade is already stored, and writes no second award.
            let before = try ledger.fingerprint()
            #expect(try ledger.importLines([Self.trade]).alreadyStored == 1)
            #expect(try ledger.fingerprint() == before)
        }
    }

    @Test("a fact that comes after a decision of the same input and carries its id is refused, naming its line")
    func factAfterDecisionRefused() throws {
        try withTemporaryLedger { ledger in
            try ledger.importLines([registrationLine("C1", "2025-01-01T09:00:00Z")])
            let before = try ledger.fingerprint()
            do {
                try ledger.importLines([Self.trade, Self.visit("2025-02-15T09:00:00Z", id: Self.awardId)])
                Issue.record("a fact reused the id of a decision written before it")
            } catch let error as InputError {
                #expect(error.line == 2, "\(error)")
                #expect(error.field == "eventId", "\(error)")
            }
            #expect(try ledger.fingerprint() == before)
        }
    }

    @Test("a fact holding the id of a periodic job's decision: the job still writes it, and a re-run writes nothing")
    func factDoesNotBlockJobDecision() throws {
        try withTemporaryLedger(clock: FixedClock(at("2028-01-01T00:00:00Z"))) { ledger in
            let asOf = at("2027-03-01T00:00:00Z")
            let cause = EventID.derived(from: "clientledger/job\npoints-expire\n\(asOf.iso8601)")
            let expiryId = EventID.derived(from: "clientledger/decision\n\(cause)/C1\n0")
            try ledger.importLines([
                registrationLine("C1", "2025-01-01T09:00:00Z"), Self.trade,
                registrationLine("C2", "2025-01-01T09:00:00Z"),
                line("InteractionLogged", "C2", "2025-01-15T09:00:00Z", #"{"channel":"app","kind":"inquiry"}"#, eventId: expiryId),
            ])
            let written = try ledger.expirePoints(asOf: asOf)
            #expect(written.eventsWritten == 1, "the award of 2025-02-01 ends 2027-02-01")
            let expired = try ledger.store.events(EventQuery(types: ["PointsExpired"]))
            #expect(expired.map(\.stream) == ["client/C1"])
            #expect(expired.first?.eventId != expiryId)
            #expect(try ledger.clientState("C1").pointsOutstanding == 0)
            let before = try ledger.fingerprint()
            #expect(try ledger.expirePoints(asOf: asOf).eventsWritten == 0)
            #expect(try ledger.fingerprint() == before)
        }
    }
}
