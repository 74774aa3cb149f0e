import LedgerCore
import LedgerDomain

/// How a ledger service runs: which ledger, where it listens, and its bounds.
public struct ServiceConfiguration: Sendable {
    /// The ledger database (it must exist: `clientledger init`).
    public var databasePath: String
    public var rules: Rules
    public var host: String
    public var port: Int
    /// Largest request body accepted; a larger one is refused with 413 before it is read in full.
    public var maxBodyBytes: Int
    /// Most events one group-commit transaction takes (a request's events are never split).
    public var maxGroupEvents: Int
    /// Most events waiting for the writer; a write beyond it is refused with 503 and Retry-After.
    public var maxPendingEvents: Int
    /// How often the token list is re-read from the database (a revoked token is refused after it).
    public var tokenRefreshInterval: Duration
    /// Most events a page of `GET /events` returns.
    public var maxPageEvents: Int
    public var clock: any LedgerClock

    public static let defaultMaxBodyBytes = 16 << 20

    public init(
        databasePath: String, rules: Rules, host: String = "127.0.0.1", port: Int = 8080,
        maxBodyBytes: Int = ServiceConfiguration.defaultMaxBodyBytes, maxGroupEvents: Int = 5_000,
        maxPendingEvents: Int = 200_000, tokenRefreshInterval: Duration = .seconds(1), maxPageEvents: Int = 10_000,
        clock: any LedgerClock = SystemClock()
    ) {
        self.databasePath = databasePath
        self.rules = rules
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.maxGroupEvents = maxGroupEvents
        self.maxPendingEvents = maxPendingEvents
        self.tokenRefreshInterval = tokenRefreshInterval
        self.maxPageEvents = maxPageEvents
        self.clock = clock
    }
}
