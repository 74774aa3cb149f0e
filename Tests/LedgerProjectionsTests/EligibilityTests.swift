import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerDomain
@testable import LedgerProjections
import LedgerCore
import LedgerSQLite
import LedgerStorage

/// SPEC §4 cross-sell eligibility: every check, the suitability matrix cell by cell, and the
/// eligibility projection's rows.
@Suite("Eligibility")
struct EligibilityTests {
    static let asOf = at("2025-06-30T00:00:00Z")
    static let registered = at("2023-01-01T09:00:00Z")

    // MARK: - Hand-built client histories

    /// A client folded from the given facts and decisions (no policy runs: the history is the test's).
    static func client(investorType: InvestorType = .ordinary, _ events: [(EventPayload, Timestamp)]) -> ClientState {
        var state = ClientState(clientId: "E1")
        state.apply(.clientRegistered(name: "E", segment: .retail, investorType: investorType, branch: "Shanghai"), at: registered)
        for (payload, moment) in events { state.apply(payload, at: moment) }
        return state
    }

    static func risk(_ level: RiskLevel, lowest: Bool = false, at moment: Timestamp = at("2025-01-01T00:00:00Z")) -> (EventPayload, Timestamp) {
        (.riskAssessed(level: level, score: 50, lowestCategory: lowest), moment)
    }

    static func deposit(_ cents: Int64) -> (EventPayload, Timestamp) {
        (.fundsDeposited(amount: Money(cents: cents)), at("2025-02-01T00:00:00Z"))
    }

    static func tier(_ to: Tier) -> (EventPayload, Timestamp) {
        (.tierChanged(from: .standard, to: to, reason: .qualified), at("2025-02-01T00:00:01Z"))
    }

    struct ReasonCase: Sendable, CustomTestStringConvertible {
        var name: String
        var product: String
        var state: ClientState
        var expected: Set<EligibilityCheck>
        var testDescription: String { "\(name) → \(product)" }
    }

    static let reasonCases: [ReasonCase] = [
        ReasonCase(name: "no risk assessment", product: "MMF-01", state: client([]), expected: [.noRiskAssessment]),
        ReasonCase(name: "assessment exactly 730 days old", product: "MMF-01",
                   state: client([risk(.c3, at: asOf.adding(days: -730))]), expected: [.riskAssessmentExpired]),
        ReasonCase(name: "assessment older than 730 days", product: "BOND-02",
                   state: client([risk(.c3, at: asOf.adding(days: -900))]), expected: [.riskAssessmentExpired]),
        ReasonCase(name: "assessment one second short of 730 days", product: "MMF-01",
                   state: client([risk(.c3, at: asOf.adding(days: -730).adding(seconds: 1))]), expected: []),
        ReasonCase(name: "a newer assessment replaces an expired one", product: "FUND-03",
                   state: client([risk(.c1, at: asOf.adding(days: -800)), risk(.c3, at: asOf.adding(days: -10))]), expected: []),
        ReasonCase(name: "assessed after the as-of date", product: "MMF-01",
                   state: client([risk(.c3, at: asOf.adding(days: 1))]), expected: [.riskAssessmentExpired]),
        ReasonCase(name: "C2 for an R3 product", product: "FUND-03", state: client([risk(.c2)]), expected: [.unsuitable]),
        ReasonCase(name: "C2 for an R2 product", product: "BOND-02", state: client([risk(.c2)]), expected: []),
        ReasonCase(name: "C1 for an R2 product", product: "BOND-02", state: client([risk(.c1)]), expected: [.unsuitable]),
        ReasonCase(name: "lowest category above R1", product: "BOND-02", state: client([risk(.c1, lowest: true)]), expected: [.lowestCategory]),
        ReasonCase(name: "lowest category, professional, above R1", product: "FUND-03",
                   state: client(investorType: .professional, [risk(.c1, lowest: true)]), expected: [.lowestCategory]),
        ReasonCase(name: "lowest category at R1", product: "MMF-01", state: client([risk(.c1, lowest: true)]), expected: []),
        ReasonCase(name: "professional only, ordinary investor", product: "PE-06",
                   state: client([risk(.c5), deposit(300_000_000), tier(.platinum)]), expected: [.professionalOnly]),
        ReasonCase(name: "professional only, professional investor", product: "PE-06",
                   state: client(investorType: .professional, [risk(.c5), deposit(300_000_000), tier(.platinum)]), expected: []),
        ReasonCase(name: "professional C1 for an R5 product", product: "OPT-05",
                   state: client(investorType: .professional, [risk(.c1), deposit(50_000_000), tier(.gold)]), expected: []),
        ReasonCase(name: "Silver for STRUCT-04 (needs Gold)", product: "STRUCT-04",
                   state: client([risk(.c5), deposit(10_000_000), tier(.silver)]), expected: [.tierTooLow]),
        ReasonCase(name: "Standard for STRUCT-04", product: "STRUCT-04", state: client([risk(.c4)]), expected: [.tierTooLow]),
        ReasonCase(name: "Gold for STRUCT-04", product: "STRUCT-04", state: client([risk(.c4), tier(.gold)]), expected: []),
        ReasonCase(name: "499,999.99 for OPT-05", product: "OPT-05",
                   state: client([risk(.c5), deposit(49_999_999), tier(.silver)]), expected: [.assetsTooLow]),
        ReasonCase(name: "500,000.00 for OPT-05", product: "OPT-05",
                   state: client([risk(.c5), deposit(50_000_000), tier(.gold)]), expected: []),
        ReasonCase(name: "deposits less withdrawals below 500,000 for OPT-05", product: "OPT-05",
                   state: client([risk(.c5), deposit(60_000_000), (.fundsWithdrawn(amount: Money(cents: 10_000_001)), at("2025-03-01T00:00:00Z"))]),
                   expected: [.assetsTooLow]),
        ReasonCase(name: "2,999,999.99 for PE-06", product: "PE-06",
                   state: client(investorType: .professional, [risk(.c5), deposit(299_999_999)]), expected: [.assetsTooLow]),
        ReasonCase(name: "already held", product: "FUND-03",
                   state: client([risk(.c3), (.productPurchased(productId: "FUND-03", amount: Money(cents: 1_000_000)), at("2025-03-01T00:00:00Z"))]),
                   expected: [.alreadyHeld]),
        ReasonCase(name: "held, then redeemed", product: "FUND-03",
                   state: client([risk(.c3), (.productPurchased(productId: "FUND-03", amount: Money(cents: 1_000_000)), at("2025-03-01T00:00:00Z")),
                                  (.productRedeemed(productId: "FUND-03"), at("2025-04-01T00:00:00Z"))]),
                   expected: []),
        ReasonCase(name: "offboarded", product: "MMF-01",
                   state: client([risk(.c3), (.clientOffboarded(reason: "left"), asOf.adding(days: -1))]), expected: [.offboarded]),
        ReasonCase(name: "every check at once", product: "PE-06", state: client([]),
                   expected: [.noRiskAssessment, .professionalOnly, .assetsTooLow]),
        ReasonCase(name: "unsuitable and tier too low", product: "STRUCT-04", state: client([risk(.c2)]), expected: [.unsuitable, .tierTooLow]),
        ReasonCase(name: "expired, unsuitable, held and offboarded", product: "BOND-02",
                   state: client([risk(.c1, at: asOf.adding(days: -731)),
                                  (.productPurchased(productId: "BOND-02", amount: Money(cents: 100_000)), at("2024-01-01T00:00:00Z")),
                                  (.clientOffboarded(reason: "left"), at("2025-01-01T00:00:00Z"))]),
                   expected: [.riskAssessmentExpired, .unsuitable, .alreadyHeld, .offboarded]),
    ]

    @Test("each failed check is reported, and only the failed ones", arguments: reasonCases)
    func failedChecks(_ testCase: ReasonCase) throws {
        let rules = try defaultRules()
        let product = try #require(rules.product(testCase.product))
        let failed = EligibilityPolicy.failedChecks(state: testCase.state, product: product, asOf: Self.asOf, rules: rules)
        #expect(Set(failed) == testCase.expected)
        #expect(failed.count == Set(failed).count, "a check reported twice: \(failed)")
    }

    @Test("every EligibilityCheck reason is exercised by the cases above")
    func everyReasonCovered() {
        let covered = Self.reasonCases.reduce(into: Set<EligibilityCheck>()) { $0.formUnion($1.expected) }
        #expect(covered == Set(EligibilityCheck.allCases))
    }

    // MARK: - The suitability matrix

    struct MatrixCell: Sendable, CustomTestStringConvertible {
        var level: RiskLevel
        var product: ProductRisk
        var professional: Bool
        var lowest: Bool
        var testDescription: String {
            "\(level.rawValue)\(lowest ? " lowest" : "") \(professional ? "professional" : "ordinary") → \(product.rawValue)"
        }

        /// SPEC §4: Ck → up to Rk; professional investors all levels; the lowest category never above R1.
        var expected: Bool {
            if lowest { return product == .r1 }
            if professional { return true }
            let allowed: [RiskLevel: [ProductRisk]] = [
                .c1: [.r1], .c2: [.r1, .r2], .c3: [.r1, .r2, .r3], .c4: [.r1, .r2, .r3, .r4], .c5: [.r1, .r2, .r3, .r4, .r5],
            ]
            return allowed[level]?.contains(product) ?? false
        }
    }

    static let matrix: [MatrixCell] = RiskLevel.allCases.flatMap { level in
        ProductRisk.allCases.flatMap { product in
            [false, true].flatMap { professional in
                (level == .c1 ? [false, true] : [false]).map { lowest in
                    MatrixCell(level: level, product: product, professional: professional, lowest: lowest)
                }
            }
        }
    }

    @Test("the suitability matrix, cell by cell", arguments: matrix)
    func suitability(_ cell: MatrixCell) throws {
        #expect(EligibilityPolicy.isSuitable(level: cell.level, professional: cell.professional, lowestCategory: cell.lowest, product: cell.product)
            == cell.expected)
        // The same verdict through the checks, on a product with no other condition.
        let rules = try defaultRules()
        let product = Rules.Product(id: "X-\(cell.product.rawValue)", name: "x", riskLevel: cell.product, minTier: nil, minAssets: nil, professionalOnly: false)
        let state = Self.client(investorType: cell.professional ? .professional : .ordinary, [Self.risk(cell.level, lowest: cell.lowest)])
        let failed = EligibilityPolicy.failedChecks(state: state, product: product, asOf: Self.asOf, rules: rules)
        #expect(failed.isEmpty == cell.expected, "\(failed)")
        #expect(failed.allSatisfy { $0 == .unsuitable || $0 == .lowestCategory })
        if cell.lowest, !cell.expected { #expect(failed == [.lowestCategory]) }
    }

    @Test("the matrix has 60 cells: 5 levels × 5 products × 2 investor types, plus C1 lowest category × 5 × 2")
    func matrixSize() {
        #expect(Self.matrix.count == 60)
        #expect(Self.matrix.filter(\.expected).count == 15 + 25 + 2)
    }

    // MARK: - The eligibility projection

    @Test("the eligibility projection keeps every failed check per client × product, from an imported history")
    func projectionRows() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let t = at("2025-01-05T10:00:00Z")
            let lines = [
                Line.registered("E-NONE", t),
                Line.registered("E-OLD", t.adding(days: -800)), Line.risk("E-OLD", t.adding(days: -799), level: "C5"),
                Line.registered("E-C2", t), Line.risk("E-C2", t.adding(seconds: 1), level: "C2"),
                Line.registered("E-LOW", t, investorType: "professional"), Line.risk("E-LOW", t.adding(seconds: 1), level: "C1", lowest: true),
                Line.registered("E-PRO", t, investorType: "professional"), Line.risk("E-PRO", t.adding(seconds: 1), level: "C1"),
                Line.deposit("E-PRO", t.adding(seconds: 2), "3000000.00"),
                Line.registered("E-ORD", t), Line.risk("E-ORD", t.adding(seconds: 1), level: "C5"),
                Line.deposit("E-ORD", t.adding(seconds: 2), "3000000.00"),
                Line.registered("E-499", t), Line.risk("E-499", t.adding(seconds: 1), level: "C5"),
                Line.deposit("E-499", t.adding(seconds: 2), "499999.99"),
                Line.registered("E-HELD", t), Line.risk("E-HELD", t.adding(seconds: 1), level: "C3"),
                Line.purchase("E-HELD", t.adding(seconds: 2), "FUND-03", "10000"),
                Line.purchase("E-HELD", t.adding(seconds: 3), "MMF-01", "10000"),
                Line.redeemProduct("E-HELD", t.adding(seconds: 4), "MMF-01"),
                Line.registered("E-OFF", t), Line.risk("E-OFF", t.adding(seconds: 1), level: "C3"),
                Line.offboarded("E-OFF", t.adding(days: 30)),
            ]
            try store.ledger(rules).importLines(lines)
            let engine = try store.engine(rules, asOf: Self.asOf)
            try engine.rebuild()

            let none: Set<String> = []
            let expected: [String: [String: Set<String>]] = [
                "E-NONE": [
                    "MMF-01": ["no_risk_assessment"], "BOND-02": ["no_risk_assessment"], "FUND-03": ["no_risk_assessment"],
                    "STRUCT-04": ["no_risk_assessment", "tier_too_low"], "OPT-05": ["no_risk_assessment", "assets_too_low"],
                    "PE-06": ["no_risk_assessment", "professional_only", "assets_too_low"],
                ],
                "E-OLD": [
                    "MMF-01": ["risk_assessment_expired"], "BOND-02": ["risk_assessment_expired"], "FUND-03": ["risk_assessment_expired"],
                    "STRUCT-04": ["risk_assessment_expired", "tier_too_low"], "OPT-05": ["risk_assessment_expired", "assets_too_low"],
                    "PE-06": ["risk_assessment_expired", "professional_only", "assets_too_low"],
                ],
                "E-C2": [
                    "MMF-01": none, "BOND-02": none, "FUND-03": ["unsuitable"], "STRUCT-04": ["unsuitable", "tier_too_low"],
                    "OPT-05": ["unsuitable", "assets_too_low"], "PE-06": ["unsuitable", "professional_only", "assets_too_low"],
                ],
                "E-LOW": [
                    "MMF-01": none, "BOND-02": ["lowest_category"], "FUND-03": ["lowest_category"],
                    "STRUCT-04": ["lowest_category", "tier_too_low"], "OPT-05": ["lowest_category", "assets_too_low"],
                    "PE-06": ["lowest_category", "assets_too_low"],
                ],
                // 3,000,000 of assets: Platinum at once, so Gold-or-better for STRUCT-04.
                "E-PRO": ["MMF-01": none, "BOND-02": none, "FUND-03": none, "STRUCT-04": none, "OPT-05": none, "PE-06": none],
                "E-ORD": ["MMF-01": none, "BOND-02": none, "FUND-03": none, "STRUCT-04": none, "OPT-05": none, "PE-06": ["professional_only"]],
                // 499,999.99: Silver (≥ 100,000), below Gold and below OPT-05's minimum.
                "E-499": [
                    "MMF-01": none, "BOND-02": none, "FUND-03": none, "STRUCT-04": ["tier_too_low"], "OPT-05": ["assets_too_low"],
                    "PE-06": ["professional_only", "assets_too_low"],
                ],
                "E-HELD": [
                    "MMF-01": none, "BOND-02": none, "FUND-03": ["already_held"], "STRUCT-04": ["unsuitable", "tier_too_low"],
                    "OPT-05": ["unsuitable", "assets_too_low"], "PE-06": ["unsuitable", "professional_only", "assets_too_low"],
                ],
                "E-OFF": [
                    "MMF-01": ["offboarded"], "BOND-02": ["offboarded"], "FUND-03": ["offboarded"],
                    "STRUCT-04": ["offboarded", "unsuitable", "tier_too_low"], "OPT-05": ["offboarded", "unsuitable", "assets_too_low"],
                    "PE-06": ["offboarded", "unsuitable", "professional_only", "assets_too_low"],
                ],
            ]
            let rows = try engine.eligibility(now: Self.asOf)
            #expect(rows.count == expected.count * rules.products.count)
            for row in rows {
                guard let want = expected[row.clientId]?[row.productId] else {
                    Issue.record("unexpected row \(row.clientId) × \(row.productId)")
                    continue
                }
                #expect(Set(row.failedChecks) == want, "\(row.clientId) × \(row.productId)")
                #expect(row.eligible == want.isEmpty, "\(row.clientId) × \(row.productId)")
            }
            // The same rows by product.
            let pe = try engine.eligibility(product: "PE-06", now: Self.asOf)
            #expect(pe.filter(\.eligible).map(\.clientId) == ["E-PRO"])
            // A valid assessment read later than its validity is reported expired.
            let later = try engine.eligibility(client: "E-C2", now: t.adding(days: 731))
            #expect(later.allSatisfy { !$0.eligible && $0.failedChecks.first == "risk_assessment_expired" })
            #expect(later.first?.riskValidUntil == t.adding(seconds: 1).adding(days: 730).iso8601)
        }
    }
}
