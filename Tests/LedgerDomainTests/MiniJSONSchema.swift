import Foundation

/// A small JSON Schema (draft 2020-12) validator for exactly the keyword subset used by
/// `schemas/events/*.schema.json` and `schemas/import-line.schema.json`, so tests can check the
/// golden payloads and the ledger's own output against the published contract without a
/// third-party dependency.
///
/// Supported keywords: `$schema`, `$id`, `title`, `description`, `format` (annotations only),
/// `type` (a name or a list of names), `properties`, `required`, `additionalProperties` (a
/// boolean), `enum`, `const`, `not`, `minimum`, `maximum`, `exclusiveMinimum`, `multipleOf`,
/// `minLength`, `maxLength` (counted in Unicode scalars, like JSON Schema's code points),
/// `pattern` and `minProperties`. Any other keyword makes `init(data:)` throw, so a schema can
/// never silently rely on something this validator ignores.
///
/// Two choices keep it in step with `tools/check_schemas.py`:
/// - `multipleOf` is decided on the number's decimal text (the shortest text that reads back as
///   the same `Double`), not by floating-point division, so 0.07 is a multiple of 0.01 and
///   10.001 is not.
/// - In `pattern`, `$` means the end of the input, as in ECMA-262; ICU's `$` would also match
///   before a final newline.
///
/// Instances are what `JSONSerialization.jsonObject(with:)` returns (without
/// `.mutableContainers`), or the same shapes built from Swift literals: `[String: Any]`,
/// `[Any]`, `String`, `Bool`, integers, `Double`, `NSNumber`, `NSNull`.
internal struct MiniJSONSchema: Sendable {
    /// Why a schema document was refused.
    internal enum SchemaError: Error, CustomStringConvertible, Sendable {
        case notJSON(String)
        case notASchemaObject(path: String)
        case unsupportedKeyword(path: String, keyword: String)
        case badKeywordValue(path: String, keyword: String, expected: String)
        case badPattern(path: String, pattern: String)

        var description: String {
            switch self {
            case .notJSON(let reason):
                return "schema is not JSON: \(reason)"
            case .notASchemaObject(let path):
                return "\(path): a schema must be a JSON object"
            case .unsupportedKeyword(let path, let keyword):
                return "\(path): keyword \"\(keyword)\" is not supported by MiniJSONSchema"
            case .badKeywordValue(let path, let keyword, let expected):
                return "\(path): \"\(keyword)\" must be \(expected)"
            case .badPattern(let path, let pattern):
                return "\(path): pattern \"\(pattern)\" is not a valid regular expression"
            }
        }
    }

    private let root: Node

    /// Parses a schema document (UTF-8 JSON).
    internal init(data: Data) throws {
        let document: Any
        do {
            document = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw SchemaError.notJSON(String(describing: error))
        }
        root = try Node(parsing: Value.make(document), at: "#")
    }

    /// Every way `instance` breaks the schema; empty when it is valid. Each message starts with
    /// the path of the offending value, `$` for the instance itself, e.g. `$.amount: …` or
    /// `$.metadata.actor: …`.
    internal func errors(for instance: Any) -> [String] {
        var found: [String] = []
        root.validate(Value.make(instance), at: "$", into: &found)
        return found
    }
}

// MARK: - JSON values

extension MiniJSONSchema {
    /// A JSON number with the decimal text it was written as.
    struct Number: Sendable {
        let double: Double
        let text: String

        var isIntegral: Bool {
            if let decimal = DecimalText(text) {
                return decimal.digits.isEmpty || decimal.exponent >= 0
            }
            return double.isFinite && double.rounded(.towardZero) == double
        }
    }

    /// A JSON value, decoded once from Foundation's `Any` so that bridging questions are
    /// answered in one place.
    enum Value: Sendable {
        case null
        case bool(Bool)
        case number(Number)
        case string(String)
        case array([Value])
        case object([String: Value])
        /// Something that is not a JSON value (the name of its Swift type).
        case unsupported(String)

        static func make(_ raw: Any) -> Value {
            let mirror = Mirror(reflecting: raw)
            if mirror.displayStyle == .optional {
                guard let wrapped = mirror.children.first else { return .null }
                return make(wrapped.value)
            }
            if raw is NSNull {
                return .null
            }
            if let string = raw as? String {
                return .string(string)
            }
            if let flag = MiniJSONSchema.boolValue(of: raw) {
                return .bool(flag)
            }
            if let number = MiniJSONSchema.numberValue(of: raw) {
                return .number(number)
            }
            if let array = raw as? [Any] {
                return .array(array.map { element in make(element) })
            }
            if let object = raw as? [String: Any] {
                return .object(object.mapValues { element in make(element) })
            }
            return .unsupported(String(describing: type(of: raw)))
        }

        var typeName: String {
            switch self {
            case .null: return "null"
            case .bool: return "boolean"
            case .number(let number): return number.isIntegral ? "integer" : "number"
            case .string: return "string"
            case .array: return "array"
            case .object: return "object"
            case .unsupported(let name): return "unsupported value of type \(name)"
            }
        }

        /// A short rendering for error messages.
        var preview: String {
            switch self {
            case .null: return "null"
            case .bool(let flag): return flag ? "true" : "false"
            case .number(let number): return number.text
            case .string(let string):
                let scalars = string.unicodeScalars
                if scalars.count <= 40 {
                    return "\"\(string)\""
                }
                var head = String.UnicodeScalarView()
                head.append(contentsOf: scalars.prefix(40))
                return "\"\(String(head))…\" (\(scalars.count) characters)"
            case .array(let items): return "an array of \(items.count)"
            case .object: return "an object"
            case .unsupported(let name): return "a \(name)"
            }
        }

        /// JSON equality: numbers compare by value (0 equals 0.0), objects ignore key order.
        func equals(_ other: Value) -> Bool {
            switch (self, other) {
            case (.null, .null):
                return true
            case (.bool(let left), .bool(let right)):
                return left == right
            case (.number(let left), .number(let right)):
                return left.double == right.double
            case (.string(let left), .string(let right)):
                return left == right
            case (.array(let left), .array(let right)):
                return left.count == right.count && zip(left, right).allSatisfy { pair in pair.0.equals(pair.1) }
            case (.object(let left), .object(let right)):
                return left.count == right.count
                    && left.allSatisfy { entry in
                        guard let match = right[entry.key] else { return false }
                        return entry.value.equals(match)
                    }
            default:
                return false
            }
        }
    }

    /// `true`/`false` when `raw` is a JSON boolean, nil for everything else, numbers included.
    ///
    /// On Linux, `JSONSerialization` returns `NSNumber(value: Bool)` for `true`/`false`: the
    /// shared boolean instances (class `__NSCFBoolean`). Plain casts cannot tell them from numbers
    /// because bridging is lenient both ways (`NSNumber(value: 1) as? Bool` succeeds and a boolean
    /// `NSNumber` casts to `Int`), so this looks at identity and class instead.
    static func isBool(_ raw: Any) -> Bool {
        boolValue(of: raw) != nil
    }

    static func boolValue(of raw: Any) -> Bool? {
        if type(of: raw) == Bool.self, let flag = raw as? Bool {
            return flag
        }
        guard let number = raw as? NSNumber else {
            return nil
        }
        if number === NSNumber(value: true) || number === NSNumber(value: false) {
            return number.boolValue
        }
        if String(describing: type(of: number)).contains("Boolean") {
            return number.boolValue
        }
        return nil
    }

    /// The number `raw` holds, with its decimal text; nil for booleans and non-numbers.
    static func numberValue(of raw: Any) -> Number? {
        if boolValue(of: raw) != nil {
            return nil
        }
        if let decimal = raw as? NSDecimalNumber {
            // JSONSerialization uses NSDecimalNumber for numbers written with more than 17 characters.
            return Number(double: decimal.doubleValue, text: decimal.decimalValue.description)
        }
        if let integer = raw as? Int {
            return Number(double: Double(integer), text: String(integer))
        }
        if let integer = raw as? UInt64 {
            return Number(double: Double(integer), text: String(integer))
        }
        if let double = raw as? Double {
            guard double.isFinite else { return nil }
            return Number(double: double, text: "\(double)")
        }
        if let number = raw as? NSNumber {
            let double = number.doubleValue
            guard double.isFinite else { return nil }
            return Number(double: double, text: "\(double)")
        }
        return nil
    }
}

// MARK: - Exact decimal arithmetic for multipleOf

extension MiniJSONSchema {
    /// A finite decimal number's magnitude as `digits × 10^exponent`, normalized: no leading or
    /// trailing zero digits; zero has no digits.
    struct DecimalText: Equatable {
        let digits: [UInt8]
        let exponent: Int

        /// Reads `[+-]digits[.digits][(e|E)[+-]digits]`, the forms Swift prints `Double` and
        /// `Decimal` in. Returns nil for anything else (`inf`, `nan`, empty text).
        init?(_ text: String) {
            let bytes = Array(text.utf8)
            var index = 0
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                index += 1
            }
            var mantissa: [UInt8] = []
            var fractionDigits = 0
            var seenPoint = false
            while index < bytes.count {
                let byte = bytes[index]
                if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                    mantissa.append(byte - UInt8(ascii: "0"))
                    if seenPoint {
                        fractionDigits += 1
                    }
                } else if byte == UInt8(ascii: "."), !seenPoint {
                    seenPoint = true
                } else {
                    break
                }
                index += 1
            }
            guard !mantissa.isEmpty else { return nil }
            var writtenExponent = 0
            if index < bytes.count {
                guard bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") else { return nil }
                index += 1
                var sign = 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    if bytes[index] == UInt8(ascii: "-") {
                        sign = -1
                    }
                    index += 1
                }
                var magnitude = 0
                var exponentDigits = 0
                while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                    guard magnitude < 100_000 else { return nil }
                    magnitude = magnitude * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                    exponentDigits += 1
                    index += 1
                }
                guard exponentDigits > 0, index == bytes.count else { return nil }
                writtenExponent = sign * magnitude
            }
            var start = 0
            while start < mantissa.count, mantissa[start] == 0 {
                start += 1
            }
            var end = mantissa.count
            var exponent = writtenExponent - fractionDigits
            while end > start, mantissa[end - 1] == 0 {
                end -= 1
                exponent += 1
            }
            let normalized = Array(mantissa[start..<end])
            self.digits = normalized
            self.exponent = normalized.isEmpty ? 0 : exponent
        }
    }

    /// Whether `value` is an integer multiple of `divisor`, decided on their decimal text.
    static func isMultiple(_ value: Number, of divisor: Number) -> Bool {
        guard let x = DecimalText(value.text), let m = DecimalText(divisor.text), !m.digits.isEmpty else {
            return isMultipleInFloatingPoint(value.double, of: divisor.double)
        }
        if x.digits.isEmpty {
            return true
        }
        // x = X·10^a and m = M·10^b, with X and M free of trailing zeros. When a < b, x/m has
        // the factor 10^(a-b) that X cannot cancel, so x is no multiple. Otherwise x/m is an
        // integer exactly when X·10^(a-b) is divisible by M.
        if x.exponent < m.exponent {
            return false
        }
        if m.digits == [1] {
            return true
        }
        guard m.digits.count <= 17 else {
            return isMultipleInFloatingPoint(value.double, of: divisor.double)
        }
        var modulus: UInt64 = 0
        for digit in m.digits {
            modulus = modulus * 10 + UInt64(digit)
        }
        var remainder: UInt64 = 0
        for digit in x.digits {
            remainder = (remainder * 10 + UInt64(digit)) % modulus
        }
        for _ in 0..<(x.exponent - m.exponent) {
            if remainder == 0 {
                break
            }
            remainder = (remainder * 10) % modulus
        }
        return remainder == 0
    }

    private static func isMultipleInFloatingPoint(_ value: Double, of divisor: Double) -> Bool {
        guard divisor != 0 else { return false }
        let quotient = value / divisor
        guard quotient.isFinite else { return false }
        let nearest = quotient.rounded()
        return abs(quotient - nearest) <= 1e-9 * max(1, abs(nearest))
    }

    /// The ICU form of an ECMA-262 pattern: every unescaped `$` outside a character class
    /// becomes `\z` (end of input), because ICU's `$` also matches before a final newline.
    static func icuPattern(_ ecmaPattern: String) -> String {
        var result = ""
        var escaped = false
        var inClass = false
        for character in ecmaPattern {
            if escaped {
                result.append(character)
                escaped = false
                continue
            }
            switch character {
            case "\\":
                escaped = true
                result.append(character)
            case "[":
                inClass = true
                result.append(character)
            case "]":
                inClass = false
                result.append(character)
            case "$" where !inClass:
                result += "\\z"
            default:
                result.append(character)
            }
        }
        return result
    }
}

// MARK: - Schema nodes

extension MiniJSONSchema {
    /// One parsed (sub)schema.
    final class Node: Sendable {
        static let keywords: Set<String> = [
            "$schema", "$id", "title", "description", "format",
            "type", "properties", "required", "additionalProperties", "enum", "const", "not",
            "minimum", "maximum", "exclusiveMinimum", "multipleOf",
            "minLength", "maxLength", "pattern", "minProperties",
        ]
        static let typeNames: Set<String> = ["null", "boolean", "object", "array", "number", "string", "integer"]

        let types: [String]?
        let properties: [String: Node]
        let requiredNames: [String]
        let allowsAdditionalProperties: Bool
        let enumValues: [Value]?
        let constValue: Value?
        let negated: Node?
        let minimum: Number?
        let maximum: Number?
        let exclusiveMinimum: Number?
        let multipleOf: Number?
        let minLength: Int?
        let maxLength: Int?
        /// The pattern as written (ECMA-262) and its ICU form.
        let pattern: (ecma: String, icu: String)?
        let minProperties: Int?

        init(parsing schema: Value, at path: String) throws {
            guard case .object(let keywords) = schema else {
                throw SchemaError.notASchemaObject(path: path)
            }
            for keyword in keywords.keys.sorted() where !Node.keywords.contains(keyword) {
                throw SchemaError.unsupportedKeyword(path: path, keyword: keyword)
            }

            func number(_ keyword: String) throws -> Number? {
                switch keywords[keyword] {
                case nil:
                    return nil
                case .number(let value)?:
                    return value
                default:
                    throw SchemaError.badKeywordValue(path: path, keyword: keyword, expected: "a number")
                }
            }
            func count(_ keyword: String) throws -> Int? {
                switch keywords[keyword] {
                case nil:
                    return nil
                case .number(let value)? where value.isIntegral && value.double >= 0 && value.double <= 1e15:
                    return Int(value.double)
                default:
                    throw SchemaError.badKeywordValue(path: path, keyword: keyword, expected: "a non-negative integer")
                }
            }
            func strings(_ keyword: String) throws -> [String]? {
                switch keywords[keyword] {
                case nil:
                    return nil
                case .string(let single)? where keyword == "type":
                    return [single]
                case .array(let items)?:
                    var names: [String] = []
                    for item in items {
                        guard case .string(let name) = item else {
                            throw SchemaError.badKeywordValue(path: path, keyword: keyword, expected: "a list of strings")
                        }
                        names.append(name)
                    }
                    return names
                default:
                    throw SchemaError.badKeywordValue(path: path, keyword: keyword, expected: "a list of strings")
                }
            }

            let types = try strings("type")
            for name in types ?? [] where !Node.typeNames.contains(name) {
                throw SchemaError.badKeywordValue(path: path, keyword: "type", expected: "one of \(Node.typeNames.sorted())")
            }

            var properties: [String: Node] = [:]
            switch keywords["properties"] {
            case nil:
                break
            case .object(let members)?:
                for (name, member) in members {
                    properties[name] = try Node(parsing: member, at: "\(path)/properties/\(name)")
                }
            default:
                throw SchemaError.badKeywordValue(path: path, keyword: "properties", expected: "an object of schemas")
            }

            let allowsAdditional: Bool
            switch keywords["additionalProperties"] {
            case nil:
                allowsAdditional = true
            case .bool(let flag)?:
                allowsAdditional = flag
            default:
                throw SchemaError.badKeywordValue(path: path, keyword: "additionalProperties", expected: "a boolean")
            }

            let enumValues: [Value]?
            switch keywords["enum"] {
            case nil:
                enumValues = nil
            case .array(let items)?:
                enumValues = items
            default:
                throw SchemaError.badKeywordValue(path: path, keyword: "enum", expected: "an array")
            }

            let negated: Node?
            if let subschema = keywords["not"] {
                negated = try Node(parsing: subschema, at: "\(path)/not")
            } else {
                negated = nil
            }

            let multipleOf = try number("multipleOf")
            if let multipleOf, !(multipleOf.double > 0) {
                throw SchemaError.badKeywordValue(path: path, keyword: "multipleOf", expected: "greater than 0")
            }

            let pattern: (ecma: String, icu: String)?
            switch keywords["pattern"] {
            case nil:
                pattern = nil
            case .string(let ecma)?:
                let icu = MiniJSONSchema.icuPattern(ecma)
                guard (try? NSRegularExpression(pattern: icu)) != nil else {
                    throw SchemaError.badPattern(path: path, pattern: ecma)
                }
                pattern = (ecma: ecma, icu: icu)
            default:
                throw SchemaError.badKeywordValue(path: path, keyword: "pattern", expected: "a string")
            }

            for keyword in ["$schema", "$id", "title", "description", "format"] {
                switch keywords[keyword] {
                case nil, .string?:
                    continue
                default:
                    throw SchemaError.badKeywordValue(path: path, keyword: keyword, expected: "a string")
                }
            }

            let requiredNames = try strings("required") ?? []
            let minimum = try number("minimum")
            let maximum = try number("maximum")
            let exclusiveMinimum = try number("exclusiveMinimum")
            let minLength = try count("minLength")
            let maxLength = try count("maxLength")
            let minProperties = try count("minProperties")

            // Every throwing step is above: the stored properties are set only once all parsed.
            self.types = types
            self.properties = properties
            self.requiredNames = requiredNames
            self.allowsAdditionalProperties = allowsAdditional
            self.enumValues = enumValues
            self.constValue = keywords["const"]
            self.negated = negated
            self.minimum = minimum
            self.maximum = maximum
            self.exclusiveMinimum = exclusiveMinimum
            self.multipleOf = multipleOf
            self.minLength = minLength
            self.maxLength = maxLength
            self.pattern = pattern
            self.minProperties = minProperties
        }

        // MARK: Validation

        func validate(_ instance: Value, at path: String, into errors: inout [String]) {
            if let types, !types.contains(where: { name in Node.instance(instance, hasType: name) }) {
                errors.append("\(path): expected \(types.joined(separator: " or ")), got \(instance.typeName) \(instance.preview)")
                return
            }
            if let enumValues, !enumValues.contains(where: { candidate in candidate.equals(instance) }) {
                let allowed = enumValues.map { candidate in candidate.preview }.joined(separator: ", ")
                errors.append("\(path): \(instance.preview) is not one of \(allowed)")
            }
            if let constValue, !constValue.equals(instance) {
                errors.append("\(path): \(instance.preview) is not \(constValue.preview)")
            }
            if let negated {
                var inner: [String] = []
                negated.validate(instance, at: path, into: &inner)
                if inner.isEmpty {
                    errors.append("\(path): \(instance.preview) is not allowed")
                }
            }
            switch instance {
            case .number(let number):
                validateNumber(number, at: path, into: &errors)
            case .string(let string):
                validateString(string, at: path, into: &errors)
            case .object(let members):
                validateObject(members, at: path, into: &errors)
            default:
                break
            }
        }

        private func validateNumber(_ number: Number, at path: String, into errors: inout [String]) {
            if let minimum, number.double < minimum.double {
                errors.append("\(path): \(number.text) is less than the minimum \(minimum.text)")
            }
            if let maximum, number.double > maximum.double {
                errors.append("\(path): \(number.text) is greater than the maximum \(maximum.text)")
            }
            if let exclusiveMinimum, number.double <= exclusiveMinimum.double {
                errors.append("\(path): \(number.text) must be greater than \(exclusiveMinimum.text)")
            }
            if let multipleOf, !MiniJSONSchema.isMultiple(number, of: multipleOf) {
                errors.append("\(path): \(number.text) is not a multiple of \(multipleOf.text)")
            }
        }

        private func validateString(_ string: String, at path: String, into errors: inout [String]) {
            let length = string.unicodeScalars.count
            if let minLength, length < minLength {
                errors.append("\(path): \(length) characters, fewer than the minimum \(minLength)")
            }
            if let maxLength, length > maxLength {
                errors.append("\(path): \(length) characters, more than the maximum \(maxLength)")
            }
            if let pattern {
                guard let expression = try? NSRegularExpression(pattern: pattern.icu) else {
                    errors.append("\(path): pattern \"\(pattern.ecma)\" cannot be compiled")
                    return
                }
                let range = NSRange(location: 0, length: string.utf16.count)
                if expression.firstMatch(in: string, options: [], range: range) == nil {
                    errors.append("\(path): \(Value.string(string).preview) does not match \(pattern.ecma)")
                }
            }
        }

        private func validateObject(_ members: [String: Value], at path: String, into errors: inout [String]) {
            for name in requiredNames where members[name] == nil {
                errors.append("\(path).\(name): required property is missing")
            }
            if let minProperties, members.count < minProperties {
                errors.append("\(path): \(members.count) properties, fewer than the minimum \(minProperties)")
            }
            for name in properties.keys.sorted() {
                guard let schema = properties[name], let member = members[name] else { continue }
                schema.validate(member, at: "\(path).\(name)", into: &errors)
            }
            if !allowsAdditionalProperties {
                for name in members.keys.sorted() where properties[name] == nil {
                    errors.append("\(path).\(name): property is not allowed")
                }
            }
        }

        private static func instance(_ instance: Value, hasType name: String) -> Bool {
            switch (name, instance) {
            case ("null", .null), ("boolean", .bool), ("number", .number), ("string", .string),
                ("array", .array), ("object", .object):
                return true
            case ("integer", .number(let number)):
                return number.isIntegral
            default:
                return false
            }
        }
    }
}
