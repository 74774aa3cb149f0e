/// Where the ledger reads the time: the moment an event is recorded, the "now" that
/// refuses facts from the future, the day projections are computed for.
///
/// Injected rather than read deep inside the store and the engine, so that tests, backtests
/// and simulations can run the ledger at any moment they choose.
public protocol LedgerClock: Sendable {
    func now() -> Timestamp
}

/// The machine's clock.
public struct SystemClock: LedgerClock {
    public init() {}
    public func now() -> Timestamp { .now() }
}

/// A clock that always says the same moment.
public struct FixedClock: LedgerClock {
    public var moment: Timestamp
    public init(_ moment: Timestamp) { self.moment = moment }
    public func now() -> Timestamp { moment }
}
