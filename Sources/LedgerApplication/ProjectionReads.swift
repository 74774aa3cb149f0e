import LedgerCore
import LedgerDomain
import LedgerProjections
import LedgerStorage

/// The rule every front end follows before reading a projection: catch it up with the log
/// when the database can be written, otherwise answer from what is there — and say how far
/// behind it is.
public struct ProjectionReader {
    /// The engine to read from (on a read-only handle).
    public let engine: ProjectionEngine
    /// What a reader should be told about the rows: lag, stale rules, a failed catch-up.
    public let notes: [String]

    /// Opens the projections of the ledger at `location` for reading.
    public static func open(
        _ location: String, rules: Rules, catchUp: Bool, clock: any LedgerClock = SystemClock()
    ) throws -> ProjectionReader {
        var notes: [String] = []
        if catchUp, let writable = try? LedgerStores.open(location, readOnly: false, clock: clock) {
            let engine = try ProjectionEngine(store: writable.projectionStore(), rules: rules, clock: clock)
            if engine.isInstalled, try engine.status().first?.builtAt != nil {
                do {
                    try engine.catchUp()
                } catch {
                    notes.append("could not catch the projections up (\(Failures.classify(error).1)); showing them as they are")
                }
            }
        }
        let reader = try LedgerStores.open(location, readOnly: true, clock: clock)
        let engine = try ProjectionEngine(store: reader.projectionStore(), rules: rules, clock: clock)
        guard engine.isInstalled, let status = try engine.status().first, status.builtAt != nil else {
            throw ProjectionError.notBuilt
        }
        if status.lag > 0 { notes.append("the projections are \(status.lag) events behind the log") }
        if status.stale { notes.append("the projections were built with rules \(status.rulesVersion ?? "-"), the rules in force are \(engine.rulesVersion)") }
        return ProjectionReader(engine: engine, notes: notes)
    }
}
