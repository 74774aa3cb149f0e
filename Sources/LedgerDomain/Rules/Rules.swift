import LedgerCore

/// The ledger's business rules (SPEC §4): earning, tiers, lots, lifecycle, products.
///
/// Loaded from a YAML file; `version` is a hash of the canonical form, so it changes exactly
/// when a value changes (not with comments or key order).
public struct Rules: Sendable, Equatable {
    /// Points per `per` CNY, with an optional cap per event (before the tier multiplier).
    public struct EarningRate: Sendable, Equatable {
        public var points: Int64
        public var per: Int64
        public var capPerEvent: Int64?

        /// Points earned for `amount`, rounded down, capped.
        public func points(for amount: Money) -> Int64 {
            // points × amount / per, rounded down once, in exact integers without overflow
            // (the rules loader bounds every rate), and never above the largest award.
            let unit = per * 100
            let earned = min(
                amount.cents / unit * points + (amount.cents % unit) * points / unit, EventPayload.maximumPoints)
            if let cap = capPerEvent { return min(earned, cap) }
            return earned
        }
    }

    public struct TierLevel: Sendable, Equatable {
        public var tier: Tier
        /// Qualifying points needed (trailing window).
        public var points: Int64
        /// Net assets needed.
        public var assets: Money
        /// Earn multiplier in thousandths (1.2 → 1200), so that rounding is exact.
        public var multiplierPermille: Int64
    }

    public struct Product: Sendable, Equatable {
        public var id: String
        public var name: String
        public var riskLevel: ProductRisk
        public var minTier: Tier?
        public var minAssets: Money?
        public var professionalOnly: Bool
    }

    public var trade: EarningRate
    public var purchase: EarningRate
    public var deposit: EarningRate
    public var surveyPoints: Int64
    public var surveysPerQuarter: Int64
    public var lotLifetimeDays: Int64
    public var qualifyingWindowDays: Int64
    public var tierGuaranteeDays: Int64
    /// Tier table, lowest first, one row per tier.
    public var tiers: [TierLevel]
    public var newWithinDays: Int64
    public var activeWithinDays: Int64
    public var churnedAfterDays: Int64
    public var riskAssessmentValidDays: Int64
    public var products: [Product]
    /// The churn-risk score of the insight projection (docs/insight.md).
    public var churnRisk = ChurnRiskRules()
    /// How long personal data is kept after offboarding, in years (`retention.personalDataYears`):
    /// `forget` refuses before it has passed unless the retention is overridden.
    public var personalDataRetentionYears: Int64 = Rules.defaultPersonalDataRetentionYears
    public static let defaultPersonalDataRetentionYears: Int64 = 20

    /// The moment the retention period of a client offboarded at `offboardedAt` ends: the
    /// same day and time `personalDataRetentionYears` later (29 February → 28 February).
    public func personalDataRetentionEnds(offboardedAt: Timestamp) -> Timestamp {
        let (year, month, day) = offboardedAt.civilDate
        let target = year + personalDataRetentionYears
        let isLeap = (target % 4 == 0 && target % 100 != 0) || target % 400 == 0
        let days = Timestamp.days(fromCivil: target, month, month == 2 && day == 29 && !isLeap ? 28 : day)
        let within = offboardedAt.millisecondsSinceEpoch - offboardedAt.dayNumber * Timestamp.millisecondsPerDay
        return Timestamp(millisecondsSinceEpoch: days * Timestamp.millisecondsPerDay + within)
    }

    /// The row of the tier table for `tier`.
    public func level(_ tier: Tier) -> TierLevel {
        tiers.first { $0.tier == tier } ?? tiers[0]
    }

    /// The highest tier whose points threshold or assets threshold is met.
    public func qualifyingTier(points: Int64, assets: Money) -> Tier {
        var best = Tier.standard
        for level in tiers where points >= level.points || assets >= level.assets {
            if level.tier > best { best = level.tier }
        }
        return best
    }

    public func product(_ id: String) -> Product? {
        products.first { $0.id == id }
    }

    // MARK: - Canonical form and version

    /// Compact JSON of every value, in a fixed order: the input of the rules version hash.
    public var canonicalJSON: String { json(forDisplay: false) }

    /// The same document in the output form (amounts as decimal strings), for readers.
    public var displayJSON: String { json(forDisplay: true) }

    private func json(forDisplay: Bool) -> String {
        var w = JSONWriter(capacity: 1024, forDisplay: forDisplay)
        func rate(_ name: String, _ rate: EarningRate) {
            w.key(name)
            w.beginObject()
            if let cap = rate.capPerEvent { w.key("capPerEvent"); w.int(cap) }
            w.key("per"); w.int(rate.per)
            w.key("points"); w.int(rate.points)
            w.endObject()
        }
        w.beginObject()
        w.key("earning")
        w.beginObject()
        rate("deposit", deposit)
        rate("purchase", purchase)
        w.key("survey"); w.beginObject()
        w.key("perQuarter"); w.int(surveysPerQuarter)
        w.key("points"); w.int(surveyPoints)
        w.endObject()
        rate("trade", trade)
        w.endObject()
        w.key("insight"); w.beginObject()
        w.key("churnRisk"); w.beginObject()
        let churn = churnRisk
        w.key("activityDrop"); w.beginObject()
        w.key("weight"); w.int(churn.activityDropWeight)
        w.endObject()
        w.key("bands"); w.beginObject()
        w.key("high"); w.int(churn.highFrom)
        w.key("medium"); w.int(churn.mediumFrom)
        w.endObject()
        w.key("complaints"); w.beginObject()
        w.key("fullFrom"); w.int(churn.complaintsFullFrom)
        w.key("weight"); w.int(churn.complaintsWeight)
        w.endObject()
        w.key("netOutflow"); w.beginObject()
        w.key("weight"); w.int(churn.netOutflowWeight)
        w.endObject()
        w.key("nps"); w.beginObject()
        w.key("detractor"); w.int(churn.npsDetractorPercent)
        w.key("none"); w.int(churn.npsNonePercent)
        w.key("passive"); w.int(churn.npsPassivePercent)
        w.key("weight"); w.int(churn.npsWeight)
        w.endObject()
        w.key("recency"); w.beginObject()
        w.key("defaultGapDays"); w.int(churn.recencyDefaultGapDays)
        w.key("fullFromGaps"); w.int(churn.recencyFullFromGaps)
        w.key("weight"); w.int(churn.recencyWeight)
        w.endObject()
        w.endObject()
        w.endObject()
        w.key("lifecycle"); w.beginObject()
        w.key("activeWithinDays"); w.int(activeWithinDays)
        w.key("churnedAfterDays"); w.int(churnedAfterDays)
        w.key("newWithinDays"); w.int(newWithinDays)
        w.endObject()
        w.key("lots"); w.beginObject()
        w.key("lifetimeDays"); w.int(lotLifetimeDays)
        w.endObject()
        w.key("products"); w.beginArray()
        for product in products {
            w.beginObject()
            w.key("id"); w.string(product.id)
            if let minAssets = product.minAssets { w.key("minAssets"); w.money(minAssets) }
            if let minTier = product.minTier { w.key("minTier"); w.string(minTier.rawValue) }
            w.key("name"); w.string(product.name)
            w.key("professionalOnly"); w.bool(product.professionalOnly)
            w.key("riskLevel"); w.string(product.riskLevel.rawValue)
            w.endObject()
        }
        w.endArray()
        // Written only when it differs from the default, so that the rules versions of files
        // written before the key existed do not change.
        if personalDataRetentionYears != Rules.defaultPersonalDataRetentionYears {
            w.key("retention"); w.beginObject()
            w.key("personalDataYears"); w.int(personalDataRetentionYears)
            w.endObject()
        }
        w.key("riskAssessment"); w.beginObject()
        w.key("validDays"); w.int(riskAssessmentValidDays)
        w.endObject()
        w.key("tiers"); w.beginObject()
        w.key("guaranteeDays"); w.int(tierGuaranteeDays)
        w.key("levels"); w.beginArray()
        for level in tiers {
            w.beginObject()
            w.key("assets"); w.money(level.assets)
            w.key("multiplierPermille"); w.int(level.multiplierPermille)
            w.key("name"); w.string(level.tier.rawValue)
            w.key("points"); w.int(level.points)
            w.endObject()
        }
        w.endArray()
        w.key("qualifyingWindowDays"); w.int(qualifyingWindowDays)
        w.endObject()
        w.endObject()
        return w.text
    }

    /// The rules version: the first 16 hex digits of SHA-256 over `canonicalJSON`.
    public var version: String {
        String(HashChain.sha256(Array(canonicalJSON.utf8)).hexString.prefix(16))
    }
}

/// The weights and thresholds of the churn-risk score (rules file section `insight.churnRisk`,
/// docs/insight.md). Every factor gives a share from 0 to 1; its contribution is the share
/// times its weight; the weights add up to 100, so the score runs from 0 to 100.
public struct ChurnRiskRules: Sendable, Equatable {
    /// Scores from `mediumFrom` are `medium`, from `highFrom` `high`.
    public var mediumFrom: Int64 = 40
    public var highFrom: Int64 = 70
    /// Days since the last activity against the client's usual gap.
    public var recencyWeight: Int64 = 35
    /// The usual gap of a client with fewer than two active days in the trailing 365 days.
    public var recencyDefaultGapDays: Int64 = 30
    /// The share is 1 once the days since the last activity reach this many usual gaps.
    public var recencyFullFromGaps: Int64 = 4
    /// Activities in the last 90 days against the 275 days before.
    public var activityDropWeight: Int64 = 25
    /// Complaints in the last 180 days; the share is 1 from `complaintsFullFrom` complaints.
    public var complaintsWeight: Int64 = 20
    public var complaintsFullFrom: Int64 = 3
    /// The last NPS answer: the share (in percent) of a detractor, a passive, no answer;
    /// a promoter adds nothing.
    public var npsWeight: Int64 = 10
    public var npsDetractorPercent: Int64 = 100
    public var npsPassivePercent: Int64 = 50
    public var npsNonePercent: Int64 = 30
    /// Net outflow in the last 90 days against the net assets 90 days ago.
    public var netOutflowWeight: Int64 = 10

    public init() {}

    public var weightSum: Int64 { recencyWeight + activityDropWeight + complaintsWeight + npsWeight + netOutflowWeight }
}
