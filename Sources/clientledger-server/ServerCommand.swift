import ArgumentParser
import Foundation
import LedgerApplication
import LedgerDomain
import LedgerPostgres
import LedgerService
import Logging

/// `clientledger-server`: the ledger's HTTP service (started by `clientledger serve`).
@main
struct ClientLedgerServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clientledger-server",
        abstract: "The ClientLedger HTTP service (usually started as `clientledger serve`).",
        discussion: "Stops gracefully on SIGTERM or SIGINT. docs/service.md describes the routes and roles.",
        version: ClientLedgerVersion.current)

    @Option(help: "Ledger: a SQLite file or a postgres:// URL (default: $CLIENTLEDGER_DB or ./clientledger.db).")
    var db: String?

    @Option(help: "Address to listen on, HOST:PORT.")
    var listen: String = "127.0.0.1:8080"


    @Option(parsing: .unconditional, help: "Largest request body accepted, in bytes.")
    var maxBodyBytes: Int = ServiceConfiguration.defaultMaxBodyBytes

    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level \"\(logLevel)\"") }
        guard maxBodyBytes >= 1_024 else { throw ValidationError("--max-body-bytes must be at least 1024") }
        _ = try address()
    }

    func address() throws -> (host: String, port: Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65_535).contains(port) else {
            throw ValidationError("--listen takes HOST:PORT (e.g. 127.0.0.1:8080), found \"\(listen)\"")
        }
        return (String(listen[..<colon]), port)
    }

    func run() async throws {
        LedgerStores.register(PostgresBackend())
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "clientledger")
        let (host, port) = try address()
        let database = db ?? ProcessInfo.processInfo.environment["CLIENTLEDGER_DB"] ?? "clientledger.db"
        let service: LedgerService
        do {
            // The service decides with the rules in force in the ledger's log (`rules adopt`;
            // read at start: restart the service after adopting new rules).
            let rules = try RulesInLog.inForce(in: LedgerStores.open(database, readOnly: false)).rules
            service = try LedgerService(
                ServiceConfiguration(databasePath: database, rules: rules, host: host, port: port, maxBodyBytes: maxBodyBytes),
                logger: logger)
        } catch {
            let (kind, message) = Failures.classify(error)
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            throw ExitCode(kind.exitCode)
        }
        try await service.run()
    }
}

