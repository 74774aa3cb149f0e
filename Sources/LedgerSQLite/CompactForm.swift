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
        for (offset, byte) in bytes.enumerated() {
            if offset == 4 || offset == 6 || offset == 8 || offset == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0F)])
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
            guard text.hasPrefix(Self.prefix), text.hasSuffix(#""}"#) else { return nil }
            let body = text.dropFirst(Self.prefix.count).dropLast(2)
            let parts = body.components(separatedBy: #"",""#)
            guard parts.count == 3, parts[1].hasPrefix(#"causationId":""#), parts[2].hasPrefix(#"rulesVersion":""#) else { return nil }
            let correlation = parts[0]
            let cause = String(parts[1].dropFirst(#"causationId":""#.count))
            let version = String(parts[2].dropFirst(#"rulesVersion":""#.count))
            func plain(_ s: String) -> Bool {
                !s.isEmpty && s.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
            }
            guard plain(correlation), plain(cause), version.utf8.count == 16, plain(version) else { return nil }
            self.correlation = correlation == cause ? nil : correlation
            self.cause = cause
            self.rulesVersion = version
            guard self.text == text else { return nil }
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
