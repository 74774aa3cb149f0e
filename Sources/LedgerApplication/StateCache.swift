import LedgerCore
import LedgerDomain
import LedgerStorage

// MARK: - State of the streams a transaction touches

/// Client and campaign states for one transaction: folded from the log on first touch, then
/// kept in memory so an import never re-reads a stream per event.
struct StateCache {
    let ledger: Ledger
    /// The connection reads go through: the writer's own, or the planner thread's.
    let reader: any EventStore
    let session: (any AppendTransaction)?
    /// The log held no event when the import began: no id can be stored already (ids are
    /// unique within one input), so no lookup is needed.
    let logWasEmpty: Bool
    private var clients: [String: ClientState] = [:]
    private var campaigns: [String: CampaignState] = [:]
    /// The open event-triggered campaigns and their budgets, read when the transaction began.
    var book = CampaignBook.empty
    /// Warm states handed over by the ledger (the planner thread must not touch the ledger's).
    private var warm: [String: ClientState]
    /// The events planned in this transaction, per client, for the late-fact policy (the
    /// planner's connection does not see them). Only facts and decisions of clients.
    private let planned: PlannedLog
    /// The last position committed when the transaction began: the stored part of a stream
    /// is read up to it (the writer's own session sees what this transaction appended).
    private let startPosition: Int64?

    init(ledger: Ledger, reader: any EventStore, session: (any AppendTransaction)?, logWasEmpty: Bool = false, warm: [String: ClientState] = [:]) {
        self.ledger = ledger
        self.reader = reader
        self.session = session
        self.logWasEmpty = logWasEmpty
        self.warm = warm
        self.startPosition = session?.lastPosition
        self.planned = PlannedLog(bufferLimit: ledger.plannedLogBufferLimit)
    }

    /// Notes an event planned for a client in this transaction.
    func logged(_ clientId: String, _ event: NewEvent, isDecision: Bool) throws {
        try planned.append(clientId, event, isDecision: isDecision)
    }

    /// A client's stream as recorded so far, this transaction's planned events included.
    func log(of clientId: String) throws -> [LoggedEvent] {
        var events: [LoggedEvent] = []
        if !logWasEmpty {
            try reader.scan(EventQuery(stream: ClientState.stream(for: clientId), toPosition: startPosition)) { event in
                guard let type = EventType(rawValue: event.type) else { return true }
                events.append(LoggedEvent(
                    eventId: event.eventId, payload: try StoredEvents.payload(of: event), occurredAt: event.occurredMoment,
                    isDecision: type.isDecision))
                return true
            }
        }
        events += try planned.events(of: clientId)
        return events
    }

    mutating func client(_ id: String) throws -> ClientState {
        if let state = clients.removeValue(forKey: id) { return state }
        if let state = warm.removeValue(forKey: id) ?? (reader === ledger.store ? ledger.warmClients.take(id) : nil) {
            let current = try session.map { try $0.version(of: state.stream) } ?? reader.version(of: state.stream)
            if current == state.version { return state }
        }
        if logWasEmpty { return ClientState(clientId: id, adjustmentLotLifetimeDays: ledger.rules.lotLifetimeDays) }
        return try StreamFold(store: reader, rules: ledger.rules).fold(id)
    }

    /// How many clients the cache holds.
    var clientCount: Int { clients.count }

    /// The client states of this transaction (to keep warm after it commits).
    mutating func takeClients() -> [String: ClientState] {
        defer { clients = [:] }
        return clients
    }

    mutating func store(_ state: ClientState) {
        clients[state.clientId] = state
    }

    mutating func campaign(_ id: String) throws -> CampaignState {
        if let state = campaigns[id] { return state }
        return try StreamFold(store: reader, rules: ledger.rules).campaign(id)
    }

    mutating func store(_ state: CampaignState) {
        campaigns[state.campaignId] = state
    }

    /// A stream's personal-data key, as the reads of this transaction see it.
    func personalDataKey(stream: String) throws -> [UInt8]? {
        if let session { return try session.personalDataKey(stream: stream) }
        return try reader.personalDataKey(stream: stream)
    }

    /// Ids of the lines being planned, looked up at once (`prefetch`), with what the log
    /// holds for each (the rest of those ids are not stored).
    private var prefetchedIds: Set<String> = []
    private var prefetched: [String: StoredIdentity] = [:]

    /// Looks up the ids of the next lines in one read (one round trip on a server backend).
    mutating func prefetch(_ ids: [String]) throws {
        guard !logWasEmpty, session == nil else { return }
        prefetched = try reader.storedEvents(ids: ids)
        prefetchedIds = Set(ids)
    }

    func storedEvent(id: String) throws -> StoredIdentity? {
        if logWasEmpty { return nil }
        if let session { return try session.storedEvent(id: id) }
        if prefetchedIds.contains(id) { return prefetched[id] }
        return try reader.storedEvent(id: id)
    }
}

/// Client states kept between transactions, at most `capacity` of them: the oldest kept
/// are dropped first, so a long-running process (a server) never grows without bound.
struct WarmClients {
    let capacity: Int
    private var states: [String: ClientState] = [:]
    private var order: [String] = []
    private var head = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    var count: Int { states.count }

    mutating func take(_ id: String) -> ClientState? {
        states.removeValue(forKey: id)
    }

    mutating func takeAll() -> [String: ClientState] {
        defer { states = [:]; order = []; head = 0 }
        return states
    }

    mutating func keep(_ kept: [String: ClientState]) {
        for (id, state) in kept {
            if states.updateValue(state, forKey: id) == nil { order.append(id) }
        }
        while states.count > capacity, head < order.count {
            states.removeValue(forKey: order[head])
            head += 1
        }
        if head > capacity {
            order = order[head...].filter { states[$0] != nil }
            head = 0
        }
    }
}
