/// Lists kept in one text column: `["a","b"]` for checks, `[1,2]` for days. The same form on every
/// backend; the values never contain quotes or commas.
public enum ListText {
    public static func text(_ strings: [String]) -> String {
        "[" + strings.map { "\"\($0)\"" }.joined(separator: ",") + "]"
    }

    public static func text(_ integers: [Int64]) -> String {
        "[" + integers.map(String.init).joined(separator: ",") + "]"
    }

    public static func strings(_ text: String) -> [String] {
        let inner = text.dropFirst().dropLast()
        guard !inner.isEmpty else { return [] }
        return inner.split(separator: ",").map { String($0.dropFirst().dropLast()) }
    }

    public static func integers(_ text: String) -> [Int64] {
        text.dropFirst().dropLast().split(separator: ",").compactMap { Int64($0) }
    }
}
