import LedgerCore
import LedgerDomain
import LedgerStorage

/// The rules a ledger decides with, kept in its log (`RulesAdopted` in `ledger/rules`).
///
/// The rules in force are the last adoption's; before the first, the default rules. A
/// ledger written before rules were kept in the log (or a new one) adopts the default rules
/// in its first write transaction through `Ledger.open` — before any decision of that
/// transaction, and rolled back with it when the input is refused — so that every decision
/// names a rules document in the log.
public enum RulesInLog {
    /// One recorded adoption.
    public struct Adopted: Sendable {
        public var position: Int64
        public var eventId: String
        public var occurredAt: String
        public var recordedAt: String
        public var actor: String?
        public var adoption: RulesAdoption
    }

    /// Every adoption in log order.
    public static func adoptions(in store: any EventStore) throws -> [Adopted] {
        var found: [Adopted] = []
        try store.scan(EventQuery(stream: RulesAdoption.stream)) { event in
            guard event.type == RulesAdoption.type else { return true }
            let adoption: RulesAdoption
            do throws(FieldError) {
                adoption = try RulesAdoption.decode(data: event.data)
            } catch {
                throw StorageError.corrupt("position \(event.position), field \(error.field): \(error.problem)")
            }
            found.append(Adopted(
                position: event.position, eventId: event.eventId, occurredAt: event.occurredAt, recordedAt: event.recordedAt,
                actor: EventMetadata(json: event.metadata).actor, adoption: adoption))
            return true
        }
        return found
    }

    /// The rules in force and the adoption that put them in force (nil: none yet, the
    /// default rules apply).
    public static func inForce(in store: any EventStore) throws -> (rules: Rules, adopted: Adopted?) {
        if let last = try adoptions(in: store).last { return (last.adoption.rules, last) }
        return (try Rules.defaults(), nil)
    }

    /// How many decisions of the log name each rules version.
    public static func decisionsByVersion(in store: any EventStore) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        try store.scan(.all) { event in
            if let version = EventMetadata(json: event.metadata).rulesVersion { counts[version, default: 0] += 1 }
            return true
        }
        return counts
    }

    /// The rules versions named by decisions that no `RulesAdopted` of the log carries
    /// (empty when every decision's rules can be read from the log).
    public static func unresolvedVersions(in store: any EventStore) throws -> [String: Int] {
        let adopted = Set(try adoptions(in: store).map(\.adoption.version))
        return try decisionsByVersion(in: store).filter { !adopted.contains($0.key) }
    }

    static let defaultReason = "the default rules: the rules of this ledger before rules were kept in its log"

    /// The default rules' adoption, appended when the log has none yet.
    static func adoptDefaultsIfNone(_ session: any AppendTransaction, rules: Rules, now: Timestamp) throws {
        guard try session.version(of: RulesAdoption.stream) == 0 else { return }
        let adoption = RulesAdoption(rules: rules, reason: defaultReason)
        let id = RulesAdoption.eventId(version: adoption.version, moment: nil)
        if try session.storedEvent(id: id) != nil { return }
        try session.append(NewEvent(
            eventId: id, stream: RulesAdoption.stream, type: RulesAdoption.type, schemaVersion: RulesAdoption.schemaVersion,
            occurredAt: now, data: adoption.dataJSON, metadata: EventMetadata(actor: Ledger.decisionActor).json))
    }

    /// What `adopt` did.
    public struct AdoptOutcome: Sendable {
        /// The position of the new adoption; nil when these rules were in force already.
        public var position: Int64?
        public var version: String
        public var previousVersion: String
    }

    /// Appends `RulesAdopted` for `rules` (after the defaults' adoption, for a log that has
    /// none). Rules already in force are not adopted again: nothing is written.
    public static func adopt(
        _ rules: Rules, reason: String, actor: String?, store: any EventStore, clock: any LedgerClock
    ) throws -> AdoptOutcome {
        let trimmed = String(reason.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
        guard !trimmed.isEmpty, trimmed.count <= 500 else {
            throw InputError(line: nil, field: "reason", problem: "give the reason for the change (1 to 500 characters)")
        }
        let now = clock.now()
        return try store.write { session in
            let current = try inForce(in: store)
            let previous = current.rules.version
            if previous == rules.version, current.adopted != nil {
                return AdoptOutcome(position: nil, version: rules.version, previousVersion: previous)
            }
            // Decisions taken so far used the defaults: they are adopted first, so that those
            // decisions keep naming a document of the log.
            if previous != rules.version { try adoptDefaultsIfNone(session, rules: current.rules, now: now) }
            let adoption = RulesAdoption(rules: rules, reason: trimmed)
            let outcome = try session.append(NewEvent(
                eventId: RulesAdoption.eventId(version: adoption.version, moment: now), stream: RulesAdoption.stream,
                type: RulesAdoption.type, schemaVersion: RulesAdoption.schemaVersion, occurredAt: now,
                data: adoption.dataJSON, metadata: EventMetadata(actor: actor ?? "cli").json))
            return AdoptOutcome(position: outcome.position, version: rules.version, previousVersion: previous)
        }
    }
}

extension Ledger {
    /// The ledger of a log, deciding with the rules in force in it (`RulesInLog`). Its first
    /// write adopts the default rules when the log has no adoption yet.
    public static func open(store: any EventStore, clock: any LedgerClock = SystemClock()) throws -> Ledger {
        let (rules, adopted) = try RulesInLog.inForce(in: store)
        let ledger = Ledger(store: store, rules: rules, clock: clock)
        ledger.recordsRulesInLog = adopted == nil
        return ledger
    }

    /// Called first in every write transaction of the ledger.
    func recordRulesIfNeeded(_ session: any AppendTransaction) throws {
        guard recordsRulesInLog else { return }
        try RulesInLog.adoptDefaultsIfNone(session, rules: rules, now: clock.now())
    }
}
