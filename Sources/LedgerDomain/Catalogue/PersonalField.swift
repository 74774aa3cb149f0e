import LedgerCore

/// Personal fields of the catalogue (`name` of `ClientRegistered` and `ClientProfileUpdated`)
/// as the payload types carry them.
///
/// A personal field is stored sealed — `{"sealed":"<hex>"}` in `data` (`PersonalCipher`) —
/// and a payload read from the log carries it as a marker string that no input text can be
/// (text fields refuse control characters): `sealed(hex)` until a reader with the client's
/// key opens it, `erased` when the key was destroyed (`forget`). Values given to the ledger
/// are plain text, which the ledger seals before it stores them; ledgers written before
/// personal data was encrypted hold plain text, which reads as it is.
public enum PersonalField {
    static let sealedPrefix = "\u{1}sealed:"
    /// The value of a field whose key was destroyed.
    public static let erased = "\u{1}erased"

    /// The marker of a sealed value.
    public static func sealed(_ hex: String) -> String { sealedPrefix + hex }

    /// The hex of a sealed marker; nil for any other value.
    public static func sealedHex(_ value: String) -> String? {
        value.hasPrefix(sealedPrefix) ? String(value.dropFirst(sealedPrefix.count)) : nil
    }

    public static func isSealed(_ value: String) -> Bool { value.hasPrefix(sealedPrefix) }
    public static func isErased(_ value: String) -> Bool { value == erased }

    /// Plain text: neither sealed nor erased.
    public static func isPlain(_ value: String) -> Bool { !value.hasPrefix("\u{1}") }

    /// How readers show the value in text: erased fields as "(erased)".
    public static func display(_ value: String) -> String {
        if isErased(value) { return "(erased)" }
        if isSealed(value) { return "(encrypted)" }
        return value
    }

    /// Writes a personal value: sealed as `{"sealed":"hex"}` (stored and output form alike),
    /// erased as null, plain text as a string.
    static func write(_ value: String, to w: inout JSONWriter) {
        if let hex = sealedHex(value) {
            w.beginObject()
            w.key("sealed"); w.string(hex)
            w.endObject()
        } else if isErased(value) {
            w.null()
        } else {
            w.string(value)
        }
    }
}

extension EventPayload {
    /// The personal fields this payload holds, by name, with their values.
    public var personalFields: [(field: String, value: String)] {
        switch self {
        case .clientRegistered(let name, _, _, _): return [("name", name)]
        case .clientProfileUpdated(let name?, _, _, _): return [("name", name)]
        default: return []
        }
    }

    /// The payload with every personal value replaced by `transform(field, value)`.
    public func mappingPersonal(_ transform: (String, String) throws -> String) rethrows -> EventPayload {
        switch self {
        case .clientRegistered(let name, let segment, let investorType, let branch):
            return .clientRegistered(name: try transform("name", name), segment: segment, investorType: investorType, branch: branch)
        case .clientProfileUpdated(let name?, let segment, let investorType, let branch):
            return .clientProfileUpdated(name: try transform("name", name), segment: segment, investorType: investorType, branch: branch)
        default:
            return self
        }
    }
}
