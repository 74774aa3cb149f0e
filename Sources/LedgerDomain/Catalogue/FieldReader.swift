import LedgerCore

/// A problem with one field of an event, named by its path (`data.notional`, `occurredAt`).
public struct FieldError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var problem: String

    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }

    public var description: String { "field \(field.escapingControlCharacters): \(problem.escapingControlCharacters)" }
}

/// Reads typed fields out of a JSON object, naming the field in every error and refusing
/// members it was never asked for.
struct FieldReader {
    let object: JSONObject
    let prefix: String
    /// Which members have been read, by index (objects of more than 64 members are refused
    /// as unknown fields anyway).
    private var read: UInt64 = 0

    init(_ object: JSONObject, prefix: String) {
        self.object = object
        self.prefix = prefix
    }

    /// The field's path; an empty key is named `""`, so that a message always names a field.
    func path(_ key: String) -> String {
        let name = key.isEmpty ? #""""# : key
        return prefix.isEmpty ? name : prefix + "." + name
    }

    func error(_ key: String, _ problem: String) -> FieldError {
        FieldError(field: path(key), problem: problem)
    }

    private mutating func value(_ key: String, required: Bool) throws(FieldError) -> JSONValue? {
        var found: JSONValue?
        for (index, member) in object.members.enumerated() where member.key == key {
            if index < 64 { read |= 1 << UInt64(index) }
            found = member.value
            break
        }
        guard let value = found else {
            if required { throw error(key, "is required") }
            return nil
        }
        guard value != .null else {
            throw error(key, required ? "is required (found null)" : "must not be null: leave the field out instead")
        }
        return value
    }

    mutating func text(_ key: String, maxLength: Int) throws(FieldError) -> String {
        guard let text = try optionalText(key, maxLength: maxLength) else { throw error(key, "is required") }
        return text
    }

    /// A personal text field: plain text, or in a stored payload its sealed form
    /// `{"sealed":"<hex>"}`, read as the `PersonalField` marker.
    mutating func optionalPersonalText(_ key: String, maxLength: Int) throws(FieldError) -> String? {
        if case .object(let sealed)? = object[key] {
            _ = try value(key, required: false)
            guard sealed.members.count == 1, case .string(let hex)? = sealed["sealed"], !hex.isEmpty,
                hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
            else { throw error(key, "must be a string, found \(JSONValue.object(sealed).kindName)") }
            return PersonalField.sealed(hex)
        }
        return try optionalText(key, maxLength: maxLength)
    }

    mutating func personalText(_ key: String, maxLength: Int) throws(FieldError) -> String {
        guard let text = try optionalPersonalText(key, maxLength: maxLength) else { throw error(key, "is required") }
        return text
    }

    mutating func optionalText(_ key: String, maxLength: Int) throws(FieldError) -> String? {
        guard let value = try value(key, required: false) else { return nil }
        guard case .string(let text) = value else { throw error(key, "must be a string, found \(value.kindName)") }
        try Self.checkText(text, maxLength: maxLength, field: path(key))
        return text
    }

    /// Text fields are non-empty, at most `maxLength` characters, with no control characters.
    static func checkText(_ text: String, maxLength: Int, field: String) throws(FieldError) {
        guard !text.isEmpty else { throw FieldError(field: field, problem: "must not be empty") }
        var count = 0
        for scalar in text.unicodeScalars {
            count += 1
            if scalar.value < 0x20 || scalar.value == 0x7F {
                throw FieldError(field: field, problem: "must not contain control characters")
            }
        }
        guard count <= maxLength else {
            throw FieldError(field: field, problem: "longer than \(maxLength) characters")
        }
    }

    mutating func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws(FieldError) -> E
    where E.RawValue == String {
        guard let value = try optionalChoice(key, type) else { throw error(key, "is required") }
        return value
    }

    mutating func optionalChoice<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws(FieldError) -> E?
    where E.RawValue == String {
        guard let value = try value(key, required: false) else { return nil }
        let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
        guard case .string(let text) = value else { throw error(key, "must be one of \(allowed), found \(value.kindName)") }
        guard let choice = E(rawValue: text) else { throw error(key, "must be one of \(allowed), found \"\(text.prefix(40))\"") }
        return choice
    }

    /// A positive amount of CNY with at most two decimals.
    mutating func amount(_ key: String) throws(FieldError) -> Money {
        guard let value = try value(key, required: true) else { throw error(key, "is required") }
        guard case .number(let text) = value else { throw error(key, "must be a number, found \(value.kindName)") }
        switch Money.parse(text) {
        case .failure(let reason): throw error(key, reason.reason)
        case .success(let money):
            guard money.cents > 0 else { throw error(key, "must be greater than 0") }
            return money
        }
    }

    /// A whole number within `range`.
    mutating func integer(_ key: String, in range: ClosedRange<Int64>) throws(FieldError) -> Int64 {
        guard let number = try optionalInteger(key, in: range) else { throw error(key, "is required") }
        return number
    }

    mutating func optionalInteger(_ key: String, in range: ClosedRange<Int64>) throws(FieldError) -> Int64? {
        guard let value = try value(key, required: false) else { return nil }
        guard case .number(let text) = value else { throw error(key, "must be a whole number, found \(value.kindName)") }
        guard let number = Self.wholeNumber(text) else {
            throw error(key, "must be a whole number, found \(text.prefix(40))")
        }
        guard range.contains(number) else {
            throw error(key, "must be between \(range.lowerBound) and \(range.upperBound), found \(number)")
        }
        return number
    }

    /// Whole numbers may be written `5` or `5.0`, never `5.5` or `5e3`.
    static func wholeNumber(_ text: String) -> Int64? {
        var digits = Substring(text)
        if let point = digits.firstIndex(of: ".") {
            guard digits[digits.index(after: point)...].allSatisfy({ $0 == "0" }) else { return nil }
            digits = digits[..<point]
        }
        guard digits.count <= 19 else { return nil }
        return Int64(digits)
    }

    mutating func optionalBool(_ key: String) throws(FieldError) -> Bool? {
        guard let value = try value(key, required: false) else { return nil }
        guard case .bool(let flag) = value else { throw error(key, "must be true or false, found \(value.kindName)") }
        return flag
    }

    mutating func timestamp(_ key: String) throws(FieldError) -> Timestamp {
        guard let value = try value(key, required: true) else { throw error(key, "is required") }
        guard case .string(let text) = value, let moment = Timestamp(iso8601: text) else {
            throw error(key, "must be an ISO-8601 UTC time such as 2026-03-02T09:31:00Z")
        }
        return moment
    }

    mutating func object(_ key: String) throws(FieldError) -> JSONObject {
        guard let object = try optionalObject(key) else { throw error(key, "is required") }
        return object
    }

    mutating func optionalObject(_ key: String) throws(FieldError) -> JSONObject? {
        guard let value = try value(key, required: false) else { return nil }
        guard case .object(let object) = value else { throw error(key, "must be an object, found \(value.kindName)") }
        return object
    }

    /// Throws for the first member that no reader asked for.
    func rejectUnknownFields() throws(FieldError) {
        for (index, member) in object.members.enumerated() where index >= 64 || read & (1 << UInt64(index)) == 0 {
            throw error(member.key, "is not a known field")
        }
    }
}

