import LedgerTestSupport
import Testing
@testable import LedgerCore
@testable import LedgerDomain

/// The default YAML with one text replaced; the replaced text must be present exactly once.
private func variant(_ replacements: (String, String)...) throws -> String {
    var text = Rules.defaultYAML
    for (old, new) in replacements {
        let parts = text.components(separatedBy: old)
        guard parts.count == 2 else { throw RulesError(path: "test", problem: "\"\(old)\" occurs \(parts.count - 1) times in the default rules") }
        text = parts.joined(separator: new)
    }
    return text
}

@Suite("Rules file")
struct RulesTests {
    // MARK: Defaults match SPEC §4

    @Test("the default rules load and match SPEC §4")
    func defaultsMatchSpec() throws {
        #expect(!Rules.defaultYAML.isEmpty)
        let rules = try Rules.defaults()
        #expect(rules == defaultRules)

        // Earning
        #expect(rules.trade == Rules.EarningRate(points: 1, per: 100, capPerEvent: 5000))
        #expect(rules.purchase == Rules.EarningRate(points: 2, per: 100, capPerEvent: nil))
        #expect(rules.deposit == Rules.EarningRate(points: 1, per: 1000, capPerEvent: nil))
        #expect(rules.surveyPoints == 50)
        #expect(rules.surveysPerQuarter == 1)
        #expect(rules.lotLifetimeDays == 730)

        // Tiers
        #expect(rules.qualifyingWindowDays == 365)
        #expect(rules.tierGuaranteeDays == 365)
        #expect(rules.tiers.map(\.tier) == [.standard, .silver, .gold, .platinum, .diamond])
        #expect(rules.tiers.map(\.points) == [0, 2_000, 10_000, 50_000, 200_000])
        #expect(rules.tiers.map(\.assets) == [0, 100_000, 500_000, 3_000_000, 10_000_000].map { Money(yuan: $0) })
        #expect(rules.tiers.map(\.multiplierPermille) == [1000, 1200, 1500, 2000, 2500])
        for tier in Tier.allCases { #expect(rules.level(tier).tier == tier) }

        // Lifecycle and risk assessments
        #expect(rules.newWithinDays == 90)
        #expect(rules.activeWithinDays == 90)
        #expect(rules.churnedAfterDays == 180)
        #expect(rules.riskAssessmentValidDays == 730)

        // Products
        let expected: [Rules.Product] = [
            .init(id: "MMF-01", name: "money-market fund", riskLevel: .r1, minTier: nil, minAssets: nil, professionalOnly: false),
            .init(id: "BOND-02", name: "bond fund", riskLevel: .r2, minTier: nil, minAssets: nil, professionalOnly: false),
            .init(id: "FUND-03", name: "balanced mutual fund", riskLevel: .r3, minTier: nil, minAssets: nil, professionalOnly: false),
            .init(id: "STRUCT-04", name: "structured note", riskLevel: .r4, minTier: .gold, minAssets: nil, professionalOnly: false),
            .init(id: "OPT-05", name: "listed options account", riskLevel: .r5, minTier: nil, minAssets: Money(yuan: 500_000), professionalOnly: false),
            .init(id: "PE-06", name: "private equity fund", riskLevel: .r5, minTier: nil, minAssets: Money(yuan: 3_000_000), professionalOnly: true),
        ]
        #expect(rules.products == expected)
        #expect(rules.product("STRUCT-04")?.minTier == .gold)
        #expect(rules.product("NOPE") == nil)
    }

    struct QualifyingCase: Sendable, CustomTestStringConvertible {
        var points: Int64
        var assetsCents: Int64
        var tier: Tier
        var testDescription: String { "\(points) points, \(Money(cents: assetsCents)) CNY → \(tier.rawValue)" }
    }

    @Test("the qualifying tier is the highest whose points or assets threshold is met", arguments: [
        QualifyingCase(points: 0, assetsCents: 0, tier: .standard),
        QualifyingCase(points: 1_999, assetsCents: 9_999_999, tier: .standard),
        QualifyingCase(points: 2_000, assetsCents: 0, tier: .silver),
        QualifyingCase(points: 0, assetsCents: 10_000_000, tier: .silver),
        QualifyingCase(points: 9_999, assetsCents: 49_999_999, tier: .silver),
        QualifyingCase(points: 10_000, assetsCents: 0, tier: .gold),
        QualifyingCase(points: 2_000, assetsCents: 50_000_000, tier: .gold),
        QualifyingCase(points: 49_999, assetsCents: 299_999_999, tier: .gold),
        QualifyingCase(points: 50_000, assetsCents: 0, tier: .platinum),
        QualifyingCase(points: 0, assetsCents: 300_000_000, tier: .platinum),
        QualifyingCase(points: 199_999, assetsCents: 999_999_999, tier: .platinum),
        QualifyingCase(points: 200_000, assetsCents: 0, tier: .diamond),
        QualifyingCase(points: 0, assetsCents: 1_000_000_000, tier: .diamond),
        QualifyingCase(points: 10_000, assetsCents: 1_000_000_000, tier: .diamond),
        QualifyingCase(points: 0, assetsCents: -500_000, tier: .standard),
    ])
    func qualifyingTier(_ example: QualifyingCase) {
        #expect(defaultRules.qualifyingTier(points: example.points, assets: Money(cents: example.assetsCents)) == example.tier)
    }

    struct EarningCase: Sendable, CustomTestStringConvertible {
        var rate: String
        var cents: Int64
        var points: Int64
        var testDescription: String { "\(rate) \(Money(cents: cents)) → \(points)" }
    }

    @Test("earning rates round down once, in exact fen, and cap before any multiplier", arguments: [
        EarningCase(rate: "trade", cents: 9_999, points: 0),
        EarningCase(rate: "trade", cents: 10_000, points: 1),
        EarningCase(rate: "trade", cents: 1_234_567, points: 123),
        EarningCase(rate: "trade", cents: 49_999_999, points: 4_999),
        EarningCase(rate: "trade", cents: 50_000_000, points: 5_000),
        EarningCase(rate: "trade", cents: 60_000_000, points: 5_000),
        EarningCase(rate: "trade", cents: 100_000_000_000_000, points: 5_000),
        EarningCase(rate: "purchase", cents: 4_999, points: 0),
        EarningCase(rate: "purchase", cents: 5_000, points: 1),
        EarningCase(rate: "purchase", cents: 10_000, points: 2),
        EarningCase(rate: "purchase", cents: 14_999, points: 2),
        EarningCase(rate: "purchase", cents: 100_000_000_000_000, points: 20_000_000_000),
        EarningCase(rate: "deposit", cents: 99_999, points: 0),
        EarningCase(rate: "deposit", cents: 100_000, points: 1),
        EarningCase(rate: "deposit", cents: 1_234_567, points: 12),
    ])
    func earning(_ example: EarningCase) {
        let rate = example.rate == "trade" ? defaultRules.trade : example.rate == "purchase" ? defaultRules.purchase : defaultRules.deposit
        #expect(rate.points(for: Money(cents: example.cents)) == example.points)
    }

    // MARK: Version

    @Test("the version is stable: a hash of the values")
    func versionIsStable() throws {
        let version = try Rules.defaults().version
        #expect(version == defaultRules.version)
        #expect(version.count == 16)
        #expect(version.allSatisfy { $0.isHexDigit })
        #expect(try Rules(yaml: Rules.defaultYAML).version == version)
    }

    @Test("the version ignores comments, white space and key order")
    func versionIgnoresPresentation() throws {
        let version = defaultRules.version
        // No comments at all.
        let uncommented = Rules.defaultYAML.split(separator: "\n", omittingEmptySubsequences: false)
            .map { line -> Substring in
                guard let hash = line.firstIndex(of: "#") else { return line }
                return line[..<hash]
            }
            .joined(separator: "\n")
        #expect(!uncommented.contains("#"))
        #expect(try Rules(yaml: uncommented).version == version)

        // Top-level sections in reverse order, and keys reordered inside mappings.
        var sections: [String] = []
        for line in uncommented.split(separator: "\n") {
            if let first = line.first, first != " " { sections.append("") }
            if !sections.isEmpty { sections[sections.count - 1] += line + "\n" }
        }
        #expect(sections.count == 7)
        let reordered = sections.reversed().joined(separator: "\n# moved\n")
            .replacingOccurrences(of: "{ name: Silver,   points: 2000,   assets: 100000,   multiplier: 1.2 }", with: "{ multiplier: 1.20, assets: 100000.00, points: 2000, name: Silver }")
            .replacingOccurrences(of: "points: 1  ", with: "points:    1  ")
        #expect(reordered != Rules.defaultYAML)
        let rules = try Rules(yaml: reordered)
        #expect(rules == defaultRules)
        #expect(rules.version == version)

        // Block style instead of flow style for one product.
        let blockStyle = try variant(("  - { id: MMF-01,    name: money-market fund,       riskLevel: R1 }", "  - id: MMF-01\n    riskLevel: R1\n    name: money-market fund"))
        #expect(try Rules(yaml: blockStyle).version == version)
    }

    struct ValueChange: Sendable, CustomTestStringConvertible {
        var name: String
        var old: String
        var new: String
        var testDescription: String { name }
    }

    @Test("the version changes when any one value changes", arguments: [
        ValueChange(name: "trade cap", old: "capPerEvent: 5000", new: "capPerEvent: 5001"),
        ValueChange(name: "trade rate", old: "    per: 100\n    capPerEvent", new: "    per: 101\n    capPerEvent"),
        ValueChange(name: "survey points", old: "points: 50\n", new: "points: 51\n"),
        ValueChange(name: "surveys per quarter", old: "perQuarter: 1", new: "perQuarter: 2"),
        ValueChange(name: "lot lifetime", old: "lifetimeDays: 730", new: "lifetimeDays: 731"),
        ValueChange(name: "qualifying window", old: "qualifyingWindowDays: 365", new: "qualifyingWindowDays: 366"),
        ValueChange(name: "guarantee", old: "guaranteeDays: 365", new: "guaranteeDays: 364"),
        ValueChange(name: "Silver points", old: "points: 2000,", new: "points: 2001,"),
        ValueChange(name: "Gold assets", old: "assets: 500000,", new: "assets: 500000.01,"),
        ValueChange(name: "Diamond multiplier", old: "multiplier: 2.5", new: "multiplier: 2.501"),
        ValueChange(name: "churn days", old: "churnedAfterDays: 180", new: "churnedAfterDays: 181"),
        ValueChange(name: "risk validity", old: "validDays: 730", new: "validDays: 729"),
        ValueChange(name: "product name", old: "name: bond fund,", new: "name: bond funds,"),
        ValueChange(name: "product risk", old: "riskLevel: R3 }", new: "riskLevel: R2 }"),
        ValueChange(name: "product min tier", old: "minTier: Gold }", new: "minTier: Silver }"),
        ValueChange(name: "product min assets", old: "minAssets: 500000 }", new: "minAssets: 500001 }"),
        ValueChange(name: "professional only", old: "professionalOnly: true }", new: "professionalOnly: false }"),
        ValueChange(name: "optional cap added", old: "    per: 1000\n", new: "    per: 1000\n    capPerEvent: 100\n"),
    ])
    func versionChangesWithAValue(_ change: ValueChange) throws {
        let changed = try Rules(yaml: try variant((change.old, change.new)))
        #expect(changed != defaultRules)
        #expect(changed.version != defaultRules.version)
    }

    @Test("multipliers are read exactly as permille")
    func multiplierPermille() throws {
        let rules = try Rules(yaml: try variant(("multiplier: 1.2 }", "multiplier: 1.234 }")))
        #expect(rules.level(.silver).multiplierPermille == 1234)
        #expect(throws: RulesError.self) { try Rules(yaml: try variant(("multiplier: 1.2 }", "multiplier: 1.2345 }"))) }
    }

    // MARK: Refusals name the path

    struct BadRules: Sendable, CustomTestStringConvertible {
        var name: String
        var old: String
        var new: String
        var path: String
        var testDescription: String { name }
    }

    @Test("bad rules are refused, naming the path", arguments: [
        BadRules(name: "unknown top-level key", old: "lots:\n", new: "bonus: 3\nlots:\n", path: "bonus"),
        BadRules(name: "unknown key in earning", old: "  survey:\n", new: "  referral:\n    points: 5\n  survey:\n", path: "earning.referral"),
        BadRules(name: "unknown key in a rate", old: "capPerEvent: 5000", new: "capPerEvent: 5000\n    bonus: 2", path: "earning.trade.bonus"),
        BadRules(name: "unknown key in a tier level", old: "{ name: Gold,", new: "{ colour: gold, name: Gold,", path: "tiers.levels[2].colour"),
        BadRules(name: "unknown key in tiers", old: "  guaranteeDays: 365", new: "  guaranteeDays: 365\n  graceDays: 30", path: "tiers.graceDays"),
        BadRules(name: "unknown key in a product", old: "riskLevel: R2 }", new: "riskLevel: R2, fee: 1 }", path: "products[1].fee"),
        BadRules(name: "misspelt key", old: "perQuarter: 1", new: "perQuater: 1", path: "earning.survey.perQuarter"),
        BadRules(name: "tiers out of order", old: "    - { name: Silver,   points: 2000,   assets: 100000,   multiplier: 1.2 }\n    - { name: Gold,     points: 10000,  assets: 500000,   multiplier: 1.5 }", new: "    - { name: Gold,     points: 10000,  assets: 500000,   multiplier: 1.5 }\n    - { name: Silver,   points: 2000,   assets: 100000,   multiplier: 1.2 }", path: "tiers.levels[1].name"),
        BadRules(name: "unknown tier", old: "name: Platinum,", new: "name: Bronze,", path: "tiers.levels[3].name"),
        BadRules(name: "points threshold equal to the tier below", old: "points: 10000,", new: "points: 2000, ", path: "tiers.levels[2].points"),
        BadRules(name: "points threshold below the tier below", old: "points: 200000,", new: "points: 40000, ", path: "tiers.levels[4].points"),
        BadRules(name: "assets threshold equal to the tier below", old: "assets: 3000000,", new: "assets: 500000,", path: "tiers.levels[3].assets"),
        BadRules(name: "assets threshold below the tier below", old: "assets: 100000,", new: "assets: 0,", path: "tiers.levels[1].assets"),
        BadRules(name: "Standard with a threshold", old: "{ name: Standard, points: 0,", new: "{ name: Standard, points: 5,", path: "tiers.levels[0]"),
        BadRules(name: "negative rate points", old: "    points: 2\n", new: "    points: -2\n", path: "earning.purchase.points"),
        BadRules(name: "negative cap", old: "capPerEvent: 5000", new: "capPerEvent: -1", path: "earning.trade.capPerEvent"),
        BadRules(name: "zero divisor", old: "per: 1000", new: "per: 0", path: "earning.deposit.per"),
        BadRules(name: "negative lot lifetime", old: "lifetimeDays: 730", new: "lifetimeDays: -730", path: "lots.lifetimeDays"),
        BadRules(name: "negative guarantee", old: "guaranteeDays: 365", new: "guaranteeDays: -1", path: "tiers.guaranteeDays"),
        BadRules(name: "negative assets threshold", old: "assets: 100000,", new: "assets: -100000,", path: "tiers.levels[1].assets"),
        BadRules(name: "negative product min assets", old: "minAssets: 500000 }", new: "minAssets: -1 }", path: "products[4].minAssets"),
        BadRules(name: "multiplier below 1", old: "multiplier: 1.2 }", new: "multiplier: 0.9 }", path: "tiers.levels[1].multiplier"),
        BadRules(name: "multiplier 0", old: "multiplier: 1.0 }", new: "multiplier: 0 }", path: "tiers.levels[0].multiplier"),
        BadRules(name: "higher tier earning less", old: "multiplier: 2.0 }", new: "multiplier: 1.4 }", path: "tiers.levels[3].multiplier"),
        BadRules(name: "fractional days", old: "lifetimeDays: 730", new: "lifetimeDays: 730.5", path: "lots.lifetimeDays"),
        BadRules(name: "amount with three decimals", old: "assets: 500000,", new: "assets: 500000.001,", path: "tiers.levels[2].assets"),
        BadRules(name: "missing tier", old: "    - { name: Diamond,  points: 200000, assets: 10000000, multiplier: 2.5 }\n", new: "", path: "tiers.levels"),
        BadRules(name: "missing section", old: "riskAssessment:\n  validDays: 730\n", new: "", path: "riskAssessment"),
        BadRules(name: "missing value", old: "    perQuarter: 1        # surveys that earn points per calendar quarter\n", new: "", path: "earning.survey.perQuarter"),
        BadRules(name: "duplicate product", old: "id: BOND-02,", new: "id: MMF-01, ", path: "products[1].id"),
        BadRules(name: "bad risk level", old: "riskLevel: R3 }", new: "riskLevel: R6 }", path: "products[2].riskLevel"),
        BadRules(name: "lower-case risk level", old: "riskLevel: R1 }", new: "riskLevel: r1 }", path: "products[0].riskLevel"),
        BadRules(name: "unknown product tier", old: "minTier: Gold }", new: "minTier: Bronze }", path: "products[3].minTier"),
        BadRules(name: "professionalOnly not a boolean", old: "professionalOnly: true }", new: "professionalOnly: 7 }", path: "products[5].professionalOnly"),
        BadRules(name: "text where a number belongs", old: "validDays: 730", new: "validDays: forever", path: "riskAssessment.validDays"),
        BadRules(name: "a list where a mapping belongs", old: "lots:\n  lifetimeDays: 730", new: "lots:\n  - 730", path: "lots"),
        BadRules(name: "churn before active", old: "churnedAfterDays: 180", new: "churnedAfterDays: 60", path: "lifecycle.churnedAfterDays"),
    ])
    func refusals(_ bad: BadRules) throws {
        let yaml = try variant((bad.old, bad.new))
        #expect(throws: RulesError.self) { try Rules(yaml: yaml) }
        do {
            _ = try Rules(yaml: yaml)
        } catch {
            #expect(error.path == bad.path, "\(error)")
            #expect(error.description.hasPrefix(bad.path + ": "))
        }
    }

    @Test("text that is not YAML, or not a mapping, is refused")
    func notYAML() {
        #expect(throws: RulesError.self) { try Rules(yaml: "earning: [unclosed") }
        #expect(throws: RulesError.self) { try Rules(yaml: "- just\n- a list") }
        #expect(throws: RulesError.self) { try Rules(yaml: "") }
        #expect(throws: RulesError.self) { try Rules(contentsOfFile: "/nonexistent/rules.yaml") }
    }
}
