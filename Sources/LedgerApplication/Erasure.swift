import Foundation
import LedgerCore
import LedgerDomain
import LedgerStorage

/// What `forget` did.
public struct ErasureOutcome: Sendable, Encodable {
    public var clientId: String
    /// The position of the `ClientDataErased` written now; nil when the client had been
    /// erased already (nothing written).
    @NullEncoded public var position: Int64?
    public var eventId: String
    public var keyDestroyed: Bool
    /// Whether the database's WAL was written out and truncated, leaving no copy of the key
    /// in either file (false: another connection was reading; run `forget` again to finish).
    public var purged: Bool
    public var alreadyErased: Bool
    /// When the retention period ends (nil for a client not offboarded).
    @NullEncoded public var retentionEnds: String?
    @NullEncoded public var retentionOverride: String?
}

extension Ledger {
    /// Erases a client's personal data (docs/storage.md, "Personal data"): destroys the
    /// client's key — its personal fields read as erased from then on — and appends
    /// `ClientDataErased` in the same transaction; every other fact stays and the chain
    /// still verifies. Refused before the retention period of the rules in force has passed
    /// (by default 20 years after offboarding) unless `overrideRetention` says why, which is
    /// recorded in the event. Running it again for an erased client writes nothing (it
    /// finishes the purge of the files if that was left undone).
    public func forget(_ clientId: String, reason: String, requestedBy: String, overrideRetention: String?) throws -> ErasureOutcome {
        for (option, text) in [("reason", reason), ("requestedBy", requestedBy)] where text.allSatisfy(\.isWhitespace) {
            throw InputError(line: nil, field: option, problem: "must not be empty")
        }
        let now = clock.now()
        let stream = ClientState.stream(for: clientId)
        let eventId = EventID.derived(from: "clientledger/forget\n\(stream)")
        var outcome = try store.write { session -> ErasureOutcome in
            let state = try streams.fold(clientId)
            guard state.isRegistered else {
                throw InputError(line: nil, field: "client", problem: "no client \(clientId) is registered")
            }
            if state.erasedAt != nil {
                return ErasureOutcome(
                    clientId: clientId, position: nil, eventId: eventId, keyDestroyed: false, purged: false, alreadyErased: true,
                    retentionEnds: nil, retentionOverride: nil)
            }
            // Personal data written before the ledger encrypted it is part of the chained log
            // in clear text: destroying a key would not erase it, so nothing is done.
            var plainAt: Int64?
            try store.scan(EventQuery(stream: stream)) { event in
                let payload = try StoredEvents.payload(of: event)
                if payload.personalFields.contains(where: { PersonalField.isPlain($0.value) }) {
                    plainAt = event.position
                    return false
                }
                return true
            }
            if let plainAt {
                throw InputError(
                    line: nil, field: "client",
                    problem: "client \(clientId)'s personal data at position \(plainAt) was stored before the ledger encrypted personal data: it is part of the chained log in clear text and cannot be erased without breaking the chain (docs/storage.md); nothing was written")
            }
            let ends = state.offboardedAt.map { rules.personalDataRetentionEnds(offboardedAt: $0) }
            let retained = ends.map { now < $0 } ?? true
            var override: String?
            if retained {
                guard let overrideRetention else {
                    let when = ends.map { "until \($0.iso8601) (\(rules.personalDataRetentionYears) years after the offboarding at \(state.offboardedAt?.iso8601 ?? ""))" }
                        ?? "until \(rules.personalDataRetentionYears) years after offboarding, and the client is not offboarded"
                    throw InputError(
                        line: nil, field: "overrideRetention",
                        problem: "client \(clientId)'s data must be kept \(when); give --override-retention TEXT (recorded in the event) to erase it earlier; nothing was written")
                }
                override = overrideRetention
            }
            let payload = EventPayload.clientDataErased(reason: reason, requestedBy: requestedBy, retentionOverride: override)
            // The same checks as any stored payload: lengths, no control characters.
            guard case .object(let object) = try JSONParser.parse(payload.dataJSON) else { throw InputError(line: nil, field: "data", problem: "not an object") }
            do throws(FieldError) {
                _ = try EventPayload.decode(type: .clientDataErased, schemaVersion: 1, data: object)
            } catch {
                let option = ["data.reason": "reason", "data.requestedBy": "requestedBy", "data.retentionOverride": "overrideRetention"][error.field] ?? error.field
                throw InputError(line: nil, field: option, problem: error.problem)
            }
            let destroyed = try session.destroyPersonalDataKey(stream: stream)
            let appended = try session.append(NewEvent(
                eventId: eventId, stream: stream, type: EventType.clientDataErased.rawValue, schemaVersion: 1,
                occurredAt: now, data: payload.dataJSON, metadata: EventMetadata(actor: requestedBy, channel: "cli").json))
            return ErasureOutcome(
                clientId: clientId, position: appended.position, eventId: eventId, keyDestroyed: destroyed, purged: false,
                alreadyErased: false, retentionEnds: ends?.iso8601, retentionOverride: override)
        }
        // Outside the transaction: the WAL is written into the database and truncated.
        for attempt in 0..<20 {
            if try store.purgeDestroyedKeys() {
                outcome.purged = true
                break
            }
            if attempt < 19 { Thread.sleep(forTimeInterval: 0.05) }
        }
        return outcome
    }
}
