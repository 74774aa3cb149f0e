import LedgerCore

/// A campaign stream's state, enough to keep its events in order.
public struct CampaignState: Sendable {
    public let campaignId: String
    public var version: Int64 = 0
    public var name: String?
    public var launchedAt: Timestamp?
    public var closedAt: Timestamp?

    public init(campaignId: String) {
        self.campaignId = campaignId
    }

    public mutating func apply(_ payload: EventPayload, at moment: Timestamp) throws(FieldError) {
        switch payload {
        case .campaignDefined(let name, _):
            guard self.name == nil else { throw FieldError(field: "type", problem: "campaign \(campaignId) is already defined") }
            self.name = name
        case .campaignLaunched:
            guard name != nil else { throw FieldError(field: "campaignId", problem: "no campaign \(campaignId) is defined") }
            guard launchedAt == nil else { throw FieldError(field: "type", problem: "campaign \(campaignId) is already launched") }
            guard closedAt == nil else { throw FieldError(field: "type", problem: "campaign \(campaignId) is closed") }
            launchedAt = moment
        case .campaignClosed:
            guard name != nil else { throw FieldError(field: "campaignId", problem: "no campaign \(campaignId) is defined") }
            guard closedAt == nil else { throw FieldError(field: "type", problem: "campaign \(campaignId) is already closed") }
            closedAt = moment
        default:
            throw FieldError(field: "type", problem: "\(payload.type.rawValue) does not belong to a campaign stream")
        }
        version += 1
    }
}
