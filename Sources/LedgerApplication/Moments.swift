import LedgerCore

/// Moments given by a person or a caller (`--as-of`, `?asOf=`): a date means the end of
/// that day (UTC), a full ISO-8601 time means itself.
public enum Moments {
    public static func parse(_ text: String) -> Timestamp? {
        guard let moment = Timestamp(iso8601: text) else { return nil }
        if text.count == 10 { return Timestamp(millisecondsSinceEpoch: moment.adding(days: 1).millisecondsSinceEpoch - 1) }
        return moment
    }
}
