import LedgerCore
import Foundation
import Yams

/// A problem in a rules file, named by its path (`tiers.levels[2].points`).
public struct RulesError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var problem: String

    public var description: String { path.isEmpty ? problem : "\(path): \(problem)" }
}

extension Rules {
    /// The default rules of SPEC §4, shipped with the program.
    public static let defaultYAML: String = {
        guard let url = Bundle.module.url(forResource: "default-rules", withExtension: "yaml"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { return "" }
        return text
    }()

    /// The default rules (SPEC §4).
    public static func defaults() throws(RulesError) -> Rules {
        try Rules(yaml: defaultYAML)
    }

    /// Loads rules from a YAML file.
    public init(contentsOfFile path: String) throws(RulesError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RulesError(path: "", problem: "cannot read rules file \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RulesError(path: "", problem: "rules file \(path) is not UTF-8 text")
        }
        try self.init(yaml: text)
    }

    /// Parses and checks rules: unknown keys, missing values, negative numbers, tiers out of
    /// order or with thresholds that do not increase, duplicate products are all refused.
    public init(yaml: String) throws(RulesError) {
        guard yaml.utf8.count <= 1 << 20 else {
            throw RulesError(path: "(document)", problem: "a rules file is at most 1 MiB")
        }
        try Self.refuseAnchorsAndAliases(yaml)
        let loaded: Any?
        do {
            // Compose first and check the shape: the loader must only see plain keys.
            guard let node = try Yams.compose(yaml: yaml) else {
                throw RulesError(path: "(document)", problem: "the rules file is empty")
            }
            try Self.checkKeys(node, path: "")
            loaded = try Yams.load(yaml: yaml)
        } catch let error as RulesError {
            throw error
        } catch {
            throw RulesError(path: "", problem: "not valid YAML: \(String(describing: error).prefix(300))")
        }
        var root = try Node(loaded, path: "")
        var earning = try root.map("earning")
        let trade = try Self.rate(&earning, "trade", capAllowed: true)
        let purchase = try Self.rate(&earning, "purchase", capAllowed: true)
        let deposit = try Self.rate(&earning, "deposit", capAllowed: true)
        var survey = try earning.map("survey")
        surveyPoints = try survey.int("points", min: 0, max: 1_000_000)
        surveysPerQuarter = try survey.int("perQuarter", min: 0, max: 1_000)
        try survey.finish()
        try earning.finish()
        self.trade = trade
        self.purchase = purchase
        self.deposit = deposit

        var lots = try root.map("lots")
        lotLifetimeDays = try lots.int("lifetimeDays", min: 1, max: 36_500)
        try lots.finish()

        var tierNode = try root.map("tiers")
        qualifyingWindowDays = try tierNode.int("qualifyingWindowDays", min: 1, max: 36_500)
        tierGuaranteeDays = try tierNode.int("guaranteeDays", min: 0, max: 36_500)
        var levels: [TierLevel] = []
        for (index, var level) in try tierNode.list("levels").enumerated() {
            let name = try level.string("name")
            guard let tier = Tier(rawValue: name) else {
                throw RulesError(path: level.path + ".name", problem: "unknown tier \"\(name)\" (tiers are \(Tier.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard tier.rank == index else {
                throw RulesError(path: level.path + ".name", problem: "tiers must be listed in order Standard, Silver, Gold, Platinum, Diamond; found \(name) at position \(index + 1)")
            }
            let points = try level.int("points", min: 0, max: EventPayload.maximumPoints)
            let assets = try level.money("assets")
            let multiplier = try level.decimal("multiplier", places: 3)
            guard multiplier >= 1000, multiplier <= 100_000 else {
                throw RulesError(path: level.path + ".multiplier", problem: "must be between 1.0 and 100")
            }
            guard assets <= Money.maximum else {
                throw RulesError(path: level.path + ".assets", problem: "must be at most \(Money.maximum.decimalText)")
            }
            if let previous = levels.last {
                guard points > previous.points else {
                    throw RulesError(path: level.path + ".points", problem: "thresholds must increase: \(points) is not above \(previous.tier.rawValue)'s \(previous.points)")
                }
                guard assets > previous.assets else {
                    throw RulesError(path: level.path + ".assets", problem: "thresholds must increase: \(assets.decimalText) is not above \(previous.tier.rawValue)'s \(previous.assets.decimalText)")
                }
                guard multiplier >= previous.multiplierPermille else {
                    throw RulesError(path: level.path + ".multiplier", problem: "a higher tier cannot earn less than \(previous.tier.rawValue)")
                }
            } else if points != 0 || assets.cents != 0 {
                throw RulesError(path: level.path, problem: "Standard is the starting tier: its thresholds must be 0")
            }
            try level.finish()
            levels.append(TierLevel(tier: tier, points: points, assets: assets, multiplierPermille: multiplier))
        }
        guard levels.count == Tier.allCases.count else {
            throw RulesError(path: "tiers.levels", problem: "must list all \(Tier.allCases.count) tiers, found \(levels.count)")
        }
        tiers = levels
        try tierNode.finish()

        var lifecycle = try root.map("lifecycle")
        newWithinDays = try lifecycle.int("newWithinDays", min: 1, max: 36_500)
        activeWithinDays = try lifecycle.int("activeWithinDays", min: 1, max: 36_500)
        churnedAfterDays = try lifecycle.int("churnedAfterDays", min: 1, max: 36_500)
        guard churnedAfterDays > activeWithinDays else {
            throw RulesError(path: "lifecycle.churnedAfterDays", problem: "must be greater than activeWithinDays (\(activeWithinDays))")
        }
        try lifecycle.finish()

        var risk = try root.map("riskAssessment")
        riskAssessmentValidDays = try risk.int("validDays", min: 1, max: 36_500)
        try risk.finish()

        var seen = Set<String>()
        var products: [Product] = []
        for var item in try root.list("products") {
            let id = try item.string("id")
            guard seen.insert(id).inserted else {
                throw RulesError(path: item.path + ".id", problem: "product \(id) is listed twice")
            }
            let name = try item.string("name")
            let riskText = try item.string("riskLevel")
            guard let riskLevel = ProductRisk(rawValue: riskText) else {
                throw RulesError(path: item.path + ".riskLevel", problem: "must be R1 to R5, found \"\(riskText)\"")
            }
            var minTier: Tier?
            if let tierName = try item.optionalString("minTier") {
                guard let tier = Tier(rawValue: tierName) else {
                    throw RulesError(path: item.path + ".minTier", problem: "unknown tier \"\(tierName)\"")
                }
                minTier = tier
            }
            let minAssets = try item.optionalMoney("minAssets")
            if let minAssets, minAssets > Money.maximum {
                throw RulesError(path: item.path + ".minAssets", problem: "must be at most \(Money.maximum.decimalText)")
            }
            let professionalOnly = try item.optionalBool("professionalOnly") ?? false
            try item.finish()
            products.append(Product(id: id, name: name, riskLevel: riskLevel, minTier: minTier, minAssets: minAssets, professionalOnly: professionalOnly))
        }
        self.products = products
        if root.has("retention") {
            var retention = try root.map("retention")
            personalDataRetentionYears = try retention.int("personalDataYears", min: 0, max: 200)
            try retention.finish()
        } else {
            root.skip("retention")
        }
        if root.has("insight") {
            var insight = try root.map("insight")
            churnRisk = try Self.churnRisk(&insight)
            try insight.finish()
        } else {
            root.skip("insight")
        }
        try root.finish()
    }

    /// Rules need neither anchors nor aliases, and aliases can make a small file expand
    /// without bound: both are refused before parsing.
    static func refuseAnchorsAndAliases(_ yaml: String) throws(RulesError) {
        for (number, line) in yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var previous: Character = " "
            var quote: Character?
            for character in line {
                if let open = quote {
                    if character == open { quote = nil }
                } else if character == "\"" || character == "'" {
                    quote = character
                } else if character == "#", previous == " " || previous == "\t" {
                    break
                } else if character == "&" || character == "*", " \t[{,:-".contains(previous) {
                    throw RulesError(path: "line \(number + 1)", problem: "anchors and aliases (& and *) are not allowed in rules files")
                }
                previous = character
            }
        }
    }

    /// Every mapping key must be plain text.
    static func checkKeys(_ node: Yams.Node, path: String) throws(RulesError) {
        if let mapping = node.mapping {
            for (key, value) in mapping {
                guard let name = key.scalar?.string else {
                    throw RulesError(path: path.isEmpty ? "(document)" : path, problem: "keys must be plain text, found a list or mapping as a key")
                }
                try checkKeys(value, path: path.isEmpty ? name : "\(path).\(name)")
            }
        } else if let sequence = node.sequence {
            for (index, item) in sequence.enumerated() { try checkKeys(item, path: "\(path)[\(index)]") }
        }
    }

    /// `insight.churnRisk` (optional: without it the defaults of `ChurnRiskRules` apply).
    private static func churnRisk(_ insight: inout Node) throws(RulesError) -> ChurnRiskRules {
        var result = ChurnRiskRules()
        var node = try insight.map("churnRisk")
        var bands = try node.map("bands")
        result.mediumFrom = try bands.int("medium", min: 1, max: 100)
        result.highFrom = try bands.int("high", min: 1, max: 100)
        guard result.highFrom > result.mediumFrom else {
            throw RulesError(path: bands.path + ".high", problem: "must be greater than medium (\(result.mediumFrom))")
        }
        try bands.finish()
        var recency = try node.map("recency")
        result.recencyWeight = try recency.int("weight", min: 0, max: 100)
        result.recencyDefaultGapDays = try recency.int("defaultGapDays", min: 1, max: 3_650)
        result.recencyFullFromGaps = try recency.int("fullFromGaps", min: 2, max: 100)
        try recency.finish()
        var drop = try node.map("activityDrop")
        result.activityDropWeight = try drop.int("weight", min: 0, max: 100)
        try drop.finish()
        var complaints = try node.map("complaints")
        result.complaintsWeight = try complaints.int("weight", min: 0, max: 100)
        result.complaintsFullFrom = try complaints.int("fullFrom", min: 1, max: 1_000)
        try complaints.finish()
        var nps = try node.map("nps")
        result.npsWeight = try nps.int("weight", min: 0, max: 100)
        result.npsDetractorPercent = try nps.int("detractor", min: 0, max: 100)
        result.npsPassivePercent = try nps.int("passive", min: 0, max: 100)
        result.npsNonePercent = try nps.int("none", min: 0, max: 100)
        try nps.finish()
        var outflow = try node.map("netOutflow")
        result.netOutflowWeight = try outflow.int("weight", min: 0, max: 100)
        try outflow.finish()
        guard result.weightSum == 100 else {
            throw RulesError(path: node.path, problem: "the factor weights must add up to 100, found \(result.weightSum)")
        }
        try node.finish()
        return result
    }

    private static func rate(_ node: inout Node, _ key: String, capAllowed: Bool) throws(RulesError) -> EarningRate {
        var map = try node.map(key)
        let points = try map.int("points", min: 0, max: 1_000_000)
        let per = try map.int("per", min: 1, max: 1_000_000_000)
        let cap = try map.optionalInt("capPerEvent", min: 0, max: 1_000_000_000)
        try map.finish()
        return EarningRate(points: points, per: per, capPerEvent: cap)
    }
}

/// A YAML mapping being read, remembering which keys were used so unknown keys are refused.
private struct Node {
    let path: String
    let dictionary: [String: Any]
    private var used: Set<String> = []

    init(_ value: Any?, path: String) throws(RulesError) {
        guard let dictionary = value as? [String: Any] else {
            throw RulesError(path: path, problem: "must be a mapping of keys to values")
        }
        self.path = path
        self.dictionary = dictionary
    }

    func has(_ key: String) -> Bool { dictionary[key] != nil }

    mutating func skip(_ key: String) { used.insert(key) }

    private func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private mutating func raw(_ key: String) throws(RulesError) -> Any {
        used.insert(key)
        guard let value = dictionary[key] else { throw RulesError(path: child(key), problem: "is required") }
        return value
    }

    mutating func map(_ key: String) throws(RulesError) -> Node {
        try Node(try raw(key), path: child(key))
    }

    mutating func list(_ key: String) throws(RulesError) -> [Node] {
        guard let items = try raw(key) as? [Any] else { throw RulesError(path: child(key), problem: "must be a list") }
        var nodes: [Node] = []
        for (index, item) in items.enumerated() {
            nodes.append(try Node(item, path: "\(child(key))[\(index)]"))
        }
        return nodes
    }

    mutating func string(_ key: String) throws(RulesError) -> String {
        let value = try raw(key)
        guard let text = value as? String, !text.isEmpty else { throw RulesError(path: child(key), problem: "must be text") }
        return text
    }

    mutating func optionalString(_ key: String) throws(RulesError) -> String? {
        guard dictionary[key] != nil else { used.insert(key); return nil }
        return try string(key)
    }

    mutating func optionalBool(_ key: String) throws(RulesError) -> Bool? {
        used.insert(key)
        guard let value = dictionary[key] else { return nil }
        guard let flag = value as? Bool else { throw RulesError(path: child(key), problem: "must be true or false") }
        return flag
    }

    mutating func int(_ key: String, min: Int64, max: Int64) throws(RulesError) -> Int64 {
        let value = try raw(key)
        guard !(value is Bool), let number = (value as? Int).map(Int64.init) else {
            throw RulesError(path: child(key), problem: "must be a whole number")
        }
        guard number >= min else { throw RulesError(path: child(key), problem: "must be at least \(min), found \(number)") }
        guard number <= max else { throw RulesError(path: child(key), problem: "must be at most \(max), found \(number)") }
        return number
    }

    mutating func optionalInt(_ key: String, min: Int64, max: Int64) throws(RulesError) -> Int64? {
        guard dictionary[key] != nil else { used.insert(key); return nil }
        return try int(key, min: min, max: max)
    }

    /// A non-negative decimal with at most `places` decimals, scaled to an integer.
    mutating func decimal(_ key: String, places: Int) throws(RulesError) -> Int64 {
        let value = try raw(key)
        var scale: Double = 1
        for _ in 0..<places { scale *= 10 }
        let number: Double
        if let int = value as? Int, !(value is Bool) {
            number = Double(int)
        } else if let double = value as? Double {
            number = double
        } else {
            throw RulesError(path: child(key), problem: "must be a number")
        }
        guard number.isFinite, number >= 0 else { throw RulesError(path: child(key), problem: "must not be negative") }
        let scaled = (number * scale).rounded()
        guard abs(scaled - number * scale) < 1e-6, scaled < 1e15 else {
            throw RulesError(path: child(key), problem: "at most \(places) decimals")
        }
        return Int64(scaled)
    }

    mutating func money(_ key: String) throws(RulesError) -> Money {
        Money(cents: try decimal(key, places: 2))
    }

    mutating func optionalMoney(_ key: String) throws(RulesError) -> Money? {
        guard dictionary[key] != nil else { used.insert(key); return nil }
        return try money(key)
    }

    func finish() throws(RulesError) {
        for key in dictionary.keys.sorted() where !used.contains(key) {
            throw RulesError(path: child(key), problem: "is not a known rules key")
        }
    }
}
