import LedgerCore

/// A signed checkpoint of the log: its Merkle tree size and root at a moment, signed with
/// the ledger's Ed25519 key. Written to a file (or into an export bundle), never into the log
/// itself: its worth is that someone other than the firm keeps it, and an event recording it
/// would change the very log it describes.
///
/// The signed message is the UTF-8 text (each line ended by LF, nothing else):
///
///     clientledger-checkpoint/1
///     <treeSize in decimal>
///     <root, 64 lower-case hex digits>
///     <time, YYYY-MM-DDTHH:MM:SS.sssZ>
public struct Checkpoint: Sendable, Equatable {
    public var treeSize: Int
    public var root: [UInt8]
    public var time: Timestamp
    public var publicKey: [UInt8]
    public var signature: [UInt8]

    public static let messageTag = "clientledger-checkpoint/1"

    public static func message(treeSize: Int, root: [UInt8], time: Timestamp) -> [UInt8] {
        Array("\(messageTag)\n\(treeSize)\n\(root.hexString)\n\(time.iso8601)\n".utf8)
    }

    /// Signs the tree's root at `time`.
    public static func sign(treeSize: Int, root: [UInt8], time: Timestamp, key: SigningKey) throws -> Checkpoint {
        let signature = try key.sign(message(treeSize: treeSize, root: root, time: time))
        return Checkpoint(treeSize: treeSize, root: root, time: time, publicKey: key.publicKey, signature: signature)
    }

    /// Whether the signature is valid under `key`.
    public func isSigned(by key: [UInt8]) -> Bool {
        LedgerSignature.verify(signature, of: Self.message(treeSize: treeSize, root: root, time: time), publicKey: key)
    }

    /// The checkpoint as one JSON line (the checkpoint file, line 2 of an export bundle).
    public var jsonLine: String {
        var w = JSONWriter(capacity: 320)
        w.beginObject()
        w.key("kind"); w.string("checkpoint")
        w.key("treeSize"); w.int(Int64(treeSize))
        w.key("root"); w.string(root.hexString)
        w.key("time"); w.string(time.iso8601)
        w.key("publicKey"); w.string(publicKey.hexString)
        w.key("signature"); w.string(signature.hexString)
        w.endObject()
        return w.text
    }

    /// Reads a checkpoint line; the problem in words when it is not one.
    public static func parse(_ object: JSONObject) throws(LineProblem) -> Checkpoint {
        let r = StrictObject(object)
        try r.only(["kind", "treeSize", "root", "time", "publicKey", "signature"])
        try r.kind("checkpoint")
        return Checkpoint(
            treeSize: try r.count("treeSize"), root: try r.hex("root", bytes: 32), time: try r.moment("time"),
            publicKey: try r.hex("publicKey", bytes: 32), signature: try r.hex("signature", bytes: 64))
    }

    /// Reads a checkpoint file: one JSON line as `audit checkpoint` writes it.
    public static func read(file path: String) throws -> Checkpoint {
        let bytes: [UInt8]
        do {
            bytes = try InputFile.read(path)
        } catch {
            throw ComplianceError(.missing, "--checkpoint: \(error.description)")
        }
        let text = String(decoding: bytes, as: UTF8.self).trimmingWhitespace
        guard case .object(let object)? = try? JSONParser.parse(text) else {
            throw ComplianceError(.badInput, "--checkpoint: \(path) is not a checkpoint (one JSON object, as `audit checkpoint` writes it)")
        }
        do {
            return try parse(object)
        } catch {
            throw ComplianceError(.badInput, "--checkpoint: \(path): \(error.message)")
        }
    }
}

/// A signed statement of how many events one stream holds in the tree of a checkpoint: what
/// makes a dropped or cut-off event of an export detectable, since the events of one client
/// are interleaved with other clients' in the log.
///
/// The signed message is the UTF-8 text (each line ended by LF):
///
///     clientledger-stream-length/1
///     <stream>
///     <events in decimal>
///     <position of the stream's last event in decimal, 0 when none>
///     <treeSize in decimal>
///     <root, 64 lower-case hex digits>
///     <checkpoint time, YYYY-MM-DDTHH:MM:SS.sssZ>
///
/// It names the checkpoint it was made with (size, root and time), so that neither can be
/// exchanged for another.
public struct StreamStatement: Sendable, Equatable {
    public var stream: String
    public var events: Int
    public var lastPosition: Int64
    public var treeSize: Int
    public var root: [UInt8]
    public var checkpointTime: Timestamp
    public var signature: [UInt8]

    public static let messageTag = "clientledger-stream-length/1"

    public static func message(
        stream: String, events: Int, lastPosition: Int64, treeSize: Int, root: [UInt8], checkpointTime: Timestamp
    ) -> [UInt8] {
        Array("\(messageTag)\n\(stream)\n\(events)\n\(lastPosition)\n\(treeSize)\n\(root.hexString)\n\(checkpointTime.iso8601)\n".utf8)
    }

    /// The statement of a stream's length in the tree of `checkpoint`.
    public static func sign(stream: String, events: Int, lastPosition: Int64, checkpoint: Checkpoint, key: SigningKey) throws -> StreamStatement {
        let signature = try key.sign(
            message(
                stream: stream, events: events, lastPosition: lastPosition, treeSize: checkpoint.treeSize, root: checkpoint.root,
                checkpointTime: checkpoint.time))
        return StreamStatement(
            stream: stream, events: events, lastPosition: lastPosition, treeSize: checkpoint.treeSize, root: checkpoint.root,
            checkpointTime: checkpoint.time, signature: signature)
    }

    public func isSigned(by key: [UInt8]) -> Bool {
        LedgerSignature.verify(
            signature,
            of: Self.message(
                stream: stream, events: events, lastPosition: lastPosition, treeSize: treeSize, root: root,
                checkpointTime: checkpointTime),
            publicKey: key)
    }

    /// Whether it was made with exactly this checkpoint.
    public func belongs(to checkpoint: Checkpoint) -> Bool {
        treeSize == checkpoint.treeSize && root == checkpoint.root && checkpointTime == checkpoint.time
    }

    public var jsonLine: String {
        var w = JSONWriter(capacity: 320)
        w.beginObject()
        w.key("kind"); w.string("streamLength")
        w.key("stream"); w.string(stream)
        w.key("events"); w.int(Int64(events))
        w.key("lastPosition"); w.int(lastPosition)
        w.key("treeSize"); w.int(Int64(treeSize))
        w.key("root"); w.string(root.hexString)
        w.key("checkpointTime"); w.string(checkpointTime.iso8601)
        w.key("signature"); w.string(signature.hexString)
        w.endObject()
        return w.text
    }

    public static func parse(_ object: JSONObject) throws(LineProblem) -> StreamStatement {
        let r = StrictObject(object)
        try r.only(["kind", "stream", "events", "lastPosition", "treeSize", "root", "checkpointTime", "signature"])
        try r.kind("streamLength")
        return StreamStatement(
            stream: try r.string("stream"), events: try r.count("events"), lastPosition: Int64(try r.count("lastPosition")),
            treeSize: try r.count("treeSize"), root: try r.hex("root", bytes: 32), checkpointTime: try r.moment("checkpointTime"),
            signature: try r.hex("signature", bytes: 64))
    }
}

/// What is wrong with one line of a bundle or a checkpoint file.
public struct LineProblem: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// Reads the members of a JSON object strictly: every member known, every type exact.
struct StrictObject {
    let object: JSONObject
    init(_ object: JSONObject) { self.object = object }

    func only(_ names: Set<String>) throws(LineProblem) {
        for key in object.keys where !names.contains(key) {
            throw LineProblem("unknown field \(key.escapingControlCharacters)")
        }
    }

    func kind(_ expected: String) throws(LineProblem) {
        let found = try string("kind")
        guard found == expected else {
            throw LineProblem("expected a \(expected) line, found kind \(found.escapingControlCharacters)")
        }
    }

    func string(_ name: String) throws(LineProblem) -> String {
        guard let value = object[name] else { throw LineProblem("field \(name) is missing") }
        guard case .string(let text) = value else { throw LineProblem("field \(name) must be a string, found \(value.kindName)") }
        return text
    }

    /// A whole number ≥ 0 written without fraction or exponent.
    func count(_ name: String) throws(LineProblem) -> Int {
        guard let value = object[name] else { throw LineProblem("field \(name) is missing") }
        guard case .number(let text) = value, let number = Int(text), number >= 0,
            text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 })
        else { throw LineProblem("field \(name) must be a whole number ≥ 0") }
        return number
    }

    func hex(_ name: String, bytes: Int) throws(LineProblem) -> [UInt8] {
        let text = try string(name)
        guard text.utf8.count == bytes * 2, text.utf8.allSatisfy(Self.isLowerHex), let value = [UInt8](hex: text) else {
            throw LineProblem("field \(name) must be \(bytes * 2) lower-case hexadecimal digits")
        }
        return value
    }

    func hexList(_ name: String) throws(LineProblem) -> [[UInt8]] {
        guard let value = object[name] else { throw LineProblem("field \(name) is missing") }
        guard case .array(let items) = value else { throw LineProblem("field \(name) must be an array, found \(value.kindName)") }
        var result: [[UInt8]] = []
        for item in items {
            guard case .string(let text) = item, text.utf8.count == 64, text.utf8.allSatisfy(Self.isLowerHex),
                let hash = [UInt8](hex: text)
            else { throw LineProblem("field \(name) must hold hashes of 64 lower-case hexadecimal digits") }
            result.append(hash)
        }
        return result
    }

    func moment(_ name: String) throws(LineProblem) -> Timestamp {
        let text = try string(name)
        guard text.utf8.count == 24, let moment = Timestamp(iso8601: text), moment.iso8601 == text else {
            throw LineProblem("field \(name) must be a moment in the form 2026-03-02T09:31:00.000Z")
        }
        return moment
    }

    static func isLowerHex(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 97 && c <= 102) }
}
