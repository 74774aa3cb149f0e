import Crypto

/// AES-256-GCM for the personal fields of events (docs/storage.md, "Personal data"): each
/// client has its own key, kept outside the chained events; destroying the key erases the
/// fields while the ciphertext, which the hash chain covers, stays.
///
/// The sealed form is the hex of nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes). The
/// associated data binds a ciphertext to its place (stream, event id, field): a sealed value
/// copied into another event does not open.
public enum PersonalCipher {
    public static let keyBytes = 32

    /// A fresh random key.
    public static func newKey() -> [UInt8] {
        SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
    }

    /// What a sealed value is bound to.
    public static func context(stream: String, eventId: String, field: String) -> [UInt8] {
        Array("clientledger/personal\n\(stream)\n\(eventId)\n\(field)".utf8)
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Seals `plaintext` with a random nonce.
    public static func seal(_ plaintext: String, key: [UInt8], context: [UInt8]) throws -> String {
        guard key.count == keyBytes else { throw Failure(description: "a personal-data key has \(keyBytes) bytes, found \(key.count)") }
        do {
            let box = try AES.GCM.seal(Array(plaintext.utf8), using: SymmetricKey(data: key), authenticating: context)
            guard let combined = box.combined else { throw Failure(description: "AES-GCM gave no combined form") }
            return Array(combined).hexString
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "AES-GCM sealing failed: \(error)")
        }
    }

    /// Opens a sealed value; nil when the key or the context is not the one it was sealed
    /// with, or the value was altered.
    public static func open(_ sealedHex: String, key: [UInt8], context: [UInt8]) -> String? {
        guard key.count == keyBytes, let bytes = hexBytes(sealedHex), bytes.count >= 28,
            let box = try? AES.GCM.SealedBox(combined: bytes),
            let plain = try? AES.GCM.open(box, using: SymmetricKey(data: key), authenticating: context)
        else { return nil }
        return String(decoding: Array(plain), as: UTF8.self)
    }

    /// The bytes of lower-case or upper-case hex text; nil for anything else.
    public static func hexBytes(_ text: String) -> [UInt8]? {
        [UInt8](hex: text)
    }
}
