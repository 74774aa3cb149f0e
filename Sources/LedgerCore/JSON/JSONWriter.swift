/// Writes compact JSON (no white space), members in the order given. This is the form the
/// ledger stores in `data` and `metadata`, and therefore the form the hash chain covers.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []

    /// Output for people and other programs rather than the stored form: amounts as exact
    /// decimal strings (`"1234.50"`), and characters that could change how a reader displays
    /// text escaped. The stored form (the default) keeps amounts as JSON numbers.
    public var forDisplay = false

    public init(capacity: Int = 128, forDisplay: Bool = false) {
        bytes.reserveCapacity(capacity)
        self.forDisplay = forDisplay
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    // MARK: - Objects built member by member

    private var needsComma: [Bool] = []

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma.removeLast()
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma.removeLast()
    }

    /// Writes `"key":` inside the current object.
    public mutating func key(_ name: String) {
        separate()
        writeString(name)
        bytes.append(UInt8(ascii: ":"))
        pendingValueAfterKey = true
    }

    private var pendingValueAfterKey = false

    private mutating func separate() {
        if pendingValueAfterKey {
            // The value right after a key: the key already placed any comma.
            pendingValueAfterKey = false
            return
        }
        if let last = needsComma.last {
            if last { bytes.append(UInt8(ascii: ",")) }
            needsComma[needsComma.count - 1] = true
        }
    }

    public mutating func string(_ value: String) {
        separate()
        writeString(value)
    }

    public mutating func raw(_ literal: String) {
        separate()
        bytes.append(contentsOf: literal.utf8)
    }

    public mutating func int(_ value: Int64) {
        separate()
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(48 + magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for k in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[k]) }
        }
    }

    public mutating func bool(_ value: Bool) {
        raw(value ? "true" : "false")
    }

    public mutating func null() {
        raw("null")
    }

    /// Writes an amount of money in CNY with exactly two decimals, e.g. `125000.00`.
    public mutating func money(_ value: Money) {
        separate()
        if forDisplay { bytes.append(UInt8(ascii: "\"")) }
        bytes.append(contentsOf: value.decimalText.utf8)
        if forDisplay { bytes.append(UInt8(ascii: "\"")) }
    }

    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .number(let text): raw(text)
        case .string(let text): string(text)
        case .array(let elements):
            beginArray()
            for element in elements { self.value(element) }
            endArray()
        case .object(let object):
            beginObject()
            for member in object.members {
                key(member.key)
                self.value(member.value)
            }
            endObject()
        }
    }

    private mutating func writeString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        // Fast path: nothing to escape, copy the bytes at once.
        let plain = value.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
            for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || (forDisplay && byte >= 0x7F) {
                return false
            }
            bytes.append(contentsOf: utf8)
            return true
        }
        if plain == true {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": bytes.append(0x5C); bytes.append(0x22)
            case "\\": bytes.append(0x5C); bytes.append(0x5C)
            case "\n": bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
            case "\r": bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
            case "\t": bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
            default:
                // Control characters always; for output, also every character that could
                // change how a reader displays the text (C1 controls, bidi overrides, U+2028).
                if scalar.value < 0x20 || (forDisplay && scalar.changesDisplay) {
                    let hex = Array(String(scalar.value, radix: 16).utf8)
                    bytes.append(contentsOf: [0x5C, UInt8(ascii: "u")])
                    bytes.append(contentsOf: Array(repeating: UInt8(ascii: "0"), count: max(0, 4 - hex.count)) + hex)
                } else {
                    bytes.append(contentsOf: String(scalar).utf8)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension JSONValue {
    /// The compact JSON text of this value.
    public var compactText: String {
        var writer = JSONWriter()
        writer.value(self)
        return writer.text
    }
}
