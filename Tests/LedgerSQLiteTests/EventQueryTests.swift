import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerCore
import LedgerSQLite
import LedgerStorage

@Suite("Reading the log with EventQuery")
struct EventQueryTests {
    /// Six events: A and B streams, three types, occurredAt spread over six days.
    /// Positions 1–3 are one transaction, 4–6 a later one (different recordedAt).
    static func seeded(_ log: SQLiteEventStore) throws -> (firstRecorded: String, secondRecorded: String) {
        try log.append([
            clientEvent("A", type: "ClientRegistered", at: "2026-01-01T10:00:00Z", data: #"{"name":"a"}"#),
            clientEvent("B", type: "ClientRegistered", at: "2026-01-02T10:00:00Z", data: #"{"name":"b"}"#),
            clientEvent("A", type: "FundsDeposited", at: "2026-01-03T10:00:00Z", data: #"{"amount":1.00}"#),
        ])
        let first = try #require(log.events(.all).last?.recordedAt)
        // recordedAt has millisecond precision: wait until the clock has moved on.
        while Timestamp.now().iso8601 <= first { usleep(1_000) }
        try log.append([
            clientEvent("B", type: "FundsDeposited", at: "2026-01-04T10:00:00Z", data: #"{"amount":2.00}"#),
            clientEvent("A", type: "SurveyAnswered", at: "2025-12-31T10:00:00Z", data: #"{"nps":7}"#),  // backdated
            clientEvent("A", type: "FundsDeposited", at: "2026-01-06T10:00:00Z", data: #"{"amount":3.00}"#),
        ])
        let second = try #require(log.events(.all).last?.recordedAt)
        #expect(first < second)
        return (first, second)
    }

    static func moment(_ text: String) -> Timestamp? { Timestamp(iso8601: text) }

    @Test("no filter returns every event in position order")
    func all() throws {
        try withNewLog { log, _ in
            _ = try Self.seeded(log)
            #expect(try log.events(.all).map(\.position) == [1, 2, 3, 4, 5, 6])
        }
    }

    @Test("stream filter")
    func stream() throws {
        try withNewLog { log, _ in
            _ = try Self.seeded(log)
            let a = try log.events(EventQuery(stream: "client/A"))
            #expect(a.map(\.position) == [1, 3, 5, 6])
            #expect(a.map(\.version) == [1, 2, 3, 4])
            #expect(try log.events(EventQuery(stream: "client/B")).map(\.position) == [2, 4])
            #expect(try log.events(EventQuery(stream: "client/none")).isEmpty)
            // A stream name is matched exactly, not as a prefix or pattern.
            #expect(try log.events(EventQuery(stream: "client/%")).isEmpty)
        }
    }

    @Test("types filter (one or several)")
    func types() throws {
        try withNewLog { log, _ in
            _ = try Self.seeded(log)
            #expect(try log.events(EventQuery(types: ["FundsDeposited"])).map(\.position) == [3, 4, 6])
            #expect(try log.events(EventQuery(types: ["ClientRegistered", "SurveyAnswered"])).map(\.position) == [1, 2, 5])
            #expect(try log.events(EventQuery(stream: "client/B", types: ["FundsDeposited"])).map(\.position) == [4])
            #expect(try log.events(EventQuery(types: ["TierChanged"])).isEmpty)
        }
    }

    @Test("position range, inclusive at both ends")
    func positionRange() throws {
        try withNewLog { log, _ in
            _ = try Self.seeded(log)
            #expect(try log.events(EventQuery(fromPosition: 2, toPosition: 4)).map(\.position) == [2, 3, 4])
            #expect(try log.events(EventQuery(fromPosition: 5)).map(\.position) == [5, 6])
            #expect(try log.events(EventQuery(toPosition: 1)).map(\.position) == [1])
            #expect(try log.events(EventQuery(fromPosition: 4, toPosition: 3)).isEmpty)
        }
    }

    @Test("occurredAt range, inclusive, by moment not by position")
    func occurredRange() throws {
        try withNewLog { log, _ in
            _ = try Self.seeded(log)
            let query = EventQuery(occurredFrom: Self.moment("2026-01-02T10:00:00Z"), occurredTo: Self.moment("2026-01-04T10:00:00Z"))
            #expect(try log.events(query).map(\.position) == [2, 3, 4])
            // The backdated survey (position 5) is found by its occurredAt.
            #expect(try log.events(EventQuery(occurredTo: Self.moment("2025-12-31T23:59:59Z"))).map(\.position) == [5])
            #expect(try log.events(EventQuery(occurredFrom: Self.moment("2026-01-05"))).map(\.position) == [6])
            // An offset is converted to UTC before comparing: 18:00+08:00 is 10:00Z.
            #expect(try log.events(EventQuery(occurredFrom: Self.moment("2026-01-06T18:00:00+08:00"))).map(\.position) == [6])
            #expect(try log.events(EventQuery(occurredFrom: Self.moment("2026-01-06T18:00:00.001+08:00"))).isEmpty)
        }
    }

    @Test("recordedAt range separates what the ledger knew at each commit")
    func recordedRange() throws {
        try withNewLog { log, _ in
            let (first, second) = try Self.seeded(log)
            let firstMoment = try #require(Timestamp(iso8601: first))
            let secondMoment = try #require(Timestamp(iso8601: second))
            #expect(try log.events(EventQuery(recordedTo: firstMoment)).map(\.position) == [1, 2, 3])
            #expect(try log.events(EventQuery(recordedFrom: secondMoment)).map(\.position) == [4, 5, 6])
            #expect(try log.events(EventQuery(recordedFrom: firstMoment, recordedTo: secondMoment)).count == 6)
            let before = Timestamp(millisecondsSinceEpoch: firstMoment.millisecondsSinceEpoch - 1)
            #expect(try log.events(EventQuery(recordedTo: before)).isEmpty)
            // Combined with occurredAt: as of 2026-01-03, known at the first commit.
            let known = EventQuery(stream: "client/A", occurredTo: Self.moment("2026-01-03T23:59:59Z"), recordedTo: firstMoment)
            #expect(try log.events(known).map(\.position) == [1, 3])
        }
    }

    @Test("limit keeps the first events in position order")
    func limit() throws {
        try withNewLog { log, _ in
            _ = try Self.seeded(log)
            #expect(try log.events(EventQuery(limit: 2)).map(\.position) == [1, 2])
            #expect(try log.events(EventQuery(types: ["FundsDeposited"], limit: 2)).map(\.position) == [3, 4])
            #expect(try log.events(EventQuery(limit: 0)).isEmpty)
            #expect(try log.events(EventQuery(limit: -3)).isEmpty)
            #expect(try log.events(EventQuery(limit: 100)).count == 6)
        }
    }

    @Test("scan stops when the body returns false")
    func scanStops() throws {
        try withNewLog { log, _ in
            _ = try Self.seeded(log)
            var seen: [Int64] = []
            try log.scan(.all) { event in
                seen.append(event.position)
                return seen.count < 3
            }
            #expect(seen == [1, 2, 3])
        }
    }

    @Test("filter values are bound, never spliced into the SQL")
    func boundValues() throws {
        try withNewLog { log, database in
            _ = try Self.seeded(log)
            let hostile = "client/A' OR '1'='1"
            #expect(try log.events(EventQuery(stream: hostile)).isEmpty)
            #expect(try log.events(EventQuery(types: ["x'); DROP TABLE events;--"])).isEmpty)
            #expect(try eventCount(database.db) == 6)
        }
    }
}
