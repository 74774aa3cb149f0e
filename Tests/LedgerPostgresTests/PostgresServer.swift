import Foundation
@testable import LedgerPostgres
import LedgerStorage
import Testing

/// The PostgreSQL server the tests use: `$CLIENTLEDGER_TEST_POSTGRES`, a URL of a role that
/// may create databases (`.ci/run` starts a throw-away server with `tools/test-postgres.sh`).
/// Without it the PostgreSQL tests are skipped, and say so.
enum TestServer {
    static let url: String? = {
        let value = ProcessInfo.processInfo.environment["CLIENTLEDGER_TEST_POSTGRES"] ?? ""
        return value.isEmpty ? nil : value
    }()

    static var isAvailable: Bool { url != nil }

    static let skipNote: Comment = "no PostgreSQL server: set CLIENTLEDGER_TEST_POSTGRES (tools/test-postgres.sh start)"

    /// A URL of a new, empty database on the server.
    static func makeDatabase() throws -> String {
        guard let url else { throw ConformanceSkip() }
        let name = "cl_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let location = try PostgresLocation(url)
        let server = try Session(location)
        try server.execute("CREATE DATABASE \(name)")
        return "postgres://\(location.user)@\(location.host):\(location.port)/\(name)"
    }

    static func dropDatabase(_ location: String) {
        guard let url, let database = try? PostgresLocation(location).database, let server = try? Session(try PostgresLocation(url)) else { return }
        _ = try? server.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
    }

    /// A session on a ledger's database, for what the tests do behind the ledger's back.
    static func session(_ location: String) throws -> Session {
        let session = try Session(try PostgresLocation(location))
        try session.execute("SET search_path = \(PostgresLocation.schema)")
        return session
    }
}

struct ConformanceSkip: Error {}
