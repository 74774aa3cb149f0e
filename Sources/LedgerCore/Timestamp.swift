#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A moment in UTC with millisecond precision.
///
/// The ledger writes every moment in one fixed-width form, `YYYY-MM-DDTHH:MM:SS.sssZ`, so that
/// text order in SQLite is time order.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public let millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    /// Encoded as its ISO-8601 text (`2026-03-02T09:31:00.000Z`), the form every output uses.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let moment = Timestamp(iso8601: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO-8601 moment: \(text)")
        }
        self = moment
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso8601)
    }

    /// The current time of the machine's clock.
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(millisecondsSinceEpoch: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    public static let millisecondsPerDay: Int64 = 86_400_000

    /// Whole days since 1970-01-01 (the UTC calendar day of this moment).
    public var dayNumber: Int64 { floorDivide(millisecondsSinceEpoch, Self.millisecondsPerDay) }

    /// Midnight UTC starting the given day.
    public init(dayNumber: Int64) {
        self.millisecondsSinceEpoch = dayNumber * Self.millisecondsPerDay
    }

    public func adding(days: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + days * Self.millisecondsPerDay)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    /// Year, month (1–12) and day (1–31) of this moment's UTC date.
    public var civilDate: (year: Int64, month: Int64, day: Int64) { Self.civil(fromDays: dayNumber) }

    /// The fixed-width ISO-8601 form, `2026-03-02T09:31:00.000Z`.
    public var description: String { iso8601 }

    public var iso8601: String {
        String(unsafeUninitializedCapacity: 24) { buffer in
            write(into: buffer)
            return 24
        }
    }

    /// Writes the 24 bytes of `iso8601` into `buffer` (hot paths: appends, scans, audits).
    public func write(into buffer: UnsafeMutableBufferPointer<UInt8>) {
        let days = dayNumber
        let (year, month, day) = Self.civil(fromDays: days)
        let msOfDay = millisecondsSinceEpoch - days * Self.millisecondsPerDay
        @inline(__always) func put(_ value: Int64, _ width: Int, at start: Int) {
            var rest = value
            for k in stride(from: start + width - 1, through: start, by: -1) {
                buffer[k] = UInt8(48 + rest % 10)
                rest /= 10
            }
        }
        put(year, 4, at: 0); buffer[4] = 45
        put(month, 2, at: 5); buffer[7] = 45
        put(day, 2, at: 8); buffer[10] = 84
        put(msOfDay / 3_600_000, 2, at: 11); buffer[13] = 58
        put((msOfDay / 60_000) % 60, 2, at: 14); buffer[16] = 58
        put((msOfDay / 1000) % 60, 2, at: 17); buffer[19] = 46
        put(msOfDay % 1000, 3, at: 20); buffer[23] = 90
    }

    /// The date alone, `2026-03-02`.
    public var isoDate: String { String(iso8601.prefix(10)) }

    // MARK: - Parsing

    /// Parses an ISO-8601 moment: `YYYY-MM-DDTHH:MM[:SS[.fraction]]` followed by `Z` or an
    /// offset `±HH:MM`, or a bare date `YYYY-MM-DD` (midnight UTC). Years 1900–9999.
    /// Returns nil for anything else, including impossible dates such as February 30.
    public init?(iso8601 text: String) {
        var copy = text
        let parsed: Int64? = copy.withUTF8 { Self.parse($0) }
        guard let parsed else { return nil }
        self.millisecondsSinceEpoch = parsed
    }

    /// Parses the bytes of an ISO-8601 moment (see `init?(iso8601:)`).
    public init?(iso8601Bytes bytes: UnsafeBufferPointer<UInt8>) {
        guard let parsed = Self.parse(bytes) else { return nil }
        self.millisecondsSinceEpoch = parsed
    }

    private static func parse(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
        if b.count == 24, let fixed = parseFixedWidth(b) { return fixed }
        var i = 0
        func number(_ width: Int) -> Int64? {
            guard i + width <= b.count else { return nil }
            var value: Int64 = 0
            for k in i..<(i + width) {
                let c = b[k]
                guard c >= 48, c <= 57 else { return nil }
                value = value * 10 + Int64(c - 48)
            }
            i += width
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect(45), let month = number(2), expect(45), let day = number(2) else { return nil }
        guard (1900...9999).contains(year), (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        let days = Self.days(fromCivil: year, month, day)
        if i == b.count { return days * millisecondsPerDay }
        guard expect(84) || expect(116) else { return nil }  // 'T' or 't'
        guard let hour = number(2), expect(58), let minute = number(2) else { return nil }
        var second: Int64 = 0
        var millis: Int64 = 0
        if expect(58) {
            guard let s = number(2) else { return nil }
            second = s
            if expect(46) || expect(44) {
                var scale: Int64 = 100
                var digitsSeen = 0
                while i < b.count, b[i] >= 48, b[i] <= 57 {
                    millis += Int64(b[i] - 48) * scale
                    scale /= 10
                    digitsSeen += 1
                    i += 1
                }
                guard digitsSeen > 0, digitsSeen <= 9 else { return nil }
            }
        }
        guard hour < 24, minute < 60, second < 60 else { return nil }
        var offsetMinutes: Int64 = 0
        if expect(90) || expect(122) {  // 'Z' or 'z'
        } else if i < b.count, b[i] == 43 || b[i] == 45 {  // '+' or '-'
            let sign: Int64 = b[i] == 45 ? -1 : 1
            i += 1
            guard let oh = number(2) else { return nil }
            _ = expect(58)
            guard let om = number(2), oh < 24, om < 60 else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let local = days * millisecondsPerDay + ((hour * 60 + minute) * 60 + second) * 1000 + millis
        let utc = local - offsetMinutes * 60_000
        // The offset can carry a moment out of the supported years: refuse it rather than
        // store a time that would not read back.
        guard utc >= supportedRange.lowerBound, utc < supportedRange.upperBound else { return nil }
        return utc
    }

    /// Milliseconds from 1900-01-01T00:00:00Z up to (not including) 10000-01-01T00:00:00Z.
    static let supportedRange: Range<Int64> =
        days(fromCivil: 1900, 1, 1) * millisecondsPerDay..<days(fromCivil: 10000, 1, 1) * millisecondsPerDay

    /// The ledger's own form, `YYYY-MM-DDTHH:MM:SS.sssZ`: read without any branching on
    /// optional parts (replays read millions of them).
    private static func parseFixedWidth(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard b[4] == 45, b[7] == 45, b[10] == 84, b[13] == 58, b[16] == 58, b[19] == 46, b[23] == 90 else { return nil }
        var value: Int64 = 0
        @inline(__always) func digits(_ from: Int, _ count: Int) -> Int64? {
            var result: Int64 = 0
            for k in from..<(from + count) {
                let c = b[k] &- 48
                guard c < 10 else { return nil }
                result = result * 10 + Int64(c)
            }
            return result
        }
        guard let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2), let hour = digits(11, 2),
            let minute = digits(14, 2), let second = digits(17, 2), let millis = digits(20, 3)
        else { return nil }
        guard (1900...9999).contains(year), (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
            hour < 24, minute < 60, second < 60
        else { return nil }
        value = days(fromCivil: year, month, day) * millisecondsPerDay + ((hour * 60 + minute) * 60 + second) * 1000 + millis
        return value
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    public static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400)
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

@inline(__always)
func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q
}
