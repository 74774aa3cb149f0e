/// An amount of CNY, held exactly as a whole number of fen (hundredths).
public struct Money: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var cents: Int64

    public init(cents: Int64) {
        self.cents = cents
    }

    public init(yuan: Int64) {
        self.cents = yuan * 100
    }

    /// Encoded as exact decimal text (`"1234.50"`): a JSON number would lose cents past 2^53
    /// in most readers.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard case .success(let money) = Money.parse(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an amount: \(text)")
        }
        self = money
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(decimalText)
    }

    public static let zero = Money(cents: 0)
    /// The largest amount one event may carry: 1,000,000,000,000.00 CNY.
    public static let maximum = Money(cents: 100_000_000_000_000)

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.cents < rhs.cents }
    public static func + (lhs: Money, rhs: Money) -> Money { Money(cents: lhs.cents + rhs.cents) }
    public static func - (lhs: Money, rhs: Money) -> Money { Money(cents: lhs.cents - rhs.cents) }

    /// Whole yuan, rounded toward zero.
    public var wholeYuan: Int64 { cents / 100 }

    /// `1234.50`: two decimals, no grouping; the form stored in payloads.
    public var decimalText: String {
        let sign = cents < 0 ? "-" : ""
        let magnitude = cents.magnitude
        let fraction = magnitude % 100
        return "\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// `1,234.50`: grouped for people.
    public var formatted: String {
        let sign = cents < 0 ? "-" : ""
        let magnitude = cents.magnitude
        var whole = String(magnitude / 100)
        var grouped = ""
        while whole.count > 3 {
            grouped = "," + whole.suffix(3) + grouped
            whole.removeLast(3)
        }
        let fraction = magnitude % 100
        return "\(sign)\(whole)\(grouped).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    public var description: String { formatted }

    /// Parses the exact text of a JSON number as an amount: plain decimal notation, at most
    /// two decimals, no exponent. Returns nil (with a reason) otherwise.
    public static func parse(_ text: String) -> Result<Money, AmountError> {
        var bytes = Array(text.utf8)
        var negative = false
        if bytes.first == UInt8(ascii: "-") {
            negative = true
            bytes.removeFirst()
        }
        if bytes.contains(UInt8(ascii: "e")) || bytes.contains(UInt8(ascii: "E")) {
            return .failure(.exponent)
        }
        var whole: Int64 = 0
        var fraction: Int64 = 0
        var fractionDigits = 0
        var seenPoint = false
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                seenPoint = true
                continue
            }
            guard byte >= 48, byte <= 57 else { return .failure(.notANumber) }
            let digit = Int64(byte - 48)
            if seenPoint {
                fractionDigits += 1
                if fractionDigits > 2 {
                    if digit != 0 { return .failure(.tooManyDecimals) }
                    continue
                }
                fraction = fraction * 10 + digit
            } else {
                guard whole <= 100_000_000_000_000 else { return .failure(.tooLarge) }
                whole = whole * 10 + digit
            }
        }
        if fractionDigits == 1 { fraction *= 10 }
        guard whole <= Money.maximum.cents / 100 else { return .failure(.tooLarge) }
        let cents = whole * 100 + fraction
        guard cents <= Money.maximum.cents else { return .failure(.tooLarge) }
        return .success(Money(cents: negative ? -cents : cents))
    }

    public enum AmountError: Error, Sendable {
        case exponent, notANumber, tooManyDecimals, tooLarge

        public var reason: String {
            switch self {
            case .exponent: return "write amounts in plain decimal notation (no exponent)"
            case .notANumber: return "not a number"
            case .tooManyDecimals: return "at most 2 decimals (CNY fen)"
            case .tooLarge: return "larger than 1,000,000,000,000.00 CNY"
            }
        }
    }
}
