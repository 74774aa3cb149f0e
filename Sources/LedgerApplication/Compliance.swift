import LedgerCore
import LedgerDomain
import LedgerStorage

/// What the compliance officer reads about suitability: every purchase the ledger flagged
/// (`SuitabilityBreachFlagged`) and every written warning a client acknowledged
/// (`SuitabilityWarningAcknowledged`), in log order, cut by `occurredAt`.
public struct SuitabilityReport: Sendable, Encodable {
    public struct Flag: Sendable, Encodable {
        public var position: Int64
        public var clientId: String
        public var occurredAt: String
        public var recordedAt: String
        public var eventId: String
        public var productId: String
        public var productRisk: String
        @NullEncoded public var clientLevel: String?
        public var reason: String
        /// The flagged purchase (the decision's cause).
        @NullEncoded public var purchaseEventId: String?
        @NullEncoded public var rulesVersion: String?
    }

    public struct Acknowledgement: Sendable, Encodable {
        public var position: Int64
        public var clientId: String
        public var occurredAt: String
        public var recordedAt: String
        public var eventId: String
        public var productId: String
        public var warningRef: String
    }

    @NullEncoded public var from: String?
    @NullEncoded public var to: String?
    public var flags: [Flag] = []
    public var acknowledgements: [Acknowledgement] = []

    /// Reads the report from the log; `from` and `to` bound `occurredAt` (inclusive).
    public init(store: any EventStore, from: Timestamp?, to: Timestamp?) throws {
        self.from = from?.iso8601
        self.to = to?.iso8601
        let query = EventQuery(
            types: [EventType.suitabilityBreachFlagged.rawValue, EventType.suitabilityWarningAcknowledged.rawValue],
            occurredFrom: from, occurredTo: to)
        var flags: [Flag] = []
        var acknowledgements: [Acknowledgement] = []
        try store.scan(query) { event in
            let clientId = event.stream.hasPrefix("client/") ? String(event.stream.dropFirst("client/".count)) : event.stream
            switch try StoredEvents.payload(of: event) {
            case .suitabilityBreachFlagged(let productId, let productRisk, let clientLevel, let reason):
                let metadata = EventMetadata(json: event.metadata)
                flags.append(Flag(
                    position: event.position, clientId: clientId, occurredAt: event.occurredAt, recordedAt: event.recordedAt,
                    eventId: event.eventId, productId: productId, productRisk: productRisk.rawValue, clientLevel: clientLevel?.rawValue,
                    reason: reason.rawValue, purchaseEventId: metadata.causationId, rulesVersion: metadata.rulesVersion))
            case .suitabilityWarningAcknowledged(let productId, let warningRef):
                acknowledgements.append(Acknowledgement(
                    position: event.position, clientId: clientId, occurredAt: event.occurredAt, recordedAt: event.recordedAt,
                    eventId: event.eventId, productId: productId, warningRef: warningRef))
            default:
                break
            }
            return true
        }
        self.flags = flags
        self.acknowledgements = acknowledgements
    }
}
