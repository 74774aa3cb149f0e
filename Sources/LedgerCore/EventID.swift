/// Event ids are UUIDs in lower-case text form.
public enum EventID {
    /// A random (version 4) UUID.
    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return format(bytes)
    }

    /// A name-based UUID (SHA-256, version 8 layout): the same name always gives the same id.
    /// The ledger derives ids this way for decisions and for imported lines without an id, so
    /// that a retried import or a re-run policy never writes an event twice.
    public static func derived(from name: [UInt8]) -> String {
        var bytes = Array(HashChain.sha256(name).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return format(bytes)
    }

    public static func derived(from name: String) -> String {
        derived(from: Array(name.utf8))
    }

    /// The canonical (lower-case) form of a UUID text, or nil when it is not a UUID.
    public static func normalized(_ text: String) -> String? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 36 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(36)
        for (index, byte) in utf8.enumerated() {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                out.append(byte)
                continue
            }
            switch byte {
            case 48...57, 97...102: out.append(byte)
            case 65...70: out.append(byte + 32)
            default: return nil
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func format(_ bytes: [UInt8]) -> String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var index = 0
            for (offset, byte) in bytes.prefix(16).enumerated() {
                if offset == 4 || offset == 6 || offset == 8 || offset == 10 {
                    buffer[index] = UInt8(ascii: "-")
                    index += 1
                }
                buffer[index] = digits.utf8Start[Int(byte >> 4)]
                buffer[index + 1] = digits.utf8Start[Int(byte & 0x0F)]
                index += 2
            }
            return index
        }
    }
}
