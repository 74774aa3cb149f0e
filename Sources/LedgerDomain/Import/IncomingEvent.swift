import LedgerCore

/// Whose stream an event belongs to.
public enum Subject: Sendable, Equatable, Hashable {
    case client(String)
    case campaign(String)

    public var stream: String {
        switch self {
        case .client(let id): return "client/" + id
        case .campaign(let id): return "campaign/" + id
        }
    }
}

/// Event metadata: who sent it, through which channel, and what it belongs to.
public struct EventMetadata: Sendable, Equatable {
    public var actor: String?
    public var channel: String?
    public var correlationId: String?
    public var causationId: String?
    /// Only on decisions: the rules version that produced them.
    public var rulesVersion: String?

    public init(actor: String? = nil, channel: String? = nil, correlationId: String? = nil, causationId: String? = nil, rulesVersion: String? = nil) {
        self.actor = actor
        self.channel = channel
        self.correlationId = correlationId
        self.causationId = causationId
        self.rulesVersion = rulesVersion
    }

    public var json: String {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        if let actor { w.key("actor"); w.string(actor) }
        if let channel { w.key("channel"); w.string(channel) }
        if let correlationId { w.key("correlationId"); w.string(correlationId) }
        if let causationId { w.key("causationId"); w.string(causationId) }
        if let rulesVersion { w.key("rulesVersion"); w.string(rulesVersion) }
        w.endObject()
        return w.text
    }

    /// Reads stored metadata (lenient: unknown keys are ignored).
    public init(json: String) {
        guard case .object(let object)? = try? JSONParser.parse(json) else {
            self.init()
            return
        }
        func text(_ key: String) -> String? {
            if case .string(let value)? = object[key] { return value }
            return nil
        }
        self.init(actor: text("actor"), channel: text("channel"), correlationId: text("correlationId"),
                  causationId: text("causationId"), rulesVersion: text("rulesVersion"))
    }
}

/// One validated fact on its way in: from an import line or the `append` command.
public struct IncomingEvent: Sendable, Equatable {
    /// 1-based line of the input (1 for a single append).
    public var line: Int
    public var eventId: String
    public var type: EventType
    public var subject: Subject
    public var occurredAt: Timestamp
    /// The version the payload was written in (the ledger stores it as sent and upcasts on read).
    public var schemaVersion: Int
    public let payload: EventPayload
    public let metadata: EventMetadata
    /// `payload` and `metadata` as the compact JSON the ledger stores, written once when the
    /// line is parsed (on the parser thread during an import).
    public let dataJSON: String
    public let metadataJSON: String
    /// The stream's version before this event, when the sender wants to check it.
    public var expectedVersion: Int64?
    /// True when the sender gave no eventId and the ledger derived one from the content.
    public var idWasDerived = false

    public init(
        line: Int, eventId: String, type: EventType, subject: Subject, occurredAt: Timestamp, schemaVersion: Int,
        payload: EventPayload, metadata: EventMetadata, expectedVersion: Int64? = nil
    ) {
        self.line = line
        self.eventId = eventId
        self.type = type
        self.subject = subject
        self.occurredAt = occurredAt
        self.schemaVersion = schemaVersion
        self.payload = payload
        self.metadata = metadata
        self.expectedVersion = expectedVersion
        self.dataJSON = payload.dataJSON
        self.metadataJSON = metadata.json
    }
}

/// A rejected input: the line (or event) and the field, and what is wrong.
public struct InputError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int?
    public var field: String?
    public var problem: String
    /// True for an expected-version conflict (exit 75, safe to retry after re-reading).
    public var isConflict: Bool

    public init(line: Int?, field: String?, problem: String, isConflict: Bool = false) {
        self.line = line
        self.field = field
        self.problem = problem
        self.isConflict = isConflict
    }

    public var description: String {
        var text = ""
        if let line { text = "line \(line)" }
        if let field { text += text.isEmpty ? "field \(field.escapingControlCharacters)" : ", field \(field.escapingControlCharacters)" }
        let problem = problem.escapingControlCharacters
        return text.isEmpty ? problem : "\(text): \(problem)"
    }
}

/// Parses JSON Lines (SPEC §2) into validated facts.
public enum ImportLineParser {
    /// Longest accepted line, in bytes.
    public static let maximumLineBytes = 1 << 20
    static let idPattern = "letters, digits, '_' or '-', 1 to 64 characters"

    /// Parses one line (without its newline). `line` is used in errors.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) throws(InputError) -> IncomingEvent {
        guard bytes.count <= maximumLineBytes else {
            throw InputError(line: line, field: nil, problem: "longer than \(maximumLineBytes) bytes")
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            if error.reason.contains("UTF-8") {
                throw InputError(line: line, field: nil, problem: "not valid UTF-8 (at byte \(error.offset + 1))")
            }
            throw InputError(line: line, field: nil, problem: error.description)
        }
        guard case .object(let object) = value else {
            throw InputError(line: line, field: nil, problem: "malformed JSON: each line must be one JSON object, found \(value.kindName)")
        }
        var event: IncomingEvent
        do {
            event = try parse(object, line: line)
        } catch {
            throw InputError(line: line, field: error.field, problem: error.problem)
        }
        if event.eventId.isEmpty {
            event.eventId = contentId(of: event)
            event.idWasDerived = true
        }
        return event
    }

    /// The id of a fact sent without one, derived from its content in canonical form, not
    /// from the bytes of its line: the same fact re-sent with other spacing, key order,
    /// number spelling, time zone offset or JSON escapes gets the same id, so it is never
    /// stored twice. The canonical form (docs/event-log.md) is, joined by LF:
    /// `clientledger/fact`, the type, the stream, `occurredAt` in the ledger's UTC form, the
    /// data as the ledger stores it (compact JSON at the current schema version, fields in
    /// the catalogue's order, amounts with two decimals) and the metadata likewise.
    /// `expectedVersion` is a precondition of the write, not part of the fact.
    public static func contentId(of event: IncomingEvent) -> String {
        EventID.derived(from: [
            "clientledger/fact", event.type.rawValue, event.subject.stream, event.occurredAt.iso8601,
            event.dataJSON, event.metadataJSON,
        ].joined(separator: "\n"))
    }

    /// Parses one line held in a string.
    public static func parse(_ text: String, line: Int) throws(InputError) -> IncomingEvent {
        var copy = text
        var result: Result<IncomingEvent, InputError> = .failure(InputError(line: line, field: nil, problem: "empty"))
        copy.withUTF8 { bytes in
            do throws(InputError) { result = .success(try parse(bytes, line: line)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    static func parse(_ object: JSONObject, line: Int) throws(FieldError) -> IncomingEvent {
        var r = FieldReader(object, prefix: "")
        let typeName = try r.text("type", maxLength: 64)
        if typeName == EventType.clientDataErased.rawValue {
            throw FieldError(field: "type", problem: "ClientDataErased is appended by `clientledger forget CLIENT --reason R`, never imported")
        }
        if typeName == RulesAdoption.type {
            throw FieldError(field: "type", problem: "RulesAdopted is appended by `clientledger rules adopt FILE --reason R`, never imported")
        }
        guard let type = EventType(rawValue: typeName) else {
            throw FieldError(field: "type", problem: "unknown event type \"\(typeName.prefix(64))\" (see schemas/events/)")
        }
        guard !type.isDecision else {
            throw FieldError(field: "type", problem: "\(type.rawValue) is a decision: only the ledger's own policies write it")
        }
        var eventId = ""
        if let given = try r.optionalText("eventId", maxLength: 64) {
            guard let normalized = EventID.normalized(given) else {
                throw FieldError(field: "eventId", problem: "must be a UUID such as 7d1c2f0e-8a5b-4c3d-9e1f-0a1b2c3d4e5f")
            }
            eventId = normalized
        }
        let clientId = try r.optionalText("clientId", maxLength: 64)
        let campaignId = try r.optionalText("campaignId", maxLength: 64)
        let subject: Subject
        switch (clientId, campaignId, type.isCampaignEvent) {
        case (let id?, nil, false):
            guard isIdentifier(id) else { throw FieldError(field: "clientId", problem: "must be \(idPattern)") }
            subject = .client(id)
        case (nil, let id?, true):
            guard isIdentifier(id) else { throw FieldError(field: "campaignId", problem: "must be \(idPattern)") }
            subject = .campaign(id)
        case (_, _, false):
            throw FieldError(field: "clientId", problem: campaignId == nil ? "is required" : "\(type.rawValue) belongs to a client stream: give clientId, not campaignId")
        case (_, _, true):
            throw FieldError(field: "campaignId", problem: clientId == nil ? "is required" : "\(type.rawValue) belongs to a campaign stream: give campaignId, not clientId")
        }
        let occurredAt = try r.timestamp("occurredAt")
        let schemaVersion = Int(try r.optionalInteger("schemaVersion", in: 1...1000) ?? Int64(type.currentSchemaVersion))
        let expectedVersion = try r.optionalInteger("expectedVersion", in: 0...Int64(Int32.max))
        guard let data = try r.optionalObject("data") else {
            if object["data"] == nil { throw FieldError(field: "data", problem: "is required") }
            throw FieldError(field: "data", problem: "must be an object")
        }
        let metadataObject = try r.optionalObject("metadata") ?? JSONObject()
        try r.rejectUnknownFields()
        let payload = try EventPayload.decode(type: type, schemaVersion: schemaVersion, data: data)
        for (field, value) in payload.personalFields where !PersonalField.isPlain(value) {
            // The sealed form is the ledger's own: a sender gives personal data as text.
            throw FieldError(field: "data.\(field)", problem: "must be a string, found an object")
        }
        var m = FieldReader(metadataObject, prefix: "metadata")
        let metadata = EventMetadata(
            actor: try m.optionalText("actor", maxLength: 200), channel: try m.optionalText("channel", maxLength: 200),
            correlationId: try m.optionalText("correlationId", maxLength: 200),
            causationId: try m.optionalText("causationId", maxLength: 200))
        try m.rejectUnknownFields()
        return IncomingEvent(
            line: line, eventId: eventId, type: type, subject: subject, occurredAt: occurredAt,
            schemaVersion: type.currentSchemaVersion, payload: payload, metadata: metadata, expectedVersion: expectedVersion)
    }

    static func isIdentifier(_ text: String) -> Bool {
        let utf8 = text.utf8
        return !utf8.isEmpty && utf8.count <= 64 && utf8.allSatisfy {
            ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 || $0 == 45
        }
    }

    /// Parses a whole JSON Lines input: every line is checked before anything is written.
    /// Blank lines are skipped; a line without `eventId` gets one derived from its content
    /// (`contentId(of:)`), so importing the same facts again writes nothing. Two lines with
    /// the same id, given or derived, are refused.
    public static func parseAll(_ input: UnsafeBufferPointer<UInt8>) throws(InputError) -> [IncomingEvent] {
        var reader = LineReader(input)
        var events: [IncomingEvent] = []
        while let chunk = try reader.next(upTo: 65_536) { events.append(contentsOf: chunk) }
        return events
    }

    /// Reads JSON Lines a chunk at a time, checking ids for duplicates across the whole input
    /// in bounded memory.
    ///
    /// The first `exactIds` ids are kept with their lines, so a duplicate among them is named
    /// at once. Past that, ids go into a fixed-size filter (32 MiB, whatever the size of the
    /// input): an id the filter has not seen is new for certain; one it may have seen is a
    /// suspect, kept with its line. Two lines with the same suspect id are a duplicate at once;
    /// the other suspects are settled when the end of the input is reached, by reading it
    /// again from the start (only when there are suspects: at a million ids the filter gives
    /// one in about a hundred imports), so a duplicate is always refused before anything is
    /// committed, naming both lines.
    public struct LineReader {
        private let input: UnsafeBufferPointer<UInt8>
        private var start = 0
        private var line = 0
        private let exactIds: Int
        private let filterBits: Int
        /// False for a reader whose input is checked for duplicates by another reader.
        private let checksDuplicates: Bool
        /// The line of every id read so far while there are at most `exactIds` of them, keyed
        /// by the id's 128 bits (a UUID's own, or the first 128 bits of SHA-256 of any other id).
        private var lineOfId: [IdKey: Int32] = [:]
        /// Every id read once `lineOfId` is full (it is moved in).
        private var filter: IdKeyFilter?
        /// Ids the filter may have seen before their line, with that line.
        private var suspects: [IdKey: Suspect] = [:]
        private var eventsRead = 0
        /// Told how far a re-reading of the input has got, so that its pages can be released.
        public var rereadProgress: ((Int) -> Void)?

        struct Suspect {
            var line: Int32
            var idWasDerived: Bool
            var eventId: String
        }

        /// With `checksDuplicates` false the reader only parses: for a second pass over an
        /// input whose ids another reader checks.
        public init(_ input: UnsafeBufferPointer<UInt8>, exactIds: Int = 65_536, filterBits: Int = 1 << 28, checksDuplicates: Bool = true) {
            self.input = input
            self.exactIds = exactIds
            self.filterBits = filterBits
            self.checksDuplicates = checksDuplicates
        }

        /// How far into the input the reader has got: everything before it has been parsed.
        public var offset: Int { start }

        /// The next events (at most `limit`), or nil at the end of the input. An input with
        /// no event at all is an error.
        public mutating func next(upTo limit: Int) throws(InputError) -> [IncomingEvent]? {
            var events: [IncomingEvent] = []
            while events.count < limit, let (bytes, number) = nextLine() {
                let event = try parse(bytes, line: number)
                try record(event)
                events.append(event)
            }
            eventsRead += events.count
            if events.isEmpty {
                guard eventsRead > 0 else {
                    throw InputError(line: nil, field: nil, problem: "the input is empty: no events to import")
                }
                try settleSuspects()
                return nil
            }
            return events
        }

        /// The next line that is not blank, with its number.
        private mutating func nextLine() -> (UnsafeBufferPointer<UInt8>, Int)? {
            let count = input.count
            while start < count {
                line += 1
                var end = start
                while end < count, input[end] != 0x0A { end += 1 }
                var stop = end
                if stop > start, input[stop - 1] == 0x0D { stop -= 1 }
                let bytes = UnsafeBufferPointer(rebasing: input[start..<stop])
                start = end + 1
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                return (bytes, line)
            }
            return nil
        }

        private mutating func record(_ event: IncomingEvent) throws(InputError) {
            guard checksDuplicates else { return }
            let key = IdKey(event.eventId)
            // Through optional chaining, so the filter is changed in place, never copied.
            if let seen = filter?.mayContain(key) {
                if seen {
                    if let earlier = suspects[key] {
                        throw Self.duplicate(event, line: event.line, of: Int(earlier.line))
                    }
                    suspects[key] = Suspect(line: Int32(clamping: event.line), idWasDerived: event.idWasDerived, eventId: event.eventId)
                } else {
                    filter?.insert(key)
                }
                return
            }
            if let first = lineOfId[key] {
                throw Self.duplicate(event, line: event.line, of: Int(first))
            }
            lineOfId[key] = Int32(clamping: event.line)
            if lineOfId.count >= exactIds {
                var filter = IdKeyFilter(bits: filterBits)
                for key in lineOfId.keys { filter.insert(key) }
                self.filter = filter
                lineOfId = [:]
            }
        }

        /// Reads the input again from the start to find, for each suspect, an earlier line
        /// with its id; refuses the first suspect line that has one.
        private mutating func settleSuspects() throws(InputError) {
            guard !suspects.isEmpty else { return }
            var again = LineReader(input, exactIds: 0, filterBits: 1)
            var first: (suspect: Suspect, earlier: Int)?
            var reported = 0
            let lastSuspect = Int(suspects.values.map(\.line).max() ?? 0)
            while let (bytes, number) = again.nextLine(), number < lastSuspect {
                if number - reported >= 65_536 {
                    rereadProgress?(again.start)
                    reported = number
                }
                guard let event = try? parse(bytes, line: number), let suspect = suspects[IdKey(event.eventId)],
                    number < Int(suspect.line)
                else { continue }
                if first.map({ suspect.line < $0.suspect.line }) ?? true { first = (suspect, number) }
                suspects[IdKey(event.eventId)] = nil
            }
            rereadProgress?(input.count)
            suspects = [:]
            if let first {
                throw InputError(
                    line: Int(first.suspect.line), field: "eventId",
                    problem: Self.duplicateProblem(
                        eventId: first.suspect.eventId, derived: first.suspect.idWasDerived, of: first.earlier))
            }
        }

        private static func duplicate(_ event: IncomingEvent, line: Int, of first: Int) -> InputError {
            InputError(line: line, field: "eventId", problem: duplicateProblem(eventId: event.eventId, derived: event.idWasDerived, of: first))
        }

        private static func duplicateProblem(eventId: String, derived: Bool, of first: Int) -> String {
            if derived {
                // Same content, same fact: a second copy would be stored once, and a fact
                // silently dropped is worse than an input refused.
                return "none given, and the line is the same fact as line \(first) (same type, subject, occurredAt, data and metadata, derived id \(eventId)); remove the copy, or give each line its own eventId if they are two facts"
            }
            return "duplicate of line \(first) (\(eventId))"
        }
    }
}

/// Id keys in a Bloom filter of four probes (`BloomFilter`): `mayContain` is false only for a
/// key never inserted.
struct IdKeyFilter {
    private var bits: BloomFilter

    init(bits: Int) {
        self.bits = BloomFilter(bits: bits, probes: 4)
    }

    private static func mix(_ value: UInt64) -> UInt64 {
        // splitmix64's finalizer: every output bit depends on every input bit.
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The key's bits are a UUID's (with fixed version and variant bits) or a hash's: mixed
    /// first, so that keys differing in a few bits spread over the whole filter.
    private static func hashes(_ key: IdKey) -> (UInt64, UInt64) {
        let a = mix(key.high ^ mix(key.low))
        return (a, mix(a) | 1)
    }

    mutating func insert(_ key: IdKey) {
        let (a, b) = Self.hashes(key)
        bits.insert(a, b)
    }

    func mayContain(_ key: IdKey) -> Bool {
        let (a, b) = Self.hashes(key)
        return bits.mayContain(a, b)
    }
}

/// 128 bits that stand for an event id: a lower-case UUID's own bytes, or the first 128 bits
/// of SHA-256 of any other id's text. Equal ids give equal keys; two different ids give the
/// same key only with the odds of a SHA-256 collision.
struct IdKey: Hashable {
    let high: UInt64
    let low: UInt64

    init(_ id: String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        var nibble: UInt8?
        var isUUID = id.utf8.count == 36
        if isUUID {
            for (index, byte) in id.utf8.enumerated() {
                if index == 8 || index == 13 || index == 18 || index == 23 {
                    if byte != UInt8(ascii: "-") { isUUID = false; break }
                    continue
                }
                var value: UInt8 = 0
                switch byte {
                case 48...57: value = byte - 48
                case 97...102: value = byte - 87
                default: isUUID = false
                }
                guard isUUID else { break }
                if let first = nibble { bytes.append(first << 4 | value); nibble = nil } else { nibble = value }
            }
        }
        if !isUUID { bytes = Array(HashChain.sha256(Array(id.utf8)).prefix(16)) }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for k in 0..<8 { high = high << 8 | UInt64(bytes[k]) }
        for k in 8..<16 { low = low << 8 | UInt64(bytes[k]) }
        self.high = high
        self.low = low
    }
}
