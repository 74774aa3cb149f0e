import LedgerCore
import LedgerDomain

/// The rules as every front end shows them.
public enum RulesView {
    /// `{"version", "rules", "canonical"}`: the rules in the output form (amounts as decimal
    /// strings) and, as one string, the exact canonical text whose SHA-256 gives the version.
    /// With `adopted` (the rules in force in a ledger), also where and why they were adopted:
    /// `adoptedAt`, `position`, `reason` (null for rules not adopted in a log).
    public static func json(_ rules: Rules, adopted: RulesInLog.Adopted? = nil) -> String {
        var w = JSONWriter(capacity: 2048, forDisplay: true)
        w.beginObject()
        w.key("version"); w.string(rules.version)
        w.key("rules"); w.raw(rules.displayJSON)
        w.key("canonical"); w.string(rules.canonicalJSON)
        w.key("adoptedAt"); if let adopted { w.string(adopted.occurredAt) } else { w.null() }
        w.key("position"); if let adopted { w.int(adopted.position) } else { w.null() }
        w.key("reason"); if let adopted { w.string(adopted.adoption.reason) } else { w.null() }
        w.endObject()
        return w.text
    }
}
