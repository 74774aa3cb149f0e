import LedgerCore

/// Refuses moments in the future. The log cannot be edited, so a wrong date would stay in it
/// forever: a fact dated later than "now" (plus a small tolerance for clocks that disagree),
/// or a periodic job run for a moment that has not come, is refused before anything is
/// written. "Now" is a parameter, read by the caller from the ledger's injectable clock, so
/// the rule stays pure and tests can put the ledger at any moment.
public enum TimeSanity {
    /// How far after "now" a moment may lie and still be accepted: 5 minutes, so that a
    /// source whose clock runs a little ahead of the ledger's is not refused.
    public static let futureTolerance: Int64 = 5 * 60 * 1000

    /// The latest moment accepted when the ledger's clock says `now`.
    public static func latestAccepted(now: Timestamp) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch + futureTolerance)
    }

    /// Throws when `moment` is later than `now` plus the tolerance; `field` names what is
    /// refused in the error (`occurredAt` for a fact, `asOf` for a job).
    public static func check(_ moment: Timestamp, now: Timestamp, field: String, what: String) throws(FieldError) {
        guard moment > latestAccepted(now: now) else { return }
        throw FieldError(
            field: field,
            problem: "\(moment.iso8601) is in the future: later than the ledger's clock (\(now.iso8601)) plus \(futureTolerance / 60_000) minutes; \(what)")
    }
}
