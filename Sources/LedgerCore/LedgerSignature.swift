import Crypto

/// Ed25519 signatures of the ledger (RFC 8032), through swift-crypto's `Curve25519.Signing`.
///
/// Keys travel as the raw 32 bytes of RFC 8032 in lower-case hexadecimal: the private key is
/// the 32-byte seed, the public key the 32-byte encoded point. Signatures are 64 bytes.
public enum LedgerSignature {
    /// A new private key (32 random bytes).
    public static func newPrivateKey() -> [UInt8] {
        Array(Curve25519.Signing.PrivateKey().rawRepresentation)
    }

    /// The public key of a private key; nil when the bytes are not a private key.
    public static func publicKey(of privateKey: [UInt8]) -> [UInt8]? {
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: privateKey) else { return nil }
        return Array(key.publicKey.rawRepresentation)
    }

    /// The signature of `message` with the private key; nil when the bytes are not a key.
    public static func sign(_ message: [UInt8], privateKey: [UInt8]) -> [UInt8]? {
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: privateKey),
            let signature = try? key.signature(for: message)
        else { return nil }
        return Array(signature)
    }

    /// Whether `signature` is a valid signature of `message` under the public key.
    public static func verify(_ signature: [UInt8], of message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == 64, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else {
            return false
        }
        return key.isValidSignature(signature, for: message)
    }

    /// A short name of a public key for people: the first 16 hex digits of its SHA-256.
    public static func fingerprint(_ publicKey: [UInt8]) -> String {
        String(Array(SHA256.hash(data: publicKey)).hexString.prefix(16))
    }
}
