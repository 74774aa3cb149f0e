import LedgerCore

/// What checking an export bundle found.
public struct BundleReport: Sendable, Encodable {
    public var intact: Bool
    /// The first line (1-based) that is not what the signed lines promise; nil when intact.
    @NullEncoded public var firstBadLine: Int?
    @NullEncoded public var problem: String?
    @NullEncoded public var client: String?
    /// Events checked (each hash recomputed and its inclusion proof verified).
    public var eventsChecked: Int
    @NullEncoded public var treeSize: Int?
    @NullEncoded public var root: String?
    @NullEncoded public var checkpointTime: String?
    /// The key the signatures were checked with, as a short fingerprint.
    @NullEncoded public var keyFingerprint: String?
    /// Whether that key was given by the user (`--public-key`) rather than read from the bundle.
    public var keyPinned: Bool
}

/// Checks an export bundle without the database (schemas/export-bundle.md): the signatures of
/// the checkpoint and the stream statement, then each event in order — its hash recomputed
/// from its stored fields and the hash before it, its inclusion proof leading to the signed
/// root, its version the next of the stream — and that the bundle holds exactly the number of
/// events the statement signs. It stops at the first bad line and names it.
public enum BundleVerifier {
    public static func verify(_ bytes: [UInt8], publicKey pinned: [UInt8]?) -> BundleReport {
        var report = BundleReport(
            intact: false, firstBadLine: nil, problem: nil, client: nil, eventsChecked: 0, treeSize: nil, root: nil,
            checkpointTime: nil, keyFingerprint: pinned.map(LedgerSignature.fingerprint), keyPinned: pinned != nil)
        do {
            try check(bytes, pinned: pinned, into: &report)
            report.intact = true
        } catch {
            report.firstBadLine = error.line
            report.problem = error.message
        }
        return report
    }

    struct Bad: Error {
        var line: Int
        var message: String
    }

    private static func check(_ bytes: [UInt8], pinned: [UInt8]?, into report: inout BundleReport) throws(Bad) {
        // Line boundaries: every line ends with LF; what follows the last LF must be empty.
        var ranges: [Range<Int>] = []
        var start = 0
        for (index, byte) in bytes.enumerated() where byte == 0x0A {
            ranges.append(start..<index)
            start = index + 1
        }
        if start < bytes.count { ranges.append(start..<bytes.count) }

        func object(_ number: Int, _ what: String) throws(Bad) -> JSONObject {
            guard number <= ranges.count else {
                throw Bad(line: number, message: "the bundle ends before its \(what) line")
            }
            let range = ranges[number - 1]
            let parsed: JSONValue
            do {
                parsed = try bytes.withUnsafeBufferPointer { buffer throws(JSONSyntaxError) in
                    try JSONParser.parse(UnsafeBufferPointer(rebasing: buffer[range]))
                }
            } catch {
                throw Bad(line: number, message: "not a JSON line: \(error.description)")
            }
            guard case .object(let object) = parsed else {
                throw Bad(line: number, message: "not a JSON object")
            }
            return object
        }
        func at<T>(_ number: Int, _ body: () throws(LineProblem) -> T) throws(Bad) -> T {
            do {
                return try body()
            } catch {
                throw Bad(line: number, message: error.message)
            }
        }

        // Line 1: the header. Every field of it is checked against a signed line below.
        let headerObject = try object(1, "header")
        let header = StrictObject(headerObject)
        let (client, stream, declaredEvents, exportedAt, bundleKey) = try at(1) { () throws(LineProblem) in
            try header.only(["kind", "format", "client", "stream", "events", "exportedAt", "publicKey"])
            try header.kind("header")
            let format = try header.string("format")
            guard format == ExportBundle.format else {
                throw LineProblem("format \(format.escapingControlCharacters) is not \(ExportBundle.format)")
            }
            return (
                try header.string("client"), try header.string("stream"), try header.count("events"),
                try header.moment("exportedAt"), try header.hex("publicKey", bytes: 32)
            )
        }
        report.client = client
        guard stream == "client/" + client else {
            throw Bad(line: 1, message: "stream \(stream.escapingControlCharacters) is not the stream of client \(client.escapingControlCharacters)")
        }
        if let pinned, pinned != bundleKey {
            throw Bad(
                line: 1,
                message: "the bundle is signed by key \(LedgerSignature.fingerprint(bundleKey)), not by the given public key \(LedgerSignature.fingerprint(pinned))")
        }
        let key = pinned ?? bundleKey
        report.keyFingerprint = LedgerSignature.fingerprint(key)

        // Line 2: the checkpoint, signed.
        let checkpointObject = try object(2, "checkpoint")
        let checkpoint = try at(2) { () throws(LineProblem) in try Checkpoint.parse(checkpointObject) }
        guard checkpoint.publicKey == key else {
            // The header or the checkpoint is wrong: the stream statement (signed by one of the
            // two keys) decides, unless the key was given.
            let statementUnderHeaderKey = (try? object(3, "streamLength")).flatMap { try? StreamStatement.parse($0) }
                .map { $0.isSigned(by: key) } ?? false
            let line = pinned != nil || statementUnderHeaderKey ? 2 : 1
            throw Bad(
                line: line,
                message: "the header names key \(LedgerSignature.fingerprint(key)), the checkpoint key \(LedgerSignature.fingerprint(checkpoint.publicKey))")
        }
        guard checkpoint.isSigned(by: key) else {
            throw Bad(line: 2, message: "the checkpoint's signature does not verify: it was altered or not signed by this ledger's key")
        }

        // Line 3: the stream statement, signed, made with exactly that checkpoint.
        let statementObject = try object(3, "streamLength")
        let statement = try at(3) { () throws(LineProblem) in try StreamStatement.parse(statementObject) }
        guard statement.isSigned(by: key) else {
            throw Bad(line: 3, message: "the stream statement's signature does not verify: it was altered or not signed by this ledger's key")
        }
        guard statement.belongs(to: checkpoint) else {
            throw Bad(
                line: 2,
                message: "the checkpoint (tree size \(checkpoint.treeSize), \(checkpoint.time.iso8601)) is not the one the stream statement on line 3 was signed with (tree size \(statement.treeSize), \(statement.checkpointTime.iso8601))")
        }
        // The header's claims, each against a signed line.
        guard checkpoint.time == exportedAt else {
            throw Bad(line: 1, message: "exportedAt \(exportedAt.iso8601) is not the signed checkpoint time \(checkpoint.time.iso8601) of line 2")
        }
        guard statement.stream == stream else {
            throw Bad(line: 1, message: "the header is for \(stream.escapingControlCharacters), the signed statement on line 3 for \(statement.stream.escapingControlCharacters)")
        }
        guard declaredEvents == statement.events else {
            throw Bad(line: 1, message: "the header says \(declaredEvents) events, the signed statement on line 3 says \(statement.events)")
        }
        report.treeSize = checkpoint.treeSize
        report.root = checkpoint.root.hexString
        report.checkpointTime = checkpoint.time.iso8601

        // Lines 4 …: exactly `statement.events` events, versions 1, 2, 3 …
        var lastPosition: Int64 = 0
        for index in 0..<statement.events {
            let number = 4 + index
            guard number <= ranges.count else {
                throw Bad(
                    line: number,
                    message: "the bundle ends after \(index) events; the signed statement on line 3 says the stream holds \(statement.events)")
            }
            let eventObject = try object(number, "event")
            let event = try at(number) { () throws(LineProblem) in try EventLine.parse(eventObject) }
            guard event.fields.stream == stream else {
                throw Bad(line: number, message: "the event belongs to \(event.fields.stream.escapingControlCharacters), not to \(stream.escapingControlCharacters)")
            }
            guard event.fields.version == Int64(index + 1) else {
                throw Bad(
                    line: number,
                    message: "expected version \(index + 1) of the stream here, found version \(event.fields.version): an event is missing, out of order or inserted")
            }
            guard event.fields.position > lastPosition else {
                throw Bad(line: number, message: "position \(event.fields.position) does not follow position \(lastPosition): the events are out of order")
            }
            guard event.fields.position <= Int64(checkpoint.treeSize) else {
                throw Bad(line: number, message: "position \(event.fields.position) lies beyond the checkpoint's tree size \(checkpoint.treeSize)")
            }
            let computed = HashChain.hash(previous: event.previousHash, event.fields)
            guard computed == event.hash else {
                throw Bad(line: number, message: "the event's hash does not recompute from its fields and previousHash: the event was altered")
            }
            guard MerkleTree.verifyInclusion(
                leafHash: MerkleTree.leafHash(computed), index: Int(event.fields.position - 1), treeSize: checkpoint.treeSize,
                proof: event.inclusion, root: checkpoint.root)
            else {
                throw Bad(line: number, message: "the event is not in the signed checkpoint's tree (its inclusion proof does not lead to the root): it was altered or forged")
            }
            if index == statement.events - 1, event.fields.position != statement.lastPosition {
                throw Bad(line: number, message: "the last event is at position \(event.fields.position), the signed statement on line 3 says \(statement.lastPosition)")
            }
            lastPosition = event.fields.position
            report.eventsChecked += 1
        }
        if ranges.count > 3 + statement.events {
            throw Bad(line: 4 + statement.events, message: "more lines than the \(statement.events) events the signed statement on line 3 covers")
        }
    }
}

/// One event line of a bundle.
struct EventLine {
    var fields: HashChain.Fields
    var previousHash: [UInt8]
    var hash: [UInt8]
    var inclusion: [[UInt8]]

    static func parse(_ object: JSONObject) throws(LineProblem) -> EventLine {
        let r = StrictObject(object)
        try r.only([
            "kind", "position", "stream", "version", "eventId", "type", "schemaVersion", "occurredAt", "recordedAt",
            "data", "metadata", "previousHash", "hash", "inclusion",
        ])
        try r.kind("event")
        let position = try r.count("position")
        guard position >= 1 else { throw LineProblem("field position must be 1 or more") }
        let fields = HashChain.Fields(
            position: Int64(position), stream: try r.string("stream"), version: Int64(try r.count("version")),
            eventId: try r.string("eventId"), type: try r.string("type"), schemaVersion: Int64(try r.count("schemaVersion")),
            occurredAt: try r.string("occurredAt"), recordedAt: try r.string("recordedAt"), data: try r.string("data"),
            metadata: try r.string("metadata"))
        return EventLine(
            fields: fields, previousHash: try r.hex("previousHash", bytes: 32), hash: try r.hex("hash", bytes: 32),
            inclusion: try r.hexList("inclusion"))
    }
}
