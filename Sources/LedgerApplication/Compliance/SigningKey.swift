import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LedgerCore

/// A problem with the ledger's signing key, a checkpoint or a public key given by the user.
public struct ComplianceError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case badInput, missing, cannotWrite, checkFailed }
    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// The ledger's Ed25519 key pair. The private key lives in a file beside the database
/// (`<database>.signing-key`, mode 0600, the 32-byte seed as hexadecimal text on one line),
/// never in the database: a copy of the database alone cannot sign anything.
public struct SigningKey: Sendable {
    public let privateKey: [UInt8]
    public let publicKey: [UInt8]
    /// Where it was read from or written to.
    public let path: String

    /// The key file of the ledger at `databasePath`: beside a SQLite file; for a ledger on a
    /// server (a `postgres://` URL), `$CLIENTLEDGER_SIGNING_KEY` when set, else a file named
    /// after the server and database in `~/.clientledger/keys/` (made with mode 0700).
    public static func path(forDatabase databasePath: String) -> String {
        guard LedgerStores.isPostgresURL(databasePath) else { return databasePath + ".signing-key" }
        let environment = ProcessInfo.processInfo.environment
        if let given = environment["CLIENTLEDGER_SIGNING_KEY"], !given.isEmpty { return given }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "."
        let folder = home + "/.clientledger/keys"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let components = URLComponents(string: databasePath)
        let name = [components?.host ?? "server", String(components?.port ?? 5432), String((components?.path ?? "").drop(while: { $0 == "/" }))]
            .joined(separator: "-")
            .map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_" ? $0 : "_" }
        return folder + "/" + String(name) + ".signing-key"
    }

    /// The ledger's key, or nil when it has none yet.
    public static func load(forDatabase databasePath: String) throws -> SigningKey? {
        let path = path(forDatabase: databasePath)
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw ComplianceError(.missing, "cannot read the signing key \(path): \(String(cString: strerror(errno)))")
        }
        let bytes: [UInt8]
        do {
            bytes = try InputFile.read(path)
        } catch {
            throw ComplianceError(.missing, "cannot read the signing key \(path): \(error.reason)")
        }
        let text = String(decoding: bytes, as: UTF8.self).trimmingWhitespace
        guard let seed = [UInt8](hex: text), seed.count == 32, let publicKey = LedgerSignature.publicKey(of: seed) else {
            throw ComplianceError(.badInput, "\(path) is not a ClientLedger signing key (expected 64 hexadecimal digits)")
        }
        return SigningKey(privateKey: seed, publicKey: publicKey, path: path)
    }

    /// The ledger's key, created (and written with mode 0600) when it has none — from `seed`
    /// when given (a copied ledger keeps its key) — and whether it was created now.
    public static func loadOrCreate(forDatabase databasePath: String, seed given: [UInt8]? = nil) throws -> (key: SigningKey, created: Bool) {
        if let key = try load(forDatabase: databasePath) { return (key, false) }
        let path = path(forDatabase: databasePath)
        let seed = given ?? LedgerSignature.newPrivateKey()
        guard let publicKey = LedgerSignature.publicKey(of: seed) else {
            throw ComplianceError(.cannotWrite, "could not create a signing key")
        }
        // O_EXCL: never overwrite a key another process created meanwhile; 0600 whatever the umask.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            if errno == EEXIST, let key = try load(forDatabase: databasePath) { return (key, false) }
            throw ComplianceError(.cannotWrite, "cannot create the signing key \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        _ = fchmod(descriptor, 0o600)
        let line = Array((seed.hexString + "\n").utf8)
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw ComplianceError(.cannotWrite, "cannot write the signing key \(path): \(reason)")
        }
        return (SigningKey(privateKey: seed, publicKey: publicKey, path: path), true)
    }

    /// Signs a message; the key was checked when it was loaded.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        guard let signature = LedgerSignature.sign(message, privateKey: privateKey) else {
            throw ComplianceError(.cannotWrite, "the signing key \(path) cannot sign")
        }
        return signature
    }

    /// A public key given by the user: 64 hexadecimal digits, or a file holding them (as
    /// `audit public-key --output` writes it).
    public static func publicKey(argument: String) throws -> [UInt8] {
        if argument.utf8.count == 64, let key = [UInt8](hex: argument) { return key }
        let bytes: [UInt8]
        do {
            bytes = try InputFile.read(argument)
        } catch {
            throw ComplianceError(.missing, "--public-key: \(error.description) (give a file or 64 hexadecimal digits)")
        }
        let text = String(decoding: bytes, as: UTF8.self).trimmingWhitespace
        guard text.utf8.count == 64, let key = [UInt8](hex: text) else {
            throw ComplianceError(.badInput, "--public-key: \(argument) does not hold a public key (64 hexadecimal digits)")
        }
        return key
    }
}

extension String {
    var trimmingWhitespace: String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, first == " " || first == "\n" || first == "\r" || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\n" || last == "\r" || last == "\t" { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
