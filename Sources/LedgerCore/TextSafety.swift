extension Unicode.Scalar {
    /// Whether showing this character could change how a terminal or an editor displays the
    /// text around it: C0 controls, DEL, C1 controls (U+009B is a terminal CSI), bidirectional
    /// embeddings, overrides and isolates, and the line and paragraph separators.
    public var changesDisplay: Bool {
        switch value {
        case 0x00...0x1F, 0x7F...0x9F, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069, 0x2028, 0x2029: return true
        default: return false
        }
    }
}

extension String {
    /// The text with every character that could change how it displays written as `\u{1b}`:
    /// stored text (a client's name, a reward) and input quoted in a message can never drive
    /// the terminal or the reader that shows it. Line breaks and tabs are kept when
    /// `keepingLayout` (for whole lines of text output).
    public func escapedForDisplay(keepingLayout: Bool = false) -> String {
        guard unicodeScalars.contains(where: { $0.changesDisplay && !(keepingLayout && ($0 == "\n" || $0 == "\t")) }) else {
            return self
        }
        var result = ""
        for scalar in unicodeScalars {
            if scalar.changesDisplay, !(keepingLayout && (scalar == "\n" || scalar == "\t")) {
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// The same, for error messages (kept for the callers that say what they escape).
    public var escapingControlCharacters: String { escapedForDisplay() }
}

/// An optional that encodes as `null` when absent, instead of leaving its key out: every
/// JSON output names each of its fields, present or not.
@propertyWrapper
public struct NullEncoded<Value: Encodable & Sendable>: Encodable, Sendable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension NullEncoded: Equatable where Value: Equatable {}

extension NullEncoded: Decodable where Value: Decodable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }
}
