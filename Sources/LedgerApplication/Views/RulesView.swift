import LedgerCore
import LedgerDomain

/// The rules as every front end shows them.
public enum RulesView {
    /// `{"version", "rules", "canonical"}`: the rules in the output form (amounts as decimal
    /// strings) and, as one string, the exact canonical text whose SHA-256 gives the version.
    public static func json(_ rules: Rules) -> String {
        var w = JSONWriter(capacity: 2048, forDisplay: true)
        w.beginObject()
        w.key("version"); w.string(rules.version)
        w.key("rules"); w.raw(rules.displayJSON)
        w.key("canonical"); w.string(rules.canonicalJSON)
        w.endObject()
        return w.text
    }
}
