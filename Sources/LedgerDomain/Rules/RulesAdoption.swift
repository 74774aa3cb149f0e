import LedgerCore

/// `RulesAdopted` (catalogue v2): the rules a ledger decides with, kept in its own log so
/// that every decision's `rulesVersion` names a rules document an auditor can read.
///
/// The event lives in the stream `ledger/rules`; its data is
/// `{"version":"…","rules":{…the canonical rules document…},"reason":"…"}`. The rules in
/// force are those of the last adoption (the default rules before the first).
public struct RulesAdoption: Sendable, Equatable {
    public static let stream = "ledger/rules"
    public static let type = "RulesAdopted"
    public static let schemaVersion = 1

    public var rules: Rules
    public var reason: String

    public init(rules: Rules, reason: String) {
        self.rules = rules
        self.reason = reason
    }

    public var version: String { rules.version }

    /// The stored `data`: the version, the canonical document (exactly what the version
    /// hashes) and the reason.
    public var dataJSON: String {
        var w = JSONWriter(capacity: 2048)
        w.beginObject()
        w.key("version"); w.string(version)
        w.key("rules"); w.raw(rules.canonicalJSON)
        w.key("reason"); w.string(reason)
        w.endObject()
        return w.text
    }

    /// The id of an adoption: derived from the version and the moment, so a retried
    /// `rules adopt` of the same file in the same millisecond is one event, and adopting
    /// the defaults for a ledger written before rules were kept is one event whoever does it.
    public static func eventId(version: String, moment: Timestamp?) -> String {
        EventID.derived(from: "clientledger/rules-adopted\n\(version)\n\(moment?.iso8601 ?? "default")")
    }

    /// Reads a stored `RulesAdopted` payload back: the document must load as rules and hash
    /// to the version it names.
    public static func decode(data: String) throws(FieldError) -> RulesAdoption {
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(data)
        } catch {
            throw FieldError(field: "data", problem: "is not JSON (\(error))")
        }
        guard case .object(let object) = parsed else { throw FieldError(field: "data", problem: "must be an object") }
        guard case .string(let version)? = object["version"] else { throw FieldError(field: "data.version", problem: "is required") }
        guard case .string(let reason)? = object["reason"] else { throw FieldError(field: "data.reason", problem: "is required") }
        guard case .object(let document)? = object["rules"] else { throw FieldError(field: "data.rules", problem: "must be the rules document") }
        let rules: Rules
        do {
            rules = try Rules(canonicalDocument: document)
        } catch {
            throw FieldError(field: "data.rules.\(error.path)", problem: error.problem)
        }
        guard rules.version == version else {
            throw FieldError(field: "data.version", problem: "names \(version) but the document is version \(rules.version)")
        }
        return RulesAdoption(rules: rules, reason: reason)
    }
}

extension Rules {
    /// Rules from their canonical document (`canonicalJSON`, as kept in `RulesAdopted`).
    /// The canonical form differs from a rules file only in the tier multipliers, kept in
    /// thousandths (`multiplierPermille`); everything else is read by the rules file loader,
    /// with all its checks.
    public init(canonicalDocument: JSONObject) throws(RulesError) {
        try self.init(yaml: Self.fileJSON(canonicalDocument: canonicalDocument))
    }

    /// These rules as a rules file (JSON, which the YAML loader reads): the canonical
    /// document with the multipliers as decimals. `rules check` and `rules adopt` accept it,
    /// and it loads to the same version.
    public var fileJSON: String {
        guard case .object(let document)? = try? JSONParser.parse(canonicalJSON) else { return canonicalJSON }
        return Self.fileJSON(canonicalDocument: document)
    }

    /// The canonical document as a rules file.
    public static func fileJSON(canonicalDocument: JSONObject) -> String {
        var document = canonicalDocument
        for (index, member) in document.members.enumerated() where member.key == "tiers" {
            guard case .object(var tiers) = member.value else { continue }
            for (levelsIndex, tierMember) in tiers.members.enumerated() where tierMember.key == "levels" {
                guard case .array(let levels) = tierMember.value else { continue }
                let converted: [JSONValue] = levels.map { level in
                    guard case .object(var object) = level else { return level }
                    for (i, field) in object.members.enumerated() where field.key == "multiplierPermille" {
                        guard case .number(let text) = field.value, let permille = Int64(text), permille >= 0 else { continue }
                        let fraction = String(permille % 1000)
                        let padded = String(repeating: "0", count: 3 - fraction.count) + fraction
                        object.members[i] = (key: "multiplier", value: .number("\(permille / 1000).\(padded)"))
                    }
                    return .object(object)
                }
                tiers.members[levelsIndex] = (key: "levels", value: .array(converted))
            }
            document.members[index] = (key: "tiers", value: .object(tiers))
        }
        var w = JSONWriter(capacity: 2048)
        w.value(.object(document))
        return w.text
    }
}
