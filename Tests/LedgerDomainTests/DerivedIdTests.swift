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
}
