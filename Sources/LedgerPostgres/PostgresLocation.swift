import Foundation
import LedgerStorage

/// Where a PostgreSQL ledger lives: `postgres://user[:password]@host[:port]/database` (or
/// `postgresql://`), with `?sslmode=disable|require` (default `disable`). The ledger's tables
/// are in the schema `clientledger` of that database, so it can share a database with others.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public var requireTLS: Bool
    /// The schema holding the ledger's tables.
    public static let schema = "clientledger"

    public static func accepts(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(user: String, password: String?, host: String, port: Int, database: String, requireTLS: Bool = false) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
        self.requireTLS = requireTLS
    }

    /// Parses a URL; a malformed one is refused naming what is wrong (never echoing a password).
    public init(_ text: String) throws(StorageError) {
        guard Self.accepts(text), let components = URLComponents(string: text) else {
            throw .notALedger(location: Self.redacted(text), reason: "not a postgres://user@host:port/database URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw .notALedger(location: Self.redacted(text), reason: "the URL names no host")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw .notALedger(location: Self.redacted(text), reason: "the URL names no database (postgres://user@host:port/DATABASE)")
        }
        var requireTLS = false
        for item in components.queryItems ?? [] {
            switch (item.name, item.value ?? "") {
            case ("sslmode", "disable"): requireTLS = false
            case ("sslmode", "require"): requireTLS = true
            default:
                throw .notALedger(location: Self.redacted(text), reason: "unknown URL parameter \(item.name)=\(item.value ?? "") (only sslmode=disable|require)")
            }
        }
        self.init(
            user: components.user ?? ProcessInfo.processInfo.environment["USER"] ?? "postgres",
            password: components.password ?? ProcessInfo.processInfo.environment["PGPASSWORD"],
            host: host, port: components.port ?? 5432, database: database, requireTLS: requireTLS)
    }

    /// The URL without its password: what messages show.
    public var description: String {
        "postgres://\(user)@\(host):\(port)/\(database)" + (requireTLS ? "?sslmode=require" : "")
    }

    /// The same server, another database (to create this one).
    func with(database other: String) -> PostgresLocation {
        var copy = self
        copy.database = other
        return copy
    }

    static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text) else { return "the given postgres URL" }
        if components.password != nil { components.password = "***" }
        return components.string ?? "the given postgres URL"
    }
}
