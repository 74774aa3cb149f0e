import Foundation
import LedgerTestSupport
import Testing
@testable import LedgerDomain
import LedgerApplication
import LedgerCore
import LedgerSQLite
import LedgerStorage

/// Facts and jobs dated in the future are refused, against the ledger's injectable clock.
@Suite("Time sanity: nothing from the future")
struct TimeSanityTests {
    static let now = at("2026-06-01T12:00:00Z")
    static let limit = Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch + 5 * 60_000)
    static let pastLimit = Timestamp(millisecondsSinceEpoch: limit.millisecondsSinceEpoch + 1)

    @Test("the tolerance is 5 minutes: now + 5 min is accepted, one millisecond more is refused")
    func domainBoundary() throws {
        #expect(TimeSanity.futureTolerance == 300_000)
        #expect(TimeSanity.latestAccepted(now: Self.now) == Self.limit)
        try TimeSanity.check(Self.limit, now: Self.now, field: "occurredAt", what: "")
        try TimeSanity.check(at("1900-01-01T00:00:00Z"), now: Self.now, field: "occurredAt", what: "")
        #expect(throws: FieldError(field: "occurredAt", problem: "2026-06-01T12:05:00.001Z is in the future: later than the ledger's clock (2026-06-01T12:00:00.000Z) plus 5 minutes; why")) {
            try TimeSanity.check(Self.pastLimit, now: Self.now, field: "occurredAt", what: "why")
        }
    }

    /// A ledger whose clock says `now`, with C1 registered a year before.
    static func withLedger(_ body: (Ledger) throws -> Void) throws {
        try withTemporaryLedger(clock: FixedClock(Self.now)) { ledger in
            try ledger.importLines([registrationLine("C1", "2025-06-01T00:00:00Z")])
            try body(ledger)
        }
    }

    static func visit(_ moment: Timestamp) -> String {
        line("InteractionLogged", "C1", moment.iso8601, #"{"channel":"app","kind":"inquiry"}"#)
    }

    @Test("import at the boundary, one line at a time, batched, and through the parallel pipeline",
          arguments: ["events", "batched", "pipeline"])
    func importBoundary(path: String) throws {
        try Self.withLedger { ledger in
            func run(_ lines: [String]) throws {
                switch path {
                case "events": try ledger.importEvents(try parseLines(lines.joined(separator: "\n")))
                case "batched": try ledger.importEvents(try parseLines(lines.joined(separator: "\n")), batchSize: 1)
                default:
                    let bytes = Array(lines.joined(separator: "\n").utf8)
                    _ = try bytes.withUnsafeBufferPointer { try ledger.importJSONLines($0) }
                }
            }
            let before = try ledger.fingerprint()
            do {
                try run([Self.visit(Self.now), Self.visit(Self.pastLimit)])
                Issue.record("a fact dated after now + 5 minutes was accepted")
            } catch let error as InputError {
                #expect(error.line == 2, "\(error)")
                #expect(error.field == "occurredAt", "\(error)")
                #expect(error.problem.contains("in the future"), "\(error)")
            } catch let error as Ledger.PartialImportError {
                Issue.record("the batched import committed before checking: \(error)")
            }
            #expect(try ledger.fingerprint() == before, "nothing written")
            try run([Self.visit(Self.limit)])
            #expect(try ledger.fingerprint().rows == before.rows + 1)
        }
    }

    @Test("points expire, tiers evaluate and tiers reconcile at the boundary", arguments: ["expire", "evaluate", "reconcile"])
    func jobBoundary(job: String) throws {
        try Self.withLedger { ledger in
            func run(_ moment: Timestamp) throws {
                switch job {
                case "expire": _ = try ledger.expirePoints(asOf: moment)
                case "evaluate": _ = try ledger.evaluateTiers(asOf: moment)
                default: _ = try ledger.reconcileTiers(asOf: moment)
                }
            }
            let before = try ledger.fingerprint()
            do {
                try run(Self.pastLimit)
                Issue.record("a job for a moment after now + 5 minutes ran")
            } catch let error as InputError {
                #expect(error.field == "asOf", "\(error)")
                #expect(error.line == nil)
                #expect(Failures.classify(error).0 == .badInput)
            }
            #expect(try ledger.fingerprint() == before)
            try run(Self.limit)
        }
    }

    @Test("seed periods: past ones are fine, one reaching the future or past 9999-12-31 is refused")
    func seedPeriods() {
        let defaults = SyntheticData.Options(clients: 1, events: 3)
        #expect(defaults.end == at("2026-10-31T00:00:00Z"))
        #expect(defaults.periodProblem(now: at("2026-10-31T00:00:00Z")) == nil, "the default period is in the past")
        #expect(defaults.periodProblem(now: at("2026-10-30T23:54:59.999Z"))?.contains("after now") == true)
        let late = SyntheticData.Options(clients: 1, events: 3, start: at("9999-12-01T00:00:00Z"), days: 760)
        #expect(late.end == nil)
        #expect(late.periodProblem(now: at("9999-12-31T00:00:00Z"))?.contains("9999-12-31") == true)
        let lastMonth = SyntheticData.Options(clients: 1, events: 3, start: at("9999-12-01T00:00:00Z"), days: 31)
        #expect(lastMonth.end == at("9999-12-31T00:00:00Z").adding(days: 1))
        let huge = SyntheticData.Options(clients: 1, events: 3, days: Int64.max)
        #expect(huge.end == nil, "no overflow")
    }
}
