import LedgerCore
import LedgerDomain
import LedgerStorage

/// Sealing and opening the personal fields of events (docs/storage.md, "Personal data").
///
/// The ledger seals a fact's personal fields with its client's key when it appends it, so
/// the stored `data` — and therefore the hash — holds ciphertext only. Readers that show
/// people their data (`history`, `client show`, `events`, exports) open them with
/// `PersonalDataReader`; once the key is destroyed they read as erased.
enum PersonalData {
    /// The payload with every plain personal field sealed with `key`.
    static func seal(_ payload: EventPayload, stream: String, eventId: String, key: [UInt8]) throws -> EventPayload {
        try payload.mappingPersonal { field, value in
            guard PersonalField.isPlain(value) else { return value }
            let context = PersonalCipher.context(stream: stream, eventId: eventId, field: field)
            return PersonalField.sealed(try PersonalCipher.seal(value, key: key, context: context))
        }
    }

    /// The payload with every sealed field opened with `key`, or erased when there is no key
    /// (or the value does not open with it).
    static func open(_ payload: EventPayload, stream: String, eventId: String, key: [UInt8]?) -> EventPayload {
        payload.mappingPersonal { field, value in
            guard let hex = PersonalField.sealedHex(value) else { return value }
            let context = PersonalCipher.context(stream: stream, eventId: eventId, field: field)
            return key.flatMap { PersonalCipher.open(hex, key: $0, context: context) } ?? PersonalField.erased
        }
    }

    /// Whether a fact retried under a stored event's id is that event: the same payload once
    /// the stored personal fields are opened. When they can no longer be opened (erased),
    /// the fact is the same if everything else is.
    static func sameFact(storedData: String, incoming: EventPayload, stream: String, eventId: String, key: [UInt8]?) -> Bool {
        guard !incoming.personalFields.isEmpty, case .object(let object)? = try? JSONParser.parse(storedData),
            let stored = try? EventPayload.decode(type: incoming.type, schemaVersion: incoming.type.currentSchemaVersion, data: object)
        else { return false }
        let opened = open(stored, stream: stream, eventId: eventId, key: key)
        if opened.personalFields.contains(where: { PersonalField.isErased($0.value) }) {
            return opened.mappingPersonal { _, _ in "" } == incoming.mappingPersonal { _, _ in "" }
        }
        return opened == incoming
    }
}

/// Opens the personal fields of stored events for a reader, caching each stream's key.
public final class PersonalDataReader {
    let store: any EventStore
    private var keys: [String: [UInt8]?] = [:]

    public init(store: any EventStore) {
        self.store = store
    }

    func key(_ stream: String) throws -> [UInt8]? {
        if let cached = keys[stream] { return cached }
        let key = try store.personalDataKey(stream: stream)
        keys[stream] = key
        return key
    }

    /// The payload as a person reads it: personal fields in plain text, or erased.
    public func reveal(_ payload: EventPayload, of event: RecordedEvent) throws -> EventPayload {
        guard payload.personalFields.contains(where: { PersonalField.isSealed($0.value) }) else { return payload }
        return PersonalData.open(payload, stream: event.stream, eventId: event.eventId, key: try key(event.stream))
    }
}

@available(*, unavailable)
extension PersonalDataReader: Sendable {}
