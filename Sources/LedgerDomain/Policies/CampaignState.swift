import LedgerCore

/// A campaign stream's state, enough to keep its events in order.
public struct CampaignState: Sendable {
    public let campaignId: String
    public var version: Int64 = 0
    public var name: String?
    /// The stored definition, as recorded (older ledgers stored it unchecked).
    public var definition: JSONObject?
    public var definedAt: Timestamp?
    public var launchedAt: Timestamp?
    public var closedAt: Timestamp?
    public var closeReason: String?
    public var launchNote: String?
    /// Clients suitability left out at launch, per failed check.
    public var excluded: [EligibilityCheck: Int64] = [:]

    public init(campaignId: String) {
        self.campaignId = campaignId
    }

    public var isDefined: Bool { name != nil }
    /// Launched and not closed: awards triggered by events may be made.
    public var isOpen: Bool { launchedAt != nil && closedAt == nil }

    public var stateName: String {
        if closedAt != nil { return launchedAt == nil ? "closed before launch" : "closed" }
        if launchedAt != nil { return "open" }
        return isDefined ? "defined" : "unknown"
    }

    public mutating func apply(_ payload: EventPayload, at moment: Timestamp) throws(FieldError) {
        switch payload {
        case .campaignDefined(let name, let definition):
            guard self.name == nil else { throw FieldError(field: "type", problem: "campaign \(campaignId) is already defined") }
            self.name = name
            self.definition = definition
            definedAt = moment
        case .campaignLaunched(let note, let excluded):
            guard name != nil else { throw FieldError(field: "campaignId", problem: "no campaign \(campaignId) is defined") }
            guard launchedAt == nil else { throw FieldError(field: "type", problem: "campaign \(campaignId) is already launched") }
            guard closedAt == nil else { throw FieldError(field: "type", problem: "campaign \(campaignId) is closed") }
            launchedAt = moment
            launchNote = note
            self.excluded = excluded
        case .campaignClosed(let reason):
            guard name != nil else { throw FieldError(field: "campaignId", problem: "no campaign \(campaignId) is defined") }
            guard closedAt == nil else { throw FieldError(field: "type", problem: "campaign \(campaignId) is already closed") }
            closedAt = moment
            closeReason = reason
        default:
            throw FieldError(field: "type", problem: "\(payload.type.rawValue) does not belong to a campaign stream")
        }
        version += 1
    }
}
