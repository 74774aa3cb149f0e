import LedgerCore
import LedgerDomain
import LedgerStorage

// MARK: - State of the streams a transaction touches

/// Client and campaign states for one transaction: folded from the log on first touch, then
/// kept so an import never re-reads a stream per event.
///
/// Client states stay in memory up to `residentLimit` bytes (`ClientState.approximateBytes`),
/// less what the cache keeps for every client it has met (`bookkeepingBytes`: the client
/// numbers, where each state set aside lies, each client's latest planned event) down to an
/// eighth of the limit; past it, the least recently used are set aside in a `StateSpill` (a
/// temporary file) and read back when their client comes again, so an import holds a bounded
/// amount of them: at a million clients the bookkeeping is about 47 MB a pass, and the states
/// give way to it. A state set aside is exactly the one in memory (the snapshot
/// form keeps every field), so where a state lives changes no decision.
struct StateCache {
    /// Bytes of client states kept in memory by default: the 1,000 clients of the benchmark,
    /// with a thousand point lots each, fit; a million clients spill.
    static let defaultResidentLimit = 64 << 20
    let ledger: Ledger
    /// The connection reads go through: the writer's own, or the planner thread's.
    let reader: any EventStore
    let session: (any AppendTransaction)?
    /// The log held no event when the import began: no id can be stored already (ids are
    /// unique within one input), so no lookup is needed.
    let logWasEmpty: Bool
    private var clients: [String: Resident] = [:]
    /// Stores in order (client, serial), oldest first from `orderHead`: an entry whose serial
    /// is not the client's current one is stale (the client was stored again since).
    private var order: [(id: String, serial: Int)] = []
    private var orderHead = 0
    private var serial = 0
    /// `approximateBytes` of the resident client states, summed.
    private(set) var residentBytes = 0
    let residentLimit: Int
    private let spill = StateSpill()
    /// The clients this transaction has met, numbered: the spill and the planned log keep
    /// their entries by number.
    private var numbers = ClientNumbers()
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

    init(
        ledger: Ledger, reader: any EventStore, session: (any AppendTransaction)?, logWasEmpty: Bool = false,
        warm: [String: ClientState] = [:], residentLimit: Int = StateCache.defaultResidentLimit
    ) {
        self.ledger = ledger
        self.residentLimit = max(0, residentLimit)
        self.reader = reader
        self.session = session
        self.logWasEmpty = logWasEmpty
        self.warm = warm
        self.startPosition = session?.lastPosition
        self.planned = PlannedLog(bufferLimit: ledger.plannedLogBufferLimit)
    }

    /// Notes an event planned for a client in this transaction.
    mutating func logged(_ clientId: String, _ event: NewEvent, isDecision: Bool) throws {
        try planned.append(numbers.number(adding: clientId), clientId, event, isDecision: isDecision)
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
        if let number = numbers.number(of: clientId) { events += try planned.events(of: number) }
        return events
    }

    mutating func client(_ id: String) throws -> ClientState {
        if let resident = clients.removeValue(forKey: id) {
            residentBytes -= resident.bytes
            return resident.state
        }
        if spill.count > 0, let number = numbers.number(of: id), let state = try spill.take(number: number, id: id) {
            return state
        }
        if let state = warm.removeValue(forKey: id) ?? (reader === ledger.store ? ledger.warmClients.take(id) : nil) {
            let current = try session.map { try $0.version(of: state.stream) } ?? reader.version(of: state.stream)
            if current == state.version { return state }
        }
        if logWasEmpty { return ClientState(clientId: id, adjustmentLotLifetimeDays: ledger.rules.lotLifetimeDays) }
        return try StreamFold(store: reader, rules: ledger.rules).fold(id)
    }

    /// Bytes kept for the clients met, whether their states are in memory or not.
    var bookkeepingBytes: Int { numbers.approximateBytes + spill.approximateBytes + planned.approximateBytes }

    /// The bytes of resident states past which the least recently used are set aside: the
    /// limit less the bookkeeping, never below an eighth of the limit.
    private var effectiveLimit: Int { max(residentLimit / 8, residentLimit - bookkeepingBytes) }

    /// How many client states the cache holds in memory.
    var clientCount: Int { clients.count }

    /// The resident client states of this transaction (to keep warm after it commits), at
    /// most `limit` of them, the most recently used; the ones set aside are dropped with the
    /// file. (An import touching many clients hands over only its last few thousand: holding
    /// all of them twice while they change hands was the peak of a many-client import.)
    mutating func takeClients(mostRecent limit: Int = .max) -> [String: ClientState] {
        defer {
            clients = [:]
            order = []
            orderHead = 0
            residentBytes = 0
        }
        var taken: [String: ClientState] = [:]
        var index = order.count
        while index > orderHead, taken.count < min(limit, clients.count) {
            index -= 1
            let (id, stamp) = order[index]
            if let resident = clients[id], resident.serial == stamp { taken[id] = resident.state }
        }
        return taken
    }

    mutating func store(_ state: ClientState) throws {
        serial += 1
        let resident = Resident(state: state, serial: serial, bytes: state.approximateBytes)
        if let old = clients.updateValue(resident, forKey: state.clientId) { residentBytes -= old.bytes }
        residentBytes += resident.bytes
        order.append((state.clientId, serial))
        if residentBytes > effectiveLimit {
            try setAsideLeastRecent()
        } else if order.count - orderHead > 2 * clients.count + 4_096 {
            // Mostly stale entries (a few clients stored many times): keep the current ones.
            order = order[orderHead...].filter { clients[$0.id]?.serial == $0.serial }
            orderHead = 0
        }
    }

    /// Moves the least recently stored client states to the spill until the resident ones
    /// are down to three quarters of the limit (so that this happens in runs, not per event).
    private mutating func setAsideLeastRecent() throws {
        // The target is asked again each time: setting a state aside may grow the bookkeeping.
        while residentBytes > effectiveLimit / 4 * 3, orderHead < order.count {
            let (id, stamp) = order[orderHead]
            orderHead += 1
            guard let resident = clients[id], resident.serial == stamp else { continue }
            try spill.put(resident.state, number: numbers.number(adding: id))
            clients.removeValue(forKey: id)
            residentBytes -= resident.bytes
        }
        if orderHead > 4_096, orderHead * 2 > order.count {
            order.removeFirst(orderHead)
            orderHead = 0
        }
    }

    /// A resident state, boxed: a `ClientState` is about 500 bytes inline, and a dictionary
    /// of them held twice that per client in empty buckets (measured: 62 MB of buckets for
    /// 64 MiB of states); boxed, a bucket is a reference.
    private final class Resident {
        let state: ClientState
        let serial: Int
        let bytes: Int

        init(state: ClientState, serial: Int, bytes: Int) {
            self.state = state
            self.serial = serial
            self.bytes = bytes
        }
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

/// Client states an import has set aside past its memory budget, each in the snapshot form
/// (`ClientState.encode`) in a slot of a `ScratchFile`, found by the client's number in the
/// pass (`ClientNumbers`). A client keeps its slot for the whole import and is written again
/// in place while its state fits (slots have a quarter's room to grow), so the file grows with
/// the clients, not with the events. Memory: 16 bytes for each number up to the highest set
/// aside.
final class StateSpill {
    private let file = ScratchFile(holding: "the client states set aside")
    private var slots: [Slot] = []
    private var end: Int64 = 0
    private var writer = BinaryWriter(capacity: 1_024)
    /// States held in the file now.
    private(set) var count = 0

    /// Bytes held in memory: the slots and the encoding buffer.
    var approximateBytes: Int { slots.capacity * MemoryLayout<Slot>.stride + writer.capacity }

    /// 16 bytes, so that a million clients' slots stay at 16 MB.
    private struct Slot {
        var offset: Int64
        var capacity: UInt32
        /// Bytes of the state held there; 0 when the client's state is in memory.
        var length: UInt32

        static let empty = Slot(offset: 0, capacity: 0, length: 0)
    }

    /// Sets aside the state of the client numbered `number`.
    func put(_ state: ClientState, number: Int) throws {
        writer.removeAll()
        state.encode(to: &writer)
        if number >= slots.count {
            slots.append(contentsOf: repeatElement(.empty, count: number + 1 - slots.count))
        }
        var slot = slots[number]
        if Int(slot.capacity) < writer.count {
            let capacity = (writer.count + writer.count / 4 + 63) & ~63
            guard let narrow = UInt32(exactly: capacity) else {
                throw StorageError.backend("the state of client \(state.clientId) is too large to set aside (\(writer.count) bytes)")
            }
            slot.capacity = narrow
            slot.offset = end
            end += Int64(capacity)
        }
        try writer.withUnsafeBytes { try file.write($0, at: slot.offset) }
        if slot.length == 0 { count += 1 }
        slot.length = UInt32(writer.count)
        slots[number] = slot
    }

    /// The state of the client numbered `number`, if it is held here (it then leaves the
    /// file); `id` names the client in an error and is checked against the state read.
    func take(number: Int, id: String) throws -> ClientState? {
        guard number < slots.count, slots[number].length > 0 else { return nil }
        let slot = slots[number]
        var reader = BinaryReader(try file.read(count: Int(slot.length), at: slot.offset))
        let state: ClientState
        do {
            state = try ClientState(from: &reader)
        } catch {
            throw StorageError.backend("the state of client \(id) set aside by this import cannot be read back from its temporary file")
        }
        guard state.clientId == id else {
            throw StorageError.backend("the state set aside for client \(id) is the state of \(state.clientId)")
        }
        slots[number].length = 0
        count -= 1
        return state
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
