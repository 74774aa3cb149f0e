/// Lists kept in one text column: `["a","b"]` for checks, `[1,2]` for days. The same form on every
/// backend; the values never contain quotes or commas.
public enum ListText {
    public static func text(_ strings: [String]) -> String {
        var text = "["
        for (index, string) in strings.enumerated() {
            if index > 0 { text += "," }
            text += "\""
            text += string
            text += "\""
        }
        return text + "]"
    }

    public static func text(_ integers: [Int64]) -> String {
        var text = "["
        for (index, integer) in integers.enumerated() {
            if index > 0 { text += "," }
            text += String(integer)
        }
        return text + "]"
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
