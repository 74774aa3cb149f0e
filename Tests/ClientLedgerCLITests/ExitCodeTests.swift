import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerCore
import LedgerSQLite
import LedgerStorage

@Suite("Exit codes (sysexits) for missing files, foreign files, bad rules and bad usage")
struct ExitCodeTests {
    static let readCommands: [[String]] = [["events"], ["audit", "verify"], ["events", "--format", "json"]]

    @Test("a read command on a missing database exits 66 and creates nothing", arguments: readCommands)
    func missingDatabase(command: [String]) throws {
        try withWorkspace { (workspace) throws in
            let result = runCLI(command + ["--db", workspace.db])
            #expect(result.status == 66, "\(result.stderr)")
            #expect(result.stderr.contains(workspace.db), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: workspace.db))
        }
    }

    @Test("import into a missing database exits 66 and creates nothing")
    func importMissingDatabase() throws {
        try withWorkspace { (workspace) throws in
            let base = try badInputDirectory().appendingPathComponent("base.jsonl").path
            let result = runCLI(["import", "--db", workspace.db, base])
            #expect(result.status == 66, "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: workspace.db))
        }
    }

    @Test("import of a missing input file exits 66 and writes nothing")
    func importMissingFile() throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            let result = runCLI(["import", "--db", workspace.db, workspace.path("nope.jsonl")])
            #expect(result.status == 66, "\(result.stderr)")
            #expect(result.stderr.contains("nope.jsonl"))
            #expect(try eventCount(workspace.db) == 0)
        }
    }

    @Test("a database file that is not SQLite exits 66 and is left as it was", arguments: [
        ["events"], ["audit", "verify"], ["import", "IMPORT"], ["init"],
    ])
    func notSQLite(command: [String]) throws {
        try withWorkspace { (workspace) throws in
            let garbage = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
            try garbage.write(to: URL(fileURLWithPath: workspace.db))
            let base = try badInputDirectory().appendingPathComponent("base.jsonl").path
            let args = command.map { $0 == "IMPORT" ? base : $0 }
            let result = runCLI(args + ["--db", workspace.db])
            #expect(result.status == 66, "\(args): \(result.stderr)")
            #expect(result.stderr.contains("not a usable ClientLedger database"), "\(result.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: workspace.db)) == garbage)
        }
    }

    @Test("a plain SQLite database without the ledger schema exits 66", arguments: [["events"], ["audit", "verify"], ["init"]])
    func foreignDatabase(command: [String]) throws {
        try withWorkspace { (workspace) throws in
            do {
                let other = try Connection(path: workspace.db, mode: .create)
                try other.execute("CREATE TABLE notes(text TEXT)")
            }
            let result = runCLI(command + ["--db", workspace.db])
            #expect(result.status == 66, "\(command): \(result.stderr)")
            let connection = try Connection(path: workspace.db, mode: .readOnly)
            #expect(try connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE name = 'events'") == 0)
        }
    }

    // MARK: - rules check

    struct RulesCase: Sendable, CustomTestStringConvertible {
        var name: String
        var replace: String
        var with: String
        /// The key the message must name.
        var key: String
        var testDescription: String { name }
    }

    static let badRules: [RulesCase] = [
        RulesCase(name: "unknown top-level key", replace: "riskAssessment:\n", with: "bonusPoints: 5\nriskAssessment:\n", key: "bonusPoints"),
        RulesCase(name: "unknown nested key", replace: "    capPerEvent: 5000", with: "    capPerEvent: 5000\n    bonus: 3", key: "earning.trade.bonus"),
        RulesCase(name: "unknown key in a tier", replace: "{ name: Gold,     points: 10000,", with: "{ name: Gold, colour: gold, points: 10000,", key: "tiers.levels[2].colour"),
        RulesCase(
            name: "tiers out of order",
            replace: "    - { name: Silver,   points: 2000,   assets: 100000,   multiplier: 1.2 }\n    - { name: Gold,     points: 10000,  assets: 500000,   multiplier: 1.5 }",
            with: "    - { name: Gold,     points: 10000,  assets: 500000,   multiplier: 1.5 }\n    - { name: Silver,   points: 2000,   assets: 100000,   multiplier: 1.2 }",
            key: "tiers.levels[1].name"),
        RulesCase(name: "decreasing points threshold", replace: "name: Gold,     points: 10000,", with: "name: Gold,     points: 1500,", key: "tiers.levels[2].points"),
        RulesCase(name: "decreasing assets threshold", replace: "assets: 3000000,", with: "assets: 400000,", key: "tiers.levels[3].assets"),
        RulesCase(name: "negative lot lifetime", replace: "lifetimeDays: 730", with: "lifetimeDays: -5", key: "lots.lifetimeDays"),
        RulesCase(name: "negative earning rate", replace: "    points: 2\n", with: "    points: -2\n", key: "earning.purchase.points"),
        RulesCase(name: "negative assets", replace: "assets: 100000,", with: "assets: -100000,", key: "tiers.levels[1].assets"),
        RulesCase(name: "negative product minimum", replace: "minAssets: 500000 }", with: "minAssets: -1 }", key: "products[4].minAssets"),
    ]

    static func defaultRulesPath() -> String {
        repositoryRoot().appendingPathComponent("Sources/LedgerDomain/Resources/default-rules.yaml").path
    }

    @Test("rules check on a bad rules file exits 65 naming the key", arguments: badRules)
    func badRulesFile(_ item: RulesCase) throws {
        try withWorkspace { (workspace) throws in
            let base = try String(contentsOfFile: Self.defaultRulesPath(), encoding: .utf8)
            let changed = base.replacingOccurrences(of: item.replace, with: item.with)
            try #require(changed != base, "the default rules no longer contain \"\(item.replace)\"")
            let file = try workspace.write("rules.yaml", changed)
            let result = runCLI(["rules", "check", file])
            #expect(result.status == 65, "\(item.name): exit \(result.status) \(result.stdout) \(result.stderr)")
            #expect(result.stderr.contains(item.key), "\(item.name): \(result.stderr)")
        }
    }

    @Test("rules check on the shipped default rules exits 0")
    func defaultRulesValid() throws {
        let result = runCLI(["rules", "check", Self.defaultRulesPath()])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("valid, rules version"), "\(result.stdout)")
    }

    @Test("rules check on a missing file exits 66, on a non-YAML file 65")
    func rulesFileProblems() throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["rules", "check", workspace.path("absent.yaml")]).status == 66)
            let junk = try workspace.write("junk.yaml", "earning: [unclosed\n  : :\n")
            #expect(runCLI(["rules", "check", junk]).status == 65)
        }
    }

    @Test("rules adopt of a bad rules file exits 65 and writes nothing; import takes no --rules (exit 64)")
    func adoptBadRules() throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            let rules = try workspace.write("rules.yaml", "earning: {}\n")
            let result = runCLI(["rules", "adopt", rules, "--reason", "test", "--db", workspace.db])
            #expect(result.status == 65, "\(result.stderr)")
            #expect(result.stderr.contains("earning"), "\(result.stderr)")
            #expect(try eventCount(workspace.db, includingRules: true) == 0)
            let base = try badInputDirectory().appendingPathComponent("base.jsonl").path
            #expect(runCLI(["import", "--db", workspace.db, "--rules", rules, base]).status == 64)
            #expect(try eventCount(workspace.db, includingRules: true) == 0)
        }
    }

    // MARK: - usage

    @Test("bad usage exits 64", arguments: [
        ["frobnicate"],
        ["events", "--bogus"],
        ["audit", "frobnicate"],
        ["import"],
        ["import", "--batch-size", "0", "x.jsonl"],
        ["import", "--batch-size", "two", "x.jsonl"],
        ["events", "--format", "xml"],
        ["events", "--stream", "client/C1", "--client", "C1"],
        ["events", "--limit", "-1"],
        ["events", "--type", "NoSuchType"],
        ["events", "--since", "yesterday"],
        ["append"],
        ["rules", "check"],
    ])
    func usage(args: [String]) throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            let result = runCLI(args + ["--db", workspace.db])
            #expect(result.status == 64, "\(args): exit \(result.status), \(result.stderr)")
            #expect(!result.stderr.isEmpty)
            #expect(try eventCount(workspace.db) == 0)
        }
    }

    @Test("--help exits 0 and lists the commands")
    func help() {
        let result = runCLI(["--help"])
        #expect(result.status == 0)
        for command in ["init", "import", "append", "events", "audit"] {
            #expect(result.stdout.contains(command), "\(command) missing from help")
        }
    }
}
