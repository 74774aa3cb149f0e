import LedgerCore
import Yams

/// Which group an enrolled client is in.
public enum CampaignGroup: String, CaseIterable, Sendable, Codable {
    case treatment, holdout
}

/// A campaign definition (the campaign file), validated against the rules in force.
///
/// Every field is checked, and a problem names the field by its path in the file
/// (`window.to`, `target.rfm.recency[1]`, `award.multiplier`).
public struct CampaignDefinition: Sendable, Equatable {
    public enum Award: Sendable, Equatable {
        /// Points once per treatment client, at launch.
        case fixed(points: Int64)
        /// Extra points = floor(points the `on` event earned × (multiplier − 1)); the
        /// multiplier in thousandths (2.0 → 2000).
        case multiplier(permille: Int64, on: [EventType])
        /// Points for each `on` event in the window.
        case perEvent(points: Int64, on: [EventType])

        public var kind: String {
            switch self {
            case .fixed: return "fixed"
            case .multiplier: return "multiplier"
            case .perEvent: return "perEvent"
            }
        }

        /// The event types that trigger an award (none for a fixed award).
        public var on: [EventType] {
            switch self {
            case .fixed: return []
            case .multiplier(_, let on), .perEvent(_, let on): return on
            }
        }
    }

    /// Who is targeted: every key given must hold; a list is any-of. Nil: not restricted.
    public struct Target: Sendable, Equatable {
        public var tiers: [Tier]?
        public var segments: [Segment]?
        public var stages: [LifecycleStage]?
        public var rfmRecency: [Int]?
        public var rfmFrequency: [Int]?
        public var rfmMonetary: [Int]?
        public var eligibleFor: String?
        public var churnRisk: [String]?

        public init() {}

        public var usesRFM: Bool { rfmRecency != nil || rfmFrequency != nil || rfmMonetary != nil }
    }

    public var id: String
    public var name: String
    /// First and last day of the window (days since 1970, UTC), both included.
    public var fromDay: Int64
    public var toDay: Int64
    public var target: Target
    public var award: Award
    public var perClientCap: Int64
    public var budget: Int64
    public var promotes: String?
    /// Share of the audience held out, in ten-thousandths (0.1 → 1000).
    public var holdoutBasisPoints: Int64

    /// The churn-risk bands a target may name.
    public static let churnBands = ["low", "medium", "high"]
    /// Fact types an award may be triggered by; a multiplier needs one that earns points.
    public static let earningTypes: [EventType] = [.tradeExecuted, .productPurchased, .fundsDeposited, .surveyAnswered]
    public static let triggerTypes: [EventType] = EventType.allCases.filter {
        !$0.isDecision && !$0.isCampaignEvent && $0 != .clientRegistered && $0 != .clientOffboarded
    }

    /// The product whose eligibility limits the audience: `promotes`, or `target.eligibleFor`.
    public var suitabilityProduct: String? { promotes ?? target.eligibleFor }

    /// The window's first moment and its last (the end of the last day).
    public var windowStart: Timestamp { Timestamp(dayNumber: fromDay) }
    public var windowEnd: Timestamp { Timestamp(millisecondsSinceEpoch: Timestamp(dayNumber: toDay + 1).millisecondsSinceEpoch - 1) }
    public var windowDays: Int64 { toDay - fromDay + 1 }

    public func inWindow(_ moment: Timestamp) -> Bool {
        let day = moment.dayNumber
        return day >= fromDay && day <= toDay
    }

    /// Whether a client is held out: a hash of campaign id and client id against the share,
    /// so the same campaign and client always land in the same group.
    public func group(of clientId: String) -> CampaignGroup {
        guard holdoutBasisPoints > 0 else { return .treatment }
        let digest = HashChain.sha256(Array("clientledger/holdout\n\(id)\n\(clientId)".utf8))
        var value: UInt64 = 0
        for byte in digest.prefix(8) { value = value << 8 | UInt64(byte) }
        return value % 10_000 < UInt64(holdoutBasisPoints) ? .holdout : .treatment
    }

    // MARK: - Reading

    /// Reads a campaign file: JSON when it starts with `{`, YAML otherwise.
    public static func parseFile(_ text: String, rules: Rules) throws(FieldError) -> CampaignDefinition {
        try parse(try document(text), rules: rules)
    }

    /// The file's content as a JSON object (YAML scalars typed as YAML 1.2 core would:
    /// quoted text stays text, dates stay text).
    public static func document(_ text: String) throws(FieldError) -> JSONObject {
        let trimmed = text.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" || $0 == "\u{FEFF}" }
        if trimmed.first == "{" {
            let value: JSONValue
            do {
                value = try JSONParser.parse(String(trimmed))
            } catch {
                throw FieldError(field: "file", problem: "is not valid JSON: \(error)")
            }
            guard case .object(let object) = value else { throw FieldError(field: "file", problem: "must hold an object") }
            return object
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw FieldError(field: "file", problem: "is not valid YAML: \(error)")
        }
        guard let node else { throw FieldError(field: "file", problem: "is empty") }
        guard case .object(let object) = try json(node, path: "") else {
            throw FieldError(field: "file", problem: "must hold a mapping of the campaign's fields")
        }
        return object
    }

    private static func json(_ node: Node, path: String) throws(FieldError) -> JSONValue {
        let field = path.isEmpty ? "file" : path
        switch node {
        case .scalar(let scalar):
            if scalar.style != .plain { return .string(scalar.string) }
            let text = scalar.string
            switch text {
            case "", "~", "null", "Null", "NULL": return .null
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default: break
            }
            if (try? JSONParser.parse(text)).map({ if case .number = $0 { return true } else { return false } }) == true {
                return .number(text)
            }
            return .string(text)
        case .sequence(let sequence):
            var items: [JSONValue] = []
            for (index, item) in sequence.enumerated() { items.append(try json(item, path: "\(path)[\(index)]")) }
            return .array(items)
        case .mapping(let mapping):
            var members: [(key: String, value: JSONValue)] = []
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else { throw FieldError(field: field, problem: "has a key that is not text") }
                let name = keyScalar.string
                let child = path.isEmpty ? name : "\(path).\(name)"
                guard !members.contains(where: { $0.key == name }) else { throw FieldError(field: child, problem: "is given twice") }
                members.append((name, try json(value, path: child)))
            }
            return .object(JSONObject(members))
        case .alias:
            throw FieldError(field: field, problem: "uses a YAML alias; write the value out")
        }
    }

    /// Validates a definition object (the file's content, or a stored `definition`).
    public static func parse(_ object: JSONObject, rules: Rules) throws(FieldError) -> CampaignDefinition {
        var r = DefinitionReader(object, path: "")
        let id = try r.text("id")
        guard ImportLineParser.isIdentifier(id) else { throw r.error("id", "must be \(ImportLineParser.idPattern)") }
        let name = try r.text("name", maxLength: 200)

        var w = DefinitionReader(try r.object("window"), path: "window")
        let fromDay = try w.day("from")
        let toDay = try w.day("to")
        try w.finish()
        guard toDay >= fromDay else {
            throw w.error("to", "\(Timestamp(dayNumber: toDay).isoDate) is before the window's start \(Timestamp(dayNumber: fromDay).isoDate)")
        }

        var target = Target()
        if let targetObject = try r.optionalObject("target") {
            var t = DefinitionReader(targetObject, path: "target")
            target.tiers = try t.optionalList("tiers") { (value, field) throws(FieldError) in
                try choice(value, field: field, Tier.self)
            }
            target.segments = try t.optionalList("segments") { (value, field) throws(FieldError) in
                try choice(value, field: field, Segment.self)
            }
            target.stages = try t.optionalList("stages") { (value, field) throws(FieldError) in
                try choice(value, field: field, LifecycleStage.self)
            }
            if let rfmObject = try t.optionalObject("rfm") {
                var f = DefinitionReader(rfmObject, path: "target.rfm")
                func scores(_ key: String) throws(FieldError) -> [Int]? {
                    try f.optionalList(key) { (value, field) throws(FieldError) in
                        Int(try wholeNumber(value, field: field, in: 1...5, what: "an RFM score"))
                    }
                }
                target.rfmRecency = try scores("recency")
                target.rfmFrequency = try scores("frequency")
                target.rfmMonetary = try scores("monetary")
                try f.finish()
                guard target.usesRFM else {
                    throw FieldError(field: "target.rfm", problem: "names no score (recency, frequency or monetary)")
                }
            }
            if let product = try t.optionalText("eligibleFor") {
                guard rules.product(product) != nil else { throw t.error("eligibleFor", unknownProduct(product, rules: rules)) }
                target.eligibleFor = product
            }
            target.churnRisk = try t.optionalList("churnRisk") { (value, field) throws(FieldError) in
                guard case .string(let band) = value, churnBands.contains(band) else {
                    throw FieldError(field: field, problem: "must be one of \(churnBands.joined(separator: ", ")), found \(describe(value))")
                }
                return band
            }
            try t.finish()
        }

        var a = DefinitionReader(try r.object("award"), path: "award")
        let kinds = ["fixed", "multiplier", "perEvent"].filter { a.has($0) }
        guard kinds.count == 1 else {
            throw FieldError(
                field: "award",
                problem: kinds.isEmpty ? "must give one of fixed, multiplier or perEvent" : "gives \(kinds.joined(separator: " and ")): give exactly one of fixed, multiplier or perEvent")
        }
        let award: Award
        switch kinds[0] {
        case "fixed":
            award = .fixed(points: try a.integer("fixed", in: 1...EventPayload.maximumPoints))
            if a.has("on") { throw a.error("on", "goes with multiplier or perEvent, not with a fixed award") }
        case "multiplier":
            let permille = try a.multiplier("multiplier")
            let on = try a.triggers(multiplier: true)
            award = .multiplier(permille: permille, on: on)
        default:
            let points = try a.integer("perEvent", in: 1...EventPayload.maximumPoints)
            award = .perEvent(points: points, on: try a.triggers(multiplier: false))
        }
        try a.finish()

        let cap = try r.integer("perClientCap", in: 1...EventPayload.maximumPoints)
        let budget = try r.integer("budget", in: 1...EventPayload.maximumPoints)
        var promotes: String?
        if let product = try r.optionalText("promotes") {
            guard rules.product(product) != nil else { throw r.error("promotes", unknownProduct(product, rules: rules)) }
            if let other = target.eligibleFor, other != product {
                throw r.error(
                    "promotes",
                    "\(product) is promoted but the target asks for eligibility for \(other): clients eligible for \(other) may be unsuitable for \(product); drop target.eligibleFor (promoting a product already limits the audience to clients eligible for it) or name the same product")
            }
            promotes = product
        }
        let holdout = try r.holdout("holdout")
        try r.finish()
        return CampaignDefinition(
            id: id, name: name, fromDay: fromDay, toDay: toDay, target: target, award: award, perClientCap: cap,
            budget: budget, promotes: promotes, holdoutBasisPoints: holdout)
    }

    static func unknownProduct(_ product: String, rules: Rules) -> String {
        "no product \(product.prefix(64)) in the rules (known: \(rules.products.map(\.id).joined(separator: ", ")))"
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): return "\"\(text.prefix(40))\""
        case .number(let text): return String(text.prefix(40))
        default: return value.kindName
        }
    }

    static func choice<E: RawRepresentable & CaseIterable>(_ value: JSONValue, field: String, _ type: E.Type) throws(FieldError) -> E
    where E.RawValue == String {
        let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
        guard case .string(let text) = value, let choice = E(rawValue: text) else {
            throw FieldError(field: field, problem: "must be one of \(allowed), found \(describe(value))")
        }
        return choice
    }

    static func wholeNumber(_ value: JSONValue, field: String, in range: ClosedRange<Int64>, what: String) throws(FieldError) -> Int64 {
        guard case .number(let text) = value, let number = FieldReader.wholeNumber(text) else {
            throw FieldError(field: field, problem: "must be a whole number, found \(describe(value))")
        }
        guard range.contains(number) else {
            throw FieldError(field: field, problem: "\(what) must be between \(range.lowerBound) and \(range.upperBound), found \(number)")
        }
        return number
    }

    /// A decimal number's value in units of 10^-places, refusing more places.
    static func fixedPoint(_ text: String, places: Int) -> Int64? {
        var whole = Substring(text)
        var fraction = Substring("")
        if let point = text.firstIndex(of: ".") {
            whole = text[..<point]
            fraction = text[text.index(after: point)...]
        }
        guard !whole.isEmpty, whole.count <= 12, whole.allSatisfy(\.isNumber) else { return nil }
        while fraction.last == "0" { fraction = fraction.dropLast() }
        guard fraction.count <= places, fraction.allSatisfy(\.isNumber) else { return nil }
        var scale: Int64 = 1
        for _ in 0..<places { scale *= 10 }
        var part: Int64 = 0
        var digits = 0
        for character in fraction {
            part = part * 10 + Int64(character.wholeNumberValue ?? 0)
            digits += 1
        }
        while digits < places {
            part *= 10
            digits += 1
        }
        guard let value = Int64(whole) else { return nil }
        return value * scale + part
    }

    // MARK: - Canonical form

    /// The definition as stored in `CampaignDefined.definition`: every key given, in a
    /// fixed order, numbers in their shortest exact form.
    public var canonical: JSONObject {
        func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }
        func ints(_ values: [Int]) -> JSONValue { .array(values.map { .number(String($0)) }) }
        var members: [(key: String, value: JSONValue)] = [
            ("id", .string(id)), ("name", .string(name)),
            ("window", .object(JSONObject([
                ("from", .string(Timestamp(dayNumber: fromDay).isoDate)), ("to", .string(Timestamp(dayNumber: toDay).isoDate)),
            ]))),
        ]
        var t: [(key: String, value: JSONValue)] = []
        if let tiers = target.tiers { t.append(("tiers", strings(tiers.map(\.rawValue)))) }
        if let segments = target.segments { t.append(("segments", strings(segments.map(\.rawValue)))) }
        if let stages = target.stages { t.append(("stages", strings(stages.map(\.rawValue)))) }
        if target.usesRFM {
            var rfm: [(key: String, value: JSONValue)] = []
            if let scores = target.rfmRecency { rfm.append(("recency", ints(scores))) }
            if let scores = target.rfmFrequency { rfm.append(("frequency", ints(scores))) }
            if let scores = target.rfmMonetary { rfm.append(("monetary", ints(scores))) }
            t.append(("rfm", .object(JSONObject(rfm))))
        }
        if let product = target.eligibleFor { t.append(("eligibleFor", .string(product))) }
        if let bands = target.churnRisk { t.append(("churnRisk", strings(bands))) }
        members.append(("target", .object(JSONObject(t))))
        var a: [(key: String, value: JSONValue)] = []
        switch award {
        case .fixed(let points):
            a.append(("fixed", .number(String(points))))
        case .multiplier(let permille, let on):
            a.append(("multiplier", .number(Self.decimalText(permille, places: 3))))
            a.append(("on", strings(on.map(\.rawValue))))
        case .perEvent(let points, let on):
            a.append(("perEvent", .number(String(points))))
            a.append(("on", strings(on.map(\.rawValue))))
        }
        members.append(("award", .object(JSONObject(a))))
        members.append(("perClientCap", .number(String(perClientCap))))
        members.append(("budget", .number(String(budget))))
        if let promotes { members.append(("promotes", .string(promotes))) }
        members.append(("holdout", .number(Self.decimalText(holdoutBasisPoints, places: 4))))
        return JSONObject(members)
    }

    /// `value` × 10^-places as the shortest decimal (2000, 3 → "2.0"; 1000, 4 → "0.1").
    public static func decimalText(_ value: Int64, places: Int) -> String {
        var scale: Int64 = 1
        for _ in 0..<places { scale *= 10 }
        var fraction = String(value % scale)
        while fraction.count < places { fraction = "0" + fraction }
        while fraction.count > 1, fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(value / scale).\(fraction)"
    }

    /// The multiplier as text (`2.0`), nil for other awards.
    public var multiplierText: String? {
        if case .multiplier(let permille, _) = award { return Self.decimalText(permille, places: 3) }
        return nil
    }

    public var holdoutText: String { Self.decimalText(holdoutBasisPoints, places: 4) }

    /// Checks a free text given with a campaign command (a launch note, a close reason)
    /// like every text field: non-empty, at most 200 characters, no control characters.
    public static func checkText(_ text: String, field: String) throws(FieldError) {
        try FieldReader.checkText(text, maxLength: 200, field: field)
    }
}

/// Reads one object of a campaign file, naming fields by their path and refusing keys that
/// were never asked for.
struct DefinitionReader {
    let object: JSONObject
    let path: String
    private var used: Set<String> = []

    init(_ object: JSONObject, path: String) {
        self.object = object
        self.path = path
    }

    func field(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    func error(_ key: String, _ problem: String) -> FieldError { FieldError(field: field(key), problem: problem) }
    func has(_ key: String) -> Bool { object[key] != nil }

    private mutating func value(_ key: String) throws(FieldError) -> JSONValue? {
        used.insert(key)
        guard let value = object[key] else { return nil }
        guard value != .null else { throw error(key, "has no value: give one or leave the key out") }
        return value
    }

    mutating func text(_ key: String, maxLength: Int = 64) throws(FieldError) -> String {
        guard let text = try optionalText(key, maxLength: maxLength) else { throw error(key, "is required") }
        return text
    }

    mutating func optionalText(_ key: String, maxLength: Int = 64) throws(FieldError) -> String? {
        guard let value = try value(key) else { return nil }
        guard case .string(let text) = value else {
            throw error(key, "must be text, found \(CampaignDefinition.describe(value))")
        }
        try FieldReader.checkText(text, maxLength: maxLength, field: field(key))
        return text
    }

    mutating func object(_ key: String) throws(FieldError) -> JSONObject {
        guard let object = try optionalObject(key) else { throw error(key, "is required") }
        return object
    }

    mutating func optionalObject(_ key: String) throws(FieldError) -> JSONObject? {
        guard let value = try value(key) else { return nil }
        guard case .object(let object) = value else { throw error(key, "must be a mapping, found \(value.kindName)") }
        return object
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int64>) throws(FieldError) -> Int64 {
        guard let value = try value(key) else { throw error(key, "is required") }
        guard case .number(let text) = value, let number = FieldReader.wholeNumber(text) else {
            throw error(key, "must be a whole number of points, found \(CampaignDefinition.describe(value))")
        }
        guard number >= range.lowerBound else { throw error(key, "must be greater than 0, found \(number)") }
        guard number <= range.upperBound else { throw error(key, "must be at most \(range.upperBound), found \(number)") }
        return number
    }

    /// A whole UTC day, `2026-03-01`.
    mutating func day(_ key: String) throws(FieldError) -> Int64 {
        guard let value = try value(key) else { throw error(key, "is required") }
        guard case .string(let text) = value, text.utf8.count == 10, let moment = Timestamp(iso8601: text) else {
            throw error(key, "must be a date such as 2026-03-01 (whole UTC days), found \(CampaignDefinition.describe(value))")
        }
        return moment.dayNumber
    }

    mutating func optionalList<T>(_ key: String, _ item: (JSONValue, String) throws(FieldError) -> T) throws(FieldError) -> [T]? {
        guard let value = try value(key) else { return nil }
        let items: [JSONValue]
        if case .array(let array) = value { items = array } else { items = [value] }
        guard !items.isEmpty else { throw error(key, "is empty: it would target no one; leave the key out to target everyone") }
        var result: [T] = []
        for (index, entry) in items.enumerated() { result.append(try item(entry, "\(field(key))[\(index)]")) }
        return result
    }

    /// The award multiplier in thousandths: above 1, at most 100, three decimals at most.
    mutating func multiplier(_ key: String) throws(FieldError) -> Int64 {
        guard let value = try value(key) else { throw error(key, "is required") }
        guard case .number(let text) = value, let permille = CampaignDefinition.fixedPoint(text, places: 3) else {
            throw error(key, "must be a number with at most 3 decimals, found \(CampaignDefinition.describe(value))")
        }
        guard permille > 1000 else { throw error(key, "must be greater than 1 (it multiplies the points the event earned), found \(text)") }
        guard permille <= 100_000 else { throw error(key, "must be at most 100, found \(text)") }
        return permille
    }

    mutating func triggers(multiplier: Bool) throws(FieldError) -> [EventType] {
        let allowed = multiplier ? CampaignDefinition.earningTypes : CampaignDefinition.triggerTypes
        guard has("on") else { throw error("on", "is required with \(multiplier ? "multiplier" : "perEvent"): the event types that earn the award") }
        let list = try optionalList("on") { (value, field) throws(FieldError) -> EventType in
            guard case .string(let text) = value, let type = EventType(rawValue: text), allowed.contains(type) else {
                throw FieldError(
                    field: field,
                    problem: "must be one of \(allowed.map(\.rawValue).joined(separator: ", "))\(multiplier ? " (a multiplier needs an event that earns points)" : ""), found \(CampaignDefinition.describe(value))")
            }
            return type
        } ?? []
        var unique: [EventType] = []
        for type in list where !unique.contains(type) { unique.append(type) }
        return unique
    }

    /// The holdout share in ten-thousandths, 0 to 0.5 (0 when not given).
    mutating func holdout(_ key: String) throws(FieldError) -> Int64 {
        guard let value = try value(key) else { return 0 }
        guard case .number(let text) = value, let share = CampaignDefinition.fixedPoint(text, places: 4) else {
            throw error(key, "must be a share between 0 and 0.5 with at most 4 decimals, found \(CampaignDefinition.describe(value))")
        }
        guard share <= 5000 else { throw error(key, "must be between 0 and 0.5 (a share of the audience), found \(text)") }
        return share
    }

    func finish() throws(FieldError) {
        for key in object.keys where !used.contains(key) {
            throw error(key, "is not a known key")
        }
    }
}
