import LedgerCore

/// Reads payloads that are exactly in the ledger's own canonical form (the compact JSON
/// `EventPayload.dataJSON` writes, at the current schema version) without building a JSON
/// tree. Replays read millions of such payloads; anything else — an older schema version, an
/// escape in a string, a member out of order — returns nil, and the caller falls back to
/// the full parser and validator.
public struct CanonicalPayloadReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    /// Decodes `bytes` as the canonical payload of `type`, or returns nil.
    public static func decode(type: EventType, schemaVersion: Int, bytes: UnsafeBufferPointer<UInt8>) -> EventPayload? {
        guard schemaVersion == type.currentSchemaVersion else { return nil }
        var reader = CanonicalPayloadReader(bytes: bytes)
        guard reader.byte(UInt8(ascii: "{")), let payload = reader.members(of: type), reader.byte(UInt8(ascii: "}")),
            reader.index == bytes.count
        else { return nil }
        return payload
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    private mutating func members(of type: EventType) -> EventPayload? {
        switch type {
        case .clientRegistered:
            guard let name = text("name", first: true), let segment = choice("segment", Segment.self),
                let investorType = choice("investorType", InvestorType.self), let branch = text("branch")
            else { return nil }
            return .clientRegistered(name: name, segment: segment, investorType: investorType, branch: branch)
        case .riskAssessed:
            guard let level = choice("level", RiskLevel.self, first: true), let score = integer("score"),
                let lowest = flag("lowestCategory")
            else { return nil }
            return .riskAssessed(level: level, score: score, lowestCategory: lowest)
        case .fundsDeposited:
            guard let amount = money("amount", first: true) else { return nil }
            return .fundsDeposited(amount: amount)
        case .fundsWithdrawn:
            guard let amount = money("amount", first: true) else { return nil }
            return .fundsWithdrawn(amount: amount)
        case .tradeExecuted:
            guard let orderId = text("orderId", first: true), let productId = text("productId"), let notional = money("notional")
            else { return nil }
            return .tradeExecuted(orderId: orderId, productId: productId, notional: notional)
        case .productPurchased:
            guard let productId = text("productId", first: true), let amount = money("amount") else { return nil }
            return .productPurchased(productId: productId, amount: amount)
        case .productRedeemed:
            guard let productId = text("productId", first: true) else { return nil }
            return .productRedeemed(productId: productId)
        case .interactionLogged:
            guard let channel = choice("channel", Channel.self, first: true), let kind = choice("kind", InteractionKind.self)
            else { return nil }
            return .interactionLogged(channel: channel, kind: kind)
        case .surveyAnswered:
            guard let nps = integer("nps", first: true) else { return nil }
            return .surveyAnswered(nps: nps)
        case .pointsRedeemed:
            guard let points = integer("points", first: true), let reward = text("reward") else { return nil }
            return .pointsRedeemed(points: points, reward: reward)
        case .pointsAdjusted:
            guard let points = integer("points", first: true), let reason = text("reason"), let approvedBy = text("approvedBy")
            else { return nil }
            return .pointsAdjusted(points: points, reason: reason, approvedBy: approvedBy)
        case .clientOffboarded:
            guard let reason = text("reason", first: true) else { return nil }
            return .clientOffboarded(reason: reason)
        case .pointsAwarded:
            guard let points = integer("points", first: true), let reason = choice("reason", AwardReason.self) else { return nil }
            var campaignId: String?
            if peekKey("campaignId") {
                guard let id = text("campaignId") else { return nil }
                campaignId = id
            }
            guard let expiresAt = moment("expiresAt") else { return nil }
            return .pointsAwarded(points: points, reason: reason, campaignId: campaignId, expiresAt: expiresAt)
        case .pointsExpired:
            guard let points = integer("points", first: true), let lotAwardedAt = moment("lotAwardedAt") else { return nil }
            return .pointsExpired(points: points, lotAwardedAt: lotAwardedAt)
        case .tierChanged:
            guard let from = choice("from", Tier.self, first: true), let to = choice("to", Tier.self),
                let reason = choice("reason", TierChangeReason.self)
            else { return nil }
            var corrects: String?
            if peekKey("corrects") {
                guard let id = text("corrects") else { return nil }
                corrects = id
            }
            // The validator's cross-field rules (corrects iff corrected) are the full parser's.
            guard (reason == .corrected) == (corrects != nil) else { return nil }
            return .tierChanged(from: from, to: to, reason: reason, corrects: corrects)
        case .clientProfileUpdated, .campaignDefined, .campaignLaunched, .campaignClosed, .pointsCorrected, .campaignEnrolled,
             .suitabilityWarningAcknowledged, .suitabilityBreachFlagged, .clientDataErased:
            return nil  // rare: the full parser reads them
        }
    }

    // MARK: - Pieces

    private mutating func byte(_ expected: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == expected else { return false }
        index += 1
        return true
    }

    /// `"key":` (preceded by a comma unless it is the first member).
    private mutating func key(_ name: StaticString, first: Bool) -> Bool {
        if !first, !byte(UInt8(ascii: ",")) { return false }
        guard byte(UInt8(ascii: "\"")) else { return false }
        let count = name.utf8CodeUnitCount
        guard index + count + 2 <= bytes.count else { return false }
        for k in 0..<count where bytes[index + k] != name.utf8Start[k] { return false }
        index += count
        return byte(UInt8(ascii: "\"")) && byte(UInt8(ascii: ":"))
    }

    private func peekKey(_ name: StaticString) -> Bool {
        var copy = self
        return copy.key(name, first: false)
    }

    /// A string without escapes; nil for anything else.
    private mutating func rawString() -> UnsafeBufferPointer<UInt8>? {
        guard byte(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                defer { index += 1 }
                return UnsafeBufferPointer(rebasing: bytes[start..<index])
            }
            if c == UInt8(ascii: "\\") || c < 0x20 { return nil }
            index += 1
        }
        return nil
    }

    private mutating func text(_ name: StaticString, first: Bool = false) -> String? {
        guard key(name, first: first), let raw = rawString(), !raw.isEmpty else { return nil }
        if raw.allSatisfy({ $0 < 0x80 }) { return String(decoding: raw, as: UTF8.self) }
        return String(validating: raw, as: UTF8.self)
    }

    private mutating func choice<E: RawRepresentable>(_ name: StaticString, _ type: E.Type, first: Bool = false) -> E?
    where E.RawValue == String {
        guard key(name, first: first), let raw = rawString() else { return nil }
        return E(rawValue: String(decoding: raw, as: UTF8.self))
    }

    private mutating func moment(_ name: StaticString) -> Timestamp? {
        guard key(name, first: false), let raw = rawString() else { return nil }
        return Timestamp(iso8601Bytes: raw)
    }

    private mutating func integer(_ name: StaticString, first: Bool = false) -> Int64? {
        guard key(name, first: first) else { return nil }
        var negative = false
        if byte(UInt8(ascii: "-")) { negative = true }
        var value: Int64 = 0
        var digits = 0
        while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57, digits < 18 {
            value = value * 10 + Int64(bytes[index] - 48)
            index += 1
            digits += 1
        }
        guard digits > 0 else { return nil }
        if index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 { return nil }
        return negative ? -value : value
    }

    /// Money exactly as written by the ledger: digits, a point and two decimals.
    private mutating func money(_ name: StaticString, first: Bool = false) -> Money? {
        guard key(name, first: first) else { return nil }
        var whole: Int64 = 0
        var digits = 0
        while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57, digits < 15 {
            whole = whole * 10 + Int64(bytes[index] - 48)
            index += 1
            digits += 1
        }
        guard digits > 0, byte(UInt8(ascii: ".")), index + 2 <= bytes.count else { return nil }
        let d1 = bytes[index], d2 = bytes[index + 1]
        guard d1 >= 48, d1 <= 57, d2 >= 48, d2 <= 57 else { return nil }
        index += 2
        return Money(cents: whole * 100 + Int64(d1 - 48) * 10 + Int64(d2 - 48))
    }

    private mutating func flag(_ name: StaticString) -> Bool? {
        guard key(name, first: false) else { return nil }
        if bytes.count - index >= 4, bytes[index] == UInt8(ascii: "t"), bytes[index + 1] == UInt8(ascii: "r"),
            bytes[index + 2] == UInt8(ascii: "u"), bytes[index + 3] == UInt8(ascii: "e")
        {
            index += 4
            return true
        }
        if bytes.count - index >= 5, bytes[index] == UInt8(ascii: "f"), bytes[index + 1] == UInt8(ascii: "a"),
            bytes[index + 2] == UInt8(ascii: "l"), bytes[index + 3] == UInt8(ascii: "s"), bytes[index + 4] == UInt8(ascii: "e")
        {
            index += 5
            return false
        }
        return nil
    }
}
