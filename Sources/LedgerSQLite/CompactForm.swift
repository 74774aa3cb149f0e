import LedgerCore
import LedgerStorage

/// The lean stored form of an event (`log` table) and its text form (the `events` view).
///
/// Measured on the benchmark's ledger (docs/storage.md): text stream names, 36-character
/// ids, 24-character times and decisions' repeated metadata made up most of the bytes and
/// of the index work. Here streams and types are small integers (`streams`,
/// `event_types`), ids are 16 bytes, times are milliseconds, and a decision's metadata
/// `{"actor":"clientledger","correlationId":…,"causationId":…,"rulesVersion":…}` is kept as
/// the position of its cause and a rules-version number. Every text form is derived exactly,
/// so the hash chain (over the text forms) does not depend on how rows are stored.
enum CompactForm {
    // MARK: - Ids

    /// The 16 bytes of a lower-case UUID text; nil for any other id, which is kept as text
    /// (a BLOB and a TEXT value are never equal, so the two forms cannot collide).
    static func uuidBytes(_ id: String) -> [UInt8]? {
        let utf8 = id.utf8
        guard utf8.count == 36 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(16)
        var high: UInt8?
        for (index, byte) in utf8.enumerated() {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            let value: UInt8
            switch byte {
            case 48...57: value = byte - 48
            case 97...102: value = byte - 87
            default: return nil  // upper case or not hex: kept as text, exactly
            }
            if let first = high {
                bytes.append(first << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return bytes
    }

    /// Binds an id in its stored form.
    static func bindId(_ id: String, to statement: Statement, at index: Int32) {
        if let bytes = uuidBytes(id) { statement.bind(bytes, at: index) } else { statement.bind(id, at: index) }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// The text form of a stored id column.
    static func idText(_ statement: Statement, at column: Int32) -> String {
        guard statement.isBlob(at: column) else { return statement.string(at: column) }
        var out = [UInt8]()
        out.reserveCapacity(36)
        appendIdText(statement, at: column, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the text form of a stored id column.
    static func appendIdText(_ statement: Statement, at column: Int32, to out: inout [UInt8]) {
        let isBlob = statement.isBlob(at: column)
        statement.withBytes(at: column) { appendIdText($0, isBlob: isBlob, to: &out) }
    }

    /// Appends the text form of a stored id's bytes (16 bytes of a blob, or the text kept).
    static func appendIdText(_ bytes: UnsafeRawBufferPointer, isBlob: Bool, to out: inout [UInt8]) {
        guard isBlob else {
            out.append(contentsOf: bytes)
            return
        }
        if bytes.count == 16 {
            appendUUIDText(bytes, to: &out)
            return
        }
        // Written into a buffer on the stack and appended once: an audit formats two or three
        // ids an event, and one append per character was a good part of its time.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2 * bytes.count + 4) { text in
            @inline(__always) func digit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 48 + nibble : 87 + nibble }
            var at = 0
            for (offset, byte) in bytes.enumerated() {
                if offset == 4 || offset == 6 || offset == 8 || offset == 10 {
                    text[at] = UInt8(ascii: "-")
                    at += 1
                }
                text[at] = digit(byte >> 4)
                text[at + 1] = digit(byte & 0x0F)
                at += 2
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: text[0..<at]))
        }
    }

    /// The two hexadecimal digits of each byte, as one 16-bit store (low byte first).
    private static let hexPairs: [UInt16] = (0..<256).map { byte in
        func digit(_ nibble: Int) -> UInt16 { UInt16(nibble < 10 ? 48 + nibble : 87 + nibble) }
        return digit(byte >> 4) | digit(byte & 0x0F) << 8
    }

    /// The text of a 16-byte id, 8-4-4-4-12 lower-case digits: two digits a store, dashes in
    /// place (an audit formats two or three ids an event).
    private static func appendUUIDText(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 36) { text in
            guard let base = text.baseAddress else { return }
            let raw = UnsafeMutableRawPointer(base)
            hexPairs.withUnsafeBufferPointer { pairs in
                var at = 0
                for offset in 0..<16 {
                    if offset == 4 || offset == 6 || offset == 8 || offset == 10 {
                        raw.storeBytes(of: UInt8(ascii: "-"), toByteOffset: at, as: UInt8.self)
                        at += 1
                    }
                    raw.storeBytes(of: pairs[Int(bytes[offset])].littleEndian, toByteOffset: at, as: UInt16.self)
                    at += 2
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(start: base, count: 36))
        }
    }

    /// SQL that gives the text form of an id column.
    static func idTextSQL(_ column: String) -> String {
        """
        CASE WHEN typeof(\(column)) = 'blob' THEN lower(substr(hex(\(column)), 1, 8) || '-' || substr(hex(\(column)), 9, 4) || '-' || \
        substr(hex(\(column)), 13, 4) || '-' || substr(hex(\(column)), 17, 4) || '-' || substr(hex(\(column)), 21, 12)) \
        ELSE \(column) END
        """
    }

    // MARK: - Times

    /// SQL that gives the fixed-width text form of a milliseconds column.
    static func timeTextSQL(_ column: String) -> String {
        "strftime('%Y-%m-%dT%H:%M:%fZ', \(column) / 1000.0, 'unixepoch')"
    }

    // MARK: - Decision metadata

    /// A decision's metadata in the form the ledger's policies write it, parsed back into
    /// the parts that are not derivable; nil for any other metadata (kept as text).
    struct DecisionMetadata: Equatable {
        /// The correlation id when it is not the cause's id.
        var correlation: String?
        var cause: String
        var rulesVersion: String

        static let prefix = #"{"actor":"clientledger","correlationId":""#

        /// Parses `{"actor":"clientledger","correlationId":"C","causationId":"X","rulesVersion":"R"}`
        /// with plain ids and a 16-hex-digit version; anything else is nil.
        init?(_ text: String) {
            // Over the UTF-8 bytes: this runs for every decision an import writes.
            var copy = text
            guard let parsed = copy.withUTF8({ Self.parse($0) }) else { return nil }
            self = parsed
        }

        private init(correlation: String?, cause: String, rulesVersion: String) {
            self.correlation = correlation
            self.cause = cause
            self.rulesVersion = rulesVersion
        }

        private static let prefixBytes = Array(prefix.utf8)
        private static let causeKey = Array(#"","causationId":""#.utf8)
        private static let rulesKey = Array(#"","rulesVersion":""#.utf8)

        /// The exact form `text(correlation:cause:rulesVersion:)` writes, or nil: each value
        /// plain (printable ASCII, no quote or backslash, not empty), the version 16 bytes.
        private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> DecisionMetadata? {
            var at = 0
            func expect(_ literal: [UInt8]) -> Bool {
                guard bytes.count - at >= literal.count else { return false }
                for (offset, byte) in literal.enumerated() where bytes[at + offset] != byte { return false }
                at += literal.count
                return true
            }
            func plainValue() -> Range<Int>? {
                let start = at
                while at < bytes.count {
                    let byte = bytes[at]
                    if byte == UInt8(ascii: "\"") { break }
                    guard byte > 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") else { return nil }
                    at += 1
                }
                return at > start ? start..<at : nil
            }
            func string(_ range: Range<Int>) -> String {
                String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
            }
            guard expect(prefixBytes), let correlation = plainValue(), expect(causeKey), let cause = plainValue(),
                expect(rulesKey), let version = plainValue(), version.count == 16, expect([UInt8(ascii: "\""), UInt8(ascii: "}")]),
                at == bytes.count
            else { return nil }
            let causeText = string(cause)
            let correlationText = string(correlation)
            return DecisionMetadata(
                correlation: correlationText == causeText ? nil : correlationText, cause: causeText, rulesVersion: string(version))
        }

        var text: String { Self.text(correlation: correlation, cause: cause, rulesVersion: rulesVersion) }

        static func text(correlation: String?, cause: String, rulesVersion: String) -> String {
            prefix + (correlation ?? cause) + #"","causationId":""# + cause + #"","rulesVersion":""# + rulesVersion + #""}"#
        }
    }

    /// SQL that gives the metadata text of a `log` row `l`, with its cause `c` and its rules
    /// version `r` joined.
    static let metadataTextSQL = """
        CASE WHEN l.metadata IS NOT NULL THEN l.metadata ELSE \
        '{"actor":"clientledger","correlationId":"' || coalesce(l.correlation, \(idTextSQL("c.event_id"))) || \
        '","causationId":"' || \(idTextSQL("c.event_id")) || '","rulesVersion":"' || r.version || '"}' END
        """
}
