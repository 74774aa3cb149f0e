import Foundation
import Hummingbird
import LedgerApplication
import LedgerCore
import LedgerDomain
import LedgerStorage
import Logging
import ServiceLifecycle

/// The ledger as an HTTP service: routes over the application layer, one group-committing
/// writer, a pool of readers, the token gate and the live feed. `run()` serves until
/// SIGTERM or SIGINT, then stops gracefully.
public final class LedgerService: Sendable {
    public let configuration: ServiceConfiguration
    let logger: Logger
    let gate: AccessGate
    let pool: ReadPool
    let feed: LiveFeed
    let metrics: ServiceMetrics
    let committer: GroupCommitter

    /// Opens the ledger (it must exist and be writable) and loads the tokens.
    public init(_ configuration: ServiceConfiguration, logger: Logger = Logger(label: "clientledger")) throws {
        self.configuration = configuration
        self.logger = logger
        gate = AccessGate(location: configuration.databasePath)
        pool = ReadPool(location: configuration.databasePath, clock: configuration.clock)
        let feed = LiveFeed()
        let metrics = ServiceMetrics()
        self.feed = feed
        self.metrics = metrics
        committer = try GroupCommitter(
            location: configuration.databasePath, rules: configuration.rules, clock: configuration.clock,
            maxGroupEvents: configuration.maxGroupEvents, maxPendingEvents: configuration.maxPendingEvents
        ) { commit in
            feed.published(commit.head)
            metrics.eventsAppended.increment(by: Int64(commit.eventsAppended))
            metrics.groupCommits.increment()
        }
        try gate.reload()
        feed.published(try LedgerStores.open(configuration.databasePath, readOnly: true, clock: configuration.clock).head().position)
    }

    /// Re-reads the token table now (the server does so every `tokenRefreshInterval`).
    public func reloadTokens() throws {
        try gate.reload()
    }

    /// Ends open live streams, commits or refuses what the writer holds, and closes it.
    public func close() {
        feed.close()
        committer.close()
    }

    /// Serves on the configured address until SIGTERM or SIGINT: then stops accepting
    /// connections, ends live streams, lets in-flight requests finish (each write committed
    /// or refused), and closes the database.
    public func run(onListening: (@Sendable (Int) -> Void)? = nil) async throws {
        let logger = self.logger
        let app = Application(
            router: router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "clientledger"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.notice("listening on \(channel.localAddress?.description ?? "?") (database \(self.configuration.databasePath))")
                onListening?(port)
            },
            logger: logger)
        let refresher = TokenRefresher(gate: gate, interval: configuration.tokenRefreshInterval, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [refresher, app], logger: logger))
        let feed = self.feed
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                logger.notice("signal \(signalNumber): stopping (no new connections; in-flight requests finish)")
                feed.close()
                Task { await group.triggerGracefulShutdown() }
            }
            source.resume()
            sources.append(source)
        }
        defer { for source in sources { source.cancel() } }
        do {
            try await group.run()
        } catch {
            close()
            throw error
        }
        close()
        logger.notice("stopped: every acknowledged write is committed, the database is closed")
    }
}

/// Re-reads the token table periodically, so that new and revoked tokens take effect.
struct TokenRefresher: Service {
    let gate: AccessGate
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                do {
                    try gate.reload()
                } catch {
                    logger.warning("could not re-read the tokens: \(Failures.classify(error).1)")
                }
            }
        }
    }
}
