import Foundation
import Testing

@testable import LedgerCore

@Suite("Timestamp parsing and formatting")
struct TimestampTests {
    struct Valid: Sendable, CustomTestStringConvertible {
        var text: String
        /// Milliseconds since the epoch, UTC.
        var milliseconds: Int64
        var testDescription: String { text }
    }

    /// 2026-03-02T09:31:00Z
    static let base: Int64 = 1_772_443_860_000

    static let valid: [Valid] = [
        Valid(text: "2026-03-02T09:31:00Z", milliseconds: base),
        Valid(text: "2026-03-02T09:31:00.000Z", milliseconds: base),
        Valid(text: "2026-03-02T09:31:00.250Z", milliseconds: base + 250),
        Valid(text: "2026-03-02T09:31:00.5Z", milliseconds: base + 500),
        Valid(text: "2026-03-02T09:31:00.123456789Z", milliseconds: base + 123),
        Valid(text: "2026-03-02T09:31:00,25Z", milliseconds: base + 250),
        Valid(text: "2026-03-02T09:31Z", milliseconds: base),
        Valid(text: "2026-03-02t09:31:00z", milliseconds: base),
        Valid(text: "2026-03-02T17:31:00+08:00", milliseconds: base),
        Valid(text: "2026-03-02T17:31:00+0800", milliseconds: base),
        Valid(text: "2026-03-02T04:31:00-05:00", milliseconds: base),
        Valid(text: "2026-03-02T09:31:00+00:00", milliseconds: base),
        Valid(text: "2026-03-02T09:31:00-00:00", milliseconds: base),
        Valid(text: "2026-03-03T01:01:00+15:30", milliseconds: base),
        Valid(text: "2026-03-02", milliseconds: base - (9 * 60 + 31) * 60_000),
        Valid(text: "1970-01-01T00:00:00Z", milliseconds: 0),
        Valid(text: "1970-01-01T08:00:00+08:00", milliseconds: 0),
        Valid(text: "1900-01-01T00:00:00Z", milliseconds: -2_208_988_800_000),
        Valid(text: "1969-12-31T23:59:59.999Z", milliseconds: -1),
        Valid(text: "2000-01-01", milliseconds: 946_684_800_000),
        Valid(text: "2024-02-29T00:00:00Z", milliseconds: 1_709_164_800_000),
        Valid(text: "2000-02-29", milliseconds: 951_782_400_000),
        Valid(text: "2025-12-31T23:59:59.999Z", milliseconds: 1_767_225_599_999),
        Valid(text: "9999-12-31T23:59:59Z", milliseconds: 253_402_300_799_000),
    ]

    @Test("valid forms parse to the right moment", arguments: valid)
    func parsesValid(_ item: Valid) throws {
        let parsed = try #require(Timestamp(iso8601: item.text))
        #expect(parsed.millisecondsSinceEpoch == item.milliseconds)
        // The byte-buffer entry point agrees.
        let viaBytes = Array(item.text.utf8).withUnsafeBufferPointer { Timestamp(iso8601Bytes: $0) }
        #expect(viaBytes == parsed)
    }

    static let invalid: [String] = [
        "2026-02-30T00:00:00Z",  // February 30
        "2026-02-29T00:00:00Z",  // not a leap year
        "2023-02-29",
        "1900-02-29",  // 1900 is not a leap year
        "2100-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",  // April has 30 days
        "2026-13-01T00:00:00Z",  // month 13
        "2026-00-10T00:00:00Z",  // month 0
        "2026-01-00T00:00:00Z",  // day 0
        "2026-01-32",
        "2026-03-02T09:31:00",  // no zone
        "2026-03-02T09:31",
        "1800-01-01T00:00:00Z",  // before 1900
        "1899-12-31T23:59:59Z",
        "garbage",
        "",
        "now",
        "1772443860",
        "2026-3-2",
        "26-03-02",
        "2026/03/02",
        "2026-03-02 09:31:00Z",  // space instead of T
        "2026-03-02T24:00:00Z",
        "2026-03-02T09:60:00Z",
        "2026-03-02T09:31:60Z",
        "2026-03-02T9:31:00Z",
        "2026-03-02T09:31:00.Z",  // fraction without digits
        "2026-03-02T09:31:00.1234567890Z",  // more than 9 fraction digits
        "2026-03-02T09:31:00+24:00",
        "2026-03-02T09:31:00+08:60",
        "2026-03-02T09:31:00+8",
        "2026-03-02T09:31:00Z ",  // trailing space
        " 2026-03-02T09:31:00Z",
        "2026-03-02T09:31:00ZZ",
        "2026-03-02T",
        "2026-03-02Z",
        "２０２６-03-02",  // full-width digits
    ]

    @Test("invalid forms are refused", arguments: invalid)
    func refusesInvalid(_ text: String) {
        #expect(Timestamp(iso8601: text) == nil)
    }

    @Test("formatting is fixed-width UTC with milliseconds")
    func formatting() {
        let moment = Timestamp(millisecondsSinceEpoch: Self.base + 250)
        #expect(moment.iso8601 == "2026-03-02T09:31:00.250Z")
        #expect(moment.description == moment.iso8601)
        #expect(moment.isoDate == "2026-03-02")
        #expect(Timestamp(millisecondsSinceEpoch: 0).iso8601 == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(millisecondsSinceEpoch: -1).iso8601 == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp(millisecondsSinceEpoch: 253_402_300_799_999).iso8601 == "9999-12-31T23:59:59.999Z")
        #expect(Timestamp(iso8601: "2026-03-02T17:31:00+08:00")?.iso8601 == "2026-03-02T09:31:00.000Z")
    }

    @Test("format then parse gives the same moment", arguments: [
        Int64(0), -1, 1, 999, 1_000, base, base + 1, 951_782_400_000, 1_709_164_799_999,
        -2_208_988_800_000, 253_402_300_799_999, 4_102_444_800_123,
    ])
    func roundTrip(milliseconds: Int64) throws {
        let moment = Timestamp(millisecondsSinceEpoch: milliseconds)
        let text = moment.iso8601
        #expect(text.utf8.count == 24)
        #expect(Timestamp(iso8601: text) == moment)
    }

    @Test("round trip over every day from 1900 to 2100 keeps the date")
    func roundTripEveryDay() {
        let first = Timestamp.days(fromCivil: 1900, 1, 1)
        let last = Timestamp.days(fromCivil: 2100, 12, 31)
        var failures = 0
        for day in first...last {
            let moment = Timestamp(dayNumber: day).adding(days: 0)
            let (y, m, d) = moment.civilDate
            if Timestamp.days(fromCivil: y, m, d) != day || Timestamp(iso8601: moment.isoDate) != moment {
                failures += 1
            }
        }
        #expect(failures == 0)
        #expect(last - first + 1 == 73_414)  // 201 years, 49 leap days (2000 yes; 1900, 2100 no)
    }

    @Test("leap years: divisible by 4, except centuries not divisible by 400", arguments: [
        (Int64(2000), true), (1900, false), (2100, false), (2400, true), (2024, true), (2023, false), (2026, false), (1996, true),
    ])
    func leapYears(year: Int64, leap: Bool) {
        #expect(Timestamp.daysIn(month: 2, year: year) == (leap ? 29 : 28))
        let text = String(format: "%04d-02-29", Int(year))
        #expect((Timestamp(iso8601: text) != nil) == leap)
        let daysInYear = Timestamp.days(fromCivil: year + 1, 1, 1) - Timestamp.days(fromCivil: year, 1, 1)
        #expect(daysInYear == (leap ? 366 : 365))
    }

    @Test("month lengths")
    func monthLengths() {
        let lengths: [Int64] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        for (index, length) in lengths.enumerated() {
            #expect(Timestamp.daysIn(month: Int64(index + 1), year: 2026) == length)
        }
    }

    @Test("day arithmetic and civil dates")
    func dayArithmetic() throws {
        #expect(Timestamp.days(fromCivil: 1970, 1, 1) == 0)
        let epoch = Timestamp.civil(fromDays: 0)
        #expect([epoch.year, epoch.month, epoch.day] == [1970, 1, 1])
        let before = Timestamp.civil(fromDays: -1)
        #expect([before.year, before.month, before.day] == [1969, 12, 31])
        let moment = try #require(Timestamp(iso8601: "2024-02-28T23:00:00Z"))
        #expect(moment.adding(days: 1).isoDate == "2024-02-29")
        #expect(moment.adding(days: 2).isoDate == "2024-03-01")
        #expect(moment.adding(days: 730).isoDate == "2026-02-27")
        #expect(Timestamp(millisecondsSinceEpoch: -1).dayNumber == -1)
        #expect(Timestamp(dayNumber: 20_514).iso8601 == "2026-03-02T00:00:00.000Z")
    }

    @Test("text order of the stored form is time order")
    func textOrderIsTimeOrder() {
        let moments: [Int64] = [-2_208_988_800_000, -1, 0, 9, 10, 999, 1_000, Self.base, 253_402_300_799_999]
        let texts = moments.map { Timestamp(millisecondsSinceEpoch: $0).iso8601 }
        #expect(texts == texts.sorted())
    }
}

@Suite("Event ids")
struct EventIDTests {
    @Test("normalized lower-cases a UUID", arguments: [
        ("3F2A8C4E-9B1D-4E7A-8C2F-5D6E7F8A9B0C", "3f2a8c4e-9b1d-4e7a-8c2f-5d6e7f8a9b0c"),
        ("3f2a8c4e-9b1d-4e7a-8c2f-5d6e7f8a9b0c", "3f2a8c4e-9b1d-4e7a-8c2f-5d6e7f8a9b0c"),
        ("00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"),
        ("AbCdEf01-2345-6789-aBcD-eF0123456789", "abcdef01-2345-6789-abcd-ef0123456789"),
    ])
    func normalizes(input: String, expected: String) {
        #expect(EventID.normalized(input) == expected)
    }

    @Test("normalized refuses what is not a UUID", arguments: [
        "", "not-a-uuid", "3f2a8c4e9b1d4e7a8c2f5d6e7f8a9b0c",  // no hyphens
        "3f2a8c4e-9b1d-4e7a-8c2f-5d6e7f8a9b0", "3f2a8c4e-9b1d-4e7a-8c2f-5d6e7f8a9b0c0",
        "3f2a8c4e-9b1d-4e7a-8c2f-5d6e7f8a9b0g", "3f2a8c4e_9b1d-4e7a-8c2f-5d6e7f8a9b0c",
        "3f2a8c4-e9b1d-4e7a-8c2f-5d6e7f8a9b0c", "{3f2a8c4e-9b1d-4e7a-8c2f-5d6e7f8a9b0c}",
        " 3f2a8c4e-9b1d-4e7a-8c2f-5d6e7f8a9b0c", "3f2a8c4e-9b1d-4e7a-8c2f-5d6e7f8a9b0é",
    ])
    func refuses(input: String) {
        #expect(EventID.normalized(input) == nil)
    }

    @Test("derived ids are deterministic, distinct per name, and well-formed")
    func derived() {
        let a = EventID.derived(from: "clientledger/decision\nX\n0")
        #expect(a == EventID.derived(from: "clientledger/decision\nX\n0"))
        #expect(a == EventID.derived(from: Array("clientledger/decision\nX\n0".utf8)))
        #expect(a != EventID.derived(from: "clientledger/decision\nX\n1"))
        #expect(a != EventID.derived(from: ""))
        #expect(EventID.normalized(a) == a)
        let characters = Array(a)
        #expect(characters.count == 36)
        #expect(characters[14] == "8")  // version 8 (name-based, SHA-256)
        #expect("89ab".contains(characters[19]))  // RFC 4122 variant
        // The first 16 bytes of SHA-256 of the name, with version and variant bits set.
        let digest = HashChain.sha256(Array("abc".utf8)).prefix(16).map { $0 }
        var expected = digest
        expected[6] = (expected[6] & 0x0F) | 0x80
        expected[8] = (expected[8] & 0x3F) | 0x80
        #expect(EventID.derived(from: "abc").replacingOccurrences(of: "-", with: "") == expected.hexString)
        #expect(EventID.derived(from: "abc") == "ba7816bf-8f01-8fea-8141-40de5dae2223")
    }

    @Test("random ids are version-4 UUIDs and differ")
    func random() {
        let ids = (0..<200).map { _ in EventID.random() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(EventID.normalized(id) == id)
            let characters = Array(id)
            #expect(characters[14] == "4")
            #expect("89ab".contains(characters[19]))
        }
    }
}
