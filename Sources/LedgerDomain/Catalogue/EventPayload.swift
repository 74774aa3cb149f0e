import LedgerCore

/// Every event type of the catalogue (SPEC §3), with the schema version the ledger writes.
public enum EventType: String, CaseIterable, Sendable {
    case clientRegistered = "ClientRegistered"
    case clientProfileUpdated = "ClientProfileUpdated"
    case riskAssessed = "RiskAssessed"
    case fundsDeposited = "FundsDeposited"
    case fundsWithdrawn = "FundsWithdrawn"
    case tradeExecuted = "TradeExecuted"
    case productPurchased = "ProductPurchased"
    case productRedeemed = "ProductRedeemed"
    case interactionLogged = "InteractionLogged"
    case surveyAnswered = "SurveyAnswered"
    case pointsRedeemed = "PointsRedeemed"
    case pointsAdjusted = "PointsAdjusted"
    case clientOffboarded = "ClientOffboarded"
    case pointsAwarded = "PointsAwarded"
    case pointsExpired = "PointsExpired"
    case tierChanged = "TierChanged"
    case pointsCorrected = "PointsCorrected"
    case campaignDefined = "CampaignDefined"
    case suitabilityWarningAcknowledged = "SuitabilityWarningAcknowledged"
    case suitabilityBreachFlagged = "SuitabilityBreachFlagged"
    case clientDataErased = "ClientDataErased"
    case campaignLaunched = "CampaignLaunched"
    case campaignClosed = "CampaignClosed"
    case campaignEnrolled = "CampaignEnrolled"

    /// Decisions are written only by the ledger's policies; imports and appends refuse them.
    public var isDecision: Bool {
        switch self {
        case .pointsAwarded, .pointsExpired, .tierChanged, .pointsCorrected, .campaignEnrolled, .suitabilityBreachFlagged: return true
        default: return false
        }
    }

    /// Whether the event belongs to a campaign stream (otherwise a client stream).
    public var isCampaignEvent: Bool {
        switch self {
        case .campaignDefined, .campaignLaunched, .campaignClosed: return true
        default: return false
        }
    }

    /// "Activity" in the sense of the lifecycle rules (SPEC §4).
    public var isActivity: Bool {
        switch self {
        case .tradeExecuted, .productPurchased, .fundsDeposited, .fundsWithdrawn, .interactionLogged: return true
        default: return false
        }
    }

    /// The payload version the ledger writes today. Older stored versions are upcast on read.
    public var currentSchemaVersion: Int {
        switch self {
        case .riskAssessed, .tierChanged: return 2
        default: return 1
        }
    }
}

/// A typed, validated event payload (`data`).
public enum EventPayload: Sendable, Equatable {
    case clientRegistered(name: String, segment: Segment, investorType: InvestorType, branch: String)
    case clientProfileUpdated(name: String?, segment: Segment?, investorType: InvestorType?, branch: String?)
    case riskAssessed(level: RiskLevel, score: Int64, lowestCategory: Bool)
    case fundsDeposited(amount: Money)
    case fundsWithdrawn(amount: Money)
    case tradeExecuted(orderId: String, productId: String, notional: Money)
    case productPurchased(productId: String, amount: Money)
    case productRedeemed(productId: String)
    case interactionLogged(channel: Channel, kind: InteractionKind)
    case surveyAnswered(nps: Int64)
    case pointsRedeemed(points: Int64, reward: String)
    case pointsAdjusted(points: Int64, reason: String, approvedBy: String)
    case clientOffboarded(reason: String)
    case pointsAwarded(points: Int64, reason: AwardReason, campaignId: String?, expiresAt: Timestamp)
    case pointsExpired(points: Int64, lotAwardedAt: Timestamp)
    /// `corrects`: for `reason: corrected` (after a late fact), the eventId of the recorded
    /// `TierChanged` it corrects (or, when the record holds none at or before its moment, of
    /// the event at that moment whose decision it corrects); nil for every other reason, and
    /// for a correction stored at version 1, before the field existed.
    case tierChanged(from: Tier, to: Tier, reason: TierChangeReason, corrects: String? = nil)
    /// A signed change to the points of an earlier decision (`corrects`, its eventId, or for
    /// an award that was never written, the fact that should have earned it), after a late
    /// fact. `lotAwardedAt` names the lot: the award's moment, or the expired lot's.
    case pointsCorrected(points: Int64, corrects: String, decision: CorrectedDecision, lotAwardedAt: Timestamp, reason: CorrectionReason)
    /// The client insisted on an unsuitable product after a written warning (`warningRef`).
    case suitabilityWarningAcknowledged(productId: String, warningRef: String)
    /// A purchase that did not match the client's valid assessment (SPEC §4 matching).
    case suitabilityBreachFlagged(productId: String, productRisk: ProductRisk, clientLevel: RiskLevel?, reason: SuitabilityBreachReason)
    /// The client's personal-data key was destroyed (`forget`): its personal fields read as
    /// erased from now on. `retentionOverride` says why it happened before the retention
    /// period had passed.
    case clientDataErased(reason: String, requestedBy: String, retentionOverride: String?)
    case campaignDefined(name: String, definition: JSONObject)
    /// `excluded`: clients the target matched but suitability left out, per failed check.
    case campaignLaunched(note: String?, excluded: [EligibilityCheck: Int64])
    case campaignClosed(reason: String?)
    /// A client of a launched campaign's frozen audience, in its group.
    case campaignEnrolled(campaignId: String, group: CampaignGroup)

    public static let maximumPoints: Int64 = 1_000_000_000_000

    public var type: EventType {
        switch self {
        case .clientRegistered: return .clientRegistered
        case .clientProfileUpdated: return .clientProfileUpdated
        case .riskAssessed: return .riskAssessed
        case .fundsDeposited: return .fundsDeposited
        case .fundsWithdrawn: return .fundsWithdrawn
        case .tradeExecuted: return .tradeExecuted
        case .productPurchased: return .productPurchased
        case .productRedeemed: return .productRedeemed
        case .interactionLogged: return .interactionLogged
        case .surveyAnswered: return .surveyAnswered
        case .pointsRedeemed: return .pointsRedeemed
        case .pointsAdjusted: return .pointsAdjusted
        case .clientOffboarded: return .clientOffboarded
        case .pointsAwarded: return .pointsAwarded
        case .pointsExpired: return .pointsExpired
        case .tierChanged: return .tierChanged
        case .pointsCorrected: return .pointsCorrected
        case .campaignDefined: return .campaignDefined
        case .suitabilityWarningAcknowledged: return .suitabilityWarningAcknowledged
        case .suitabilityBreachFlagged: return .suitabilityBreachFlagged
        case .clientDataErased: return .clientDataErased
        case .campaignLaunched: return .campaignLaunched
        case .campaignClosed: return .campaignClosed
        case .campaignEnrolled: return .campaignEnrolled
        }
    }

    // MARK: - Decoding (with upcasting)

    /// Decodes and validates a payload of `type` written at `schemaVersion`, upcasting older
    /// versions to the current one. Errors name the field as `data.<name>`.
    public static func decode(type: EventType, schemaVersion: Int, data: JSONObject) throws(FieldError) -> EventPayload {
        guard schemaVersion >= 1, schemaVersion <= type.currentSchemaVersion else {
            throw FieldError(
                field: "schemaVersion",
                problem: "\(type.rawValue) has versions 1 to \(type.currentSchemaVersion), found \(schemaVersion)")
        }
        let upcast = try Upcaster.upcast(type: type, from: schemaVersion, data: data)
        var r = FieldReader(upcast, prefix: "data")
        let payload: EventPayload
        switch type {
        case .clientRegistered:
            payload = .clientRegistered(
                name: try r.personalText("name", maxLength: 200), segment: try r.choice("segment", Segment.self),
                investorType: try r.choice("investorType", InvestorType.self), branch: try r.text("branch", maxLength: 100))
        case .clientProfileUpdated:
            let name = try r.optionalPersonalText("name", maxLength: 200)
            let segment = try r.optionalChoice("segment", Segment.self)
            let investorType = try r.optionalChoice("investorType", InvestorType.self)
            let branch = try r.optionalText("branch", maxLength: 100)
            guard name != nil || segment != nil || investorType != nil || branch != nil else {
                try r.rejectUnknownFields()
                throw FieldError(field: "data", problem: "names no field to update (name, segment, investorType or branch)")
            }
            payload = .clientProfileUpdated(name: name, segment: segment, investorType: investorType, branch: branch)
        case .riskAssessed:
            let level = try r.choice("level", RiskLevel.self)
            let score = try r.integer("score", in: 0...100)
            let lowest = try r.optionalBool("lowestCategory") ?? false
            if lowest, level != .c1 {
                throw r.error("lowestCategory", "only a C1 client can be in the lowest category, level is \(level.rawValue)")
            }
            payload = .riskAssessed(level: level, score: score, lowestCategory: lowest)
        case .fundsDeposited:
            payload = .fundsDeposited(amount: try r.amount("amount"))
        case .fundsWithdrawn:
            payload = .fundsWithdrawn(amount: try r.amount("amount"))
        case .tradeExecuted:
            payload = .tradeExecuted(
                orderId: try r.text("orderId", maxLength: 64), productId: try r.text("productId", maxLength: 64),
                notional: try r.amount("notional"))
        case .productPurchased:
            payload = .productPurchased(productId: try r.text("productId", maxLength: 64), amount: try r.amount("amount"))
        case .productRedeemed:
            payload = .productRedeemed(productId: try r.text("productId", maxLength: 64))
        case .interactionLogged:
            payload = .interactionLogged(channel: try r.choice("channel", Channel.self), kind: try r.choice("kind", InteractionKind.self))
        case .surveyAnswered:
            payload = .surveyAnswered(nps: try r.integer("nps", in: 0...10))
        case .pointsRedeemed:
            payload = .pointsRedeemed(
                points: try r.integer("points", in: 1...maximumPoints), reward: try r.text("reward", maxLength: 200))
        case .pointsAdjusted:
            let points = try r.integer("points", in: -maximumPoints...maximumPoints)
            guard points != 0 else { throw r.error("points", "must not be 0") }
            payload = .pointsAdjusted(
                points: points, reason: try r.text("reason", maxLength: 200), approvedBy: try r.text("approvedBy", maxLength: 100))
        case .clientOffboarded:
            payload = .clientOffboarded(reason: try r.text("reason", maxLength: 200))
        case .pointsAwarded:
            payload = .pointsAwarded(
                points: try r.integer("points", in: 1...maximumPoints), reason: try r.choice("reason", AwardReason.self),
                campaignId: try r.optionalText("campaignId", maxLength: 64), expiresAt: try r.timestamp("expiresAt"))
        case .pointsExpired:
            payload = .pointsExpired(
                points: try r.integer("points", in: 1...maximumPoints), lotAwardedAt: try r.timestamp("lotAwardedAt"))
        case .tierChanged:
            let from = try r.choice("from", Tier.self)
            let to = try r.choice("to", Tier.self)
            let reason = try r.choice("reason", TierChangeReason.self)
            let corrects = try r.optionalText("corrects", maxLength: 64)
            if reason == .corrected {
                // Version 1 had no `corrects` (the upcast refuses one there).
                if corrects == nil, schemaVersion >= 2 {
                    throw r.error("corrects", "is required with reason corrected: the eventId of the TierChanged it corrects")
                }
            } else if corrects != nil {
                throw r.error("corrects", "is only for reason corrected, reason is \(reason.rawValue)")
            }
            payload = .tierChanged(from: from, to: to, reason: reason, corrects: corrects)
        case .pointsCorrected:
            let points = try r.integer("points", in: -maximumPoints...maximumPoints)
            guard points != 0 else { throw r.error("points", "must not be 0") }
            payload = .pointsCorrected(
                points: points, corrects: try r.text("corrects", maxLength: 64),
                decision: try r.choice("decision", CorrectedDecision.self), lotAwardedAt: try r.timestamp("lotAwardedAt"),
                reason: try r.choice("reason", CorrectionReason.self))
        case .suitabilityWarningAcknowledged:
            payload = .suitabilityWarningAcknowledged(
                productId: try r.text("productId", maxLength: 64), warningRef: try r.text("warningRef", maxLength: 200))
        case .clientDataErased:
            payload = .clientDataErased(
                reason: try r.text("reason", maxLength: 500), requestedBy: try r.text("requestedBy", maxLength: 200),
                retentionOverride: try r.optionalText("retentionOverride", maxLength: 500))
        case .suitabilityBreachFlagged:
            let productId = try r.text("productId", maxLength: 64)
            let productRisk = try r.choice("productRisk", ProductRisk.self)
            let clientLevel = try r.optionalChoice("clientLevel", RiskLevel.self)
            payload = .suitabilityBreachFlagged(
                productId: productId, productRisk: productRisk, clientLevel: clientLevel,
                reason: try r.choice("reason", SuitabilityBreachReason.self))
        case .campaignDefined:
            payload = .campaignDefined(name: try r.text("name", maxLength: 200), definition: try r.object("definition"))
        case .campaignLaunched:
            let note = try r.optionalText("note", maxLength: 200)
            var excluded: [EligibilityCheck: Int64] = [:]
            if let object = try r.optionalObject("excluded") {
                var counts = FieldReader(object, prefix: "data.excluded")
                for check in EligibilityCheck.allCases {
                    if let count = try counts.optionalInteger(check.rawValue, in: 1...Int64(Int32.max)) { excluded[check] = count }
                }
                try counts.rejectUnknownFields()
            }
            payload = .campaignLaunched(note: note, excluded: excluded)
        case .campaignEnrolled:
            let campaignId = try r.text("campaignId", maxLength: 64)
            guard ImportLineParser.isIdentifier(campaignId) else { throw r.error("campaignId", "must be \(ImportLineParser.idPattern)") }
            payload = .campaignEnrolled(campaignId: campaignId, group: try r.choice("group", CampaignGroup.self))
        case .campaignClosed:
            payload = .campaignClosed(reason: try r.optionalText("reason", maxLength: 200))
        }
        try r.rejectUnknownFields()
        return payload
    }

    // MARK: - Encoding

    /// The compact JSON the ledger stores in `data`, always at the current schema version.
    public var dataJSON: String { dataJSON(forDisplay: false) }

    /// The payload as JSON: the stored form, or (`forDisplay`) the output form, with amounts
    /// as exact decimal strings and display-changing characters escaped.
    public func dataJSON(forDisplay: Bool) -> String {
        var w = JSONWriter(capacity: 96, forDisplay: forDisplay)
        w.beginObject()
        switch self {
        case .clientRegistered(let name, let segment, let investorType, let branch):
            w.key("name"); PersonalField.write(name, to: &w)
            w.key("segment"); w.string(segment.rawValue)
            w.key("investorType"); w.string(investorType.rawValue)
            w.key("branch"); w.string(branch)
        case .clientProfileUpdated(let name, let segment, let investorType, let branch):
            if let name { w.key("name"); PersonalField.write(name, to: &w) }
            if let segment { w.key("segment"); w.string(segment.rawValue) }
            if let investorType { w.key("investorType"); w.string(investorType.rawValue) }
            if let branch { w.key("branch"); w.string(branch) }
        case .riskAssessed(let level, let score, let lowestCategory):
            w.key("level"); w.string(level.rawValue)
            w.key("score"); w.int(score)
            w.key("lowestCategory"); w.bool(lowestCategory)
        case .fundsDeposited(let amount), .fundsWithdrawn(let amount):
            w.key("amount"); w.money(amount)
        case .tradeExecuted(let orderId, let productId, let notional):
            w.key("orderId"); w.string(orderId)
            w.key("productId"); w.string(productId)
            w.key("notional"); w.money(notional)
        case .productPurchased(let productId, let amount):
            w.key("productId"); w.string(productId)
            w.key("amount"); w.money(amount)
        case .productRedeemed(let productId):
            w.key("productId"); w.string(productId)
        case .interactionLogged(let channel, let kind):
            w.key("channel"); w.string(channel.rawValue)
            w.key("kind"); w.string(kind.rawValue)
        case .surveyAnswered(let nps):
            w.key("nps"); w.int(nps)
        case .pointsRedeemed(let points, let reward):
            w.key("points"); w.int(points)
            w.key("reward"); w.string(reward)
        case .pointsAdjusted(let points, let reason, let approvedBy):
            w.key("points"); w.int(points)
            w.key("reason"); w.string(reason)
            w.key("approvedBy"); w.string(approvedBy)
        case .clientOffboarded(let reason):
            w.key("reason"); w.string(reason)
        case .pointsAwarded(let points, let reason, let campaignId, let expiresAt):
            w.key("points"); w.int(points)
            w.key("reason"); w.string(reason.rawValue)
            if let campaignId { w.key("campaignId"); w.string(campaignId) }
            w.key("expiresAt"); w.string(expiresAt.iso8601)
        case .pointsExpired(let points, let lotAwardedAt):
            w.key("points"); w.int(points)
            w.key("lotAwardedAt"); w.string(lotAwardedAt.iso8601)
        case .tierChanged(let from, let to, let reason, let corrects):
            w.key("from"); w.string(from.rawValue)
            w.key("to"); w.string(to.rawValue)
            w.key("reason"); w.string(reason.rawValue)
            if let corrects { w.key("corrects"); w.string(corrects) }
        case .pointsCorrected(let points, let corrects, let decision, let lotAwardedAt, let reason):
            w.key("points"); w.int(points)
            w.key("corrects"); w.string(corrects)
            w.key("decision"); w.string(decision.rawValue)
            w.key("lotAwardedAt"); w.string(lotAwardedAt.iso8601)
            w.key("reason"); w.string(reason.rawValue)
        case .suitabilityWarningAcknowledged(let productId, let warningRef):
            w.key("productId"); w.string(productId)
            w.key("warningRef"); w.string(warningRef)
        case .clientDataErased(let reason, let requestedBy, let retentionOverride):
            w.key("reason"); w.string(reason)
            w.key("requestedBy"); w.string(requestedBy)
            if let retentionOverride { w.key("retentionOverride"); w.string(retentionOverride) }
        case .suitabilityBreachFlagged(let productId, let productRisk, let clientLevel, let reason):
            w.key("productId"); w.string(productId)
            w.key("productRisk"); w.string(productRisk.rawValue)
            if let clientLevel { w.key("clientLevel"); w.string(clientLevel.rawValue) }
            w.key("reason"); w.string(reason.rawValue)
        case .campaignDefined(let name, let definition):
            w.key("name"); w.string(name)
            w.key("definition"); w.value(.object(definition))
        case .campaignLaunched(let note, let excluded):
            if let note { w.key("note"); w.string(note) }
            if !excluded.isEmpty {
                w.key("excluded")
                w.beginObject()
                for check in EligibilityCheck.allCases {
                    if let count = excluded[check] { w.key(check.rawValue); w.int(count) }
                }
                w.endObject()
            }
        case .campaignEnrolled(let campaignId, let group):
            w.key("campaignId"); w.string(campaignId)
            w.key("group"); w.string(group.rawValue)
        case .campaignClosed(let reason):
            if let reason { w.key("reason"); w.string(reason) }
        }
        w.endObject()
        return w.text
    }
}

/// Brings payloads written at older schema versions up to the current one, one version step
/// at a time. Stored events are never rewritten: they are upcast each time they are read.
public enum Upcaster {
    /// The upcast `data` of an event stored at `version`.
    public static func upcast(type: EventType, from version: Int, data: JSONObject) throws(FieldError) -> JSONObject {
        var current = data
        var at = version
        while at < type.currentSchemaVersion {
            current = try step(type: type, from: at, data: current)
            at += 1
        }
        return current
    }

    private static func step(type: EventType, from version: Int, data: JSONObject) throws(FieldError) -> JSONObject {
        switch (type, version) {
        case (.riskAssessed, 1):
            // v1 had no `lowestCategory`: no v1 assessment placed a client in the lowest category.
            if data["lowestCategory"] != nil {
                throw FieldError(field: "data.lowestCategory", problem: "is not part of RiskAssessed version 1")
            }
            var upgraded = data
            upgraded.members.append((key: "lowestCategory", value: .bool(false)))
            return upgraded
        case (.tierChanged, 1):
            // v1 had no `corrects`: a v1 correction is read without it.
            if data["corrects"] != nil {
                throw FieldError(field: "data.corrects", problem: "is not part of TierChanged version 1")
            }
            return data
        default:
            return data
        }
    }
}
