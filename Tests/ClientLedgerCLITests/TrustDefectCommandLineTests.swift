import Foundation
import Testing

import LedgerTestSupport
@testable import LedgerCore
import LedgerSQLite
import LedgerStorage

/// Arguments, dates, text and empty answers (items 13, 14 and 16–18 of the defect list).
extension TrustDefectTests {
    // MARK: - 13. seed near year 9999

    @Test("seed --start 9999-12-01 never writes year 0000/0001 dates: it refuses (64/65) or writes valid dates")
    func seedNearYear9999() throws {
        let result = runCLI(["seed", "--clients", "2", "--events", "10", "--start", "9999-12-01"])
        #expect([0, 64, 65].contains(result.status), "exit \(result.status): \(result.stderr)")
        #expect(!result.stdout.contains("\"0001-") && !result.stdout.contains("\"0000-"), "\(result.stdout.prefix(400))")
        let years = result.stdout.components(separatedBy: "\"occurredAt\":\"").dropFirst().compactMap { Int($0.prefix(4)) }
        let outside = years.filter { !(1900...9999).contains($0) }
        #expect(outside.isEmpty, "years outside 1900–9999: \(Set(outside).sorted())")
        if result.status == 0 {
            #expect(years.allSatisfy { $0 == 9999 }, "dates before the start: \(Set(years).sorted())")
        }
    }

    // MARK: - 14. C1 controls, bidi overrides, line separators

    struct HostileScalar: Sendable, CustomTestStringConvertible {
        var value: UInt32
        var name: String
        var testDescription: String { "U+\(String(value, radix: 16, uppercase: true)) \(name)" }
        var scalar: Unicode.Scalar { Unicode.Scalar(value)! }
    }

    static let hostileScalars = [
        HostileScalar(value: 0x9B, name: "CSI (C1 control)"), HostileScalar(value: 0x202E, name: "right-to-left override"),
        HostileScalar(value: 0x2028, name: "line separator"), HostileScalar(value: 0x2029, name: "paragraph separator"),
    ]

    @Test("C1 controls, bidi overrides and U+2028/2029 in a client name, branch or reward are refused at import or never printed raw",
          arguments: hostileScalars)
    func hostileTextEscaped(_ item: HostileScalar) throws {
        try withWorkspace { (workspace) throws in
            let c = String(item.scalar)
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            let lines = [
                Self.register("C1", at: "2025-01-01T09:00:00Z", name: "Li\(c)31mNa", branch: "SH\(c)1"),
                Self.deposit("C1", at: "2025-02-01T09:00:00Z", amount: "10000.00"),
                Self.line(["type": "PointsRedeemed", "clientId": "C1", "occurredAt": "2025-03-01T09:00:00Z",
                           "data": ["points": 5, "reward": "mug\(c)2Jgift"] as [String: Any]]),
            ]
            let file = try workspace.write("hostile.jsonl", lines.joined(separator: "\n") + "\n")
            let imported = runCLI(["import", "--db", workspace.db, file])
            if imported.status != 0 {
                #expect(imported.status == 65, "exit \(imported.status): \(imported.stderr)")
                #expect(imported.stderr.contains("line 1") && imported.stderr.contains("data."), "the refusal should name the line and field: \(imported.stderr)")
                let printsRaw = imported.stderr.unicodeScalars.contains(item.scalar)
                #expect(!printsRaw, "the refusal prints the character raw")
                #expect(try eventCount(workspace.db) == 0)
                return
            }
            for command: [String] in [
                ["client", "show", "C1"], ["client", "show", "C1", "--format", "json"], ["history", "C1"],
                ["history", "C1", "--format", "json"], ["history", "C1", "--format", "csv"], ["events"], ["events", "--format", "json"],
            ] {
                let result = runCLI(command + ["--db", workspace.db])
                #expect(result.status == 0, "\(command): \(result.stderr)")
                let printsRaw = result.stdout.unicodeScalars.contains(item.scalar)
                #expect(!printsRaw, "`\(command.joined(separator: " "))` prints \(item.testDescription) raw")
            }
        }
    }

    // MARK: - 16. Global options

    @Test("--db before the subcommand works")
    func dbBeforeSubcommand() throws {
        try withWorkspace { (workspace) throws in
            try Self.baseLedger(workspace)
            let result = runCLI(["--db", workspace.db, "history", "C100"])
            #expect(result.status == 0, "exit \(result.status): \(result.stderr)")
            #expect(result.stdout.contains("ClientRegistered"), "\(result.stdout.prefix(300))")
        }
    }

    @Test("clientledger --version prints a version and exits 0")
    func versionFlag() throws {
        let result = runCLI(["--version"])
        #expect(result.status == 0, "exit \(result.status): \(result.stderr)")
        #expect(result.stdout.rangeOfCharacter(from: .decimalDigits) != nil, "no version number in \"\(result.stdout)\"")
    }

    // MARK: - 17. Empty answers

    @Test("history --as-of a date before the first event exits 0 with an empty table, or [] in JSON")
    func emptyHistory() throws {
        try withWorkspace { (workspace) throws in
            try Self.baseLedger(workspace)
            let text = runCLI(["history", "C100", "--db", workspace.db, "--as-of", "2024-01-01"])
            #expect(text.status == 0, "exit \(text.status): \(text.stderr)")
            let json = runCLI(["history", "C100", "--db", workspace.db, "--as-of", "2024-01-01", "--format", "json"])
            #expect(json.status == 0, "exit \(json.status): \(json.stderr)")
            if json.status == 0 { #expect((try? parseJSON(json.stdout) as? [Any])?.isEmpty == true, "\(json.stdout)") }
            let csv = runCLI(["history", "C100", "--db", workspace.db, "--as-of", "2024-01-01", "--format", "csv"])
            #expect(csv.status == 0, "exit \(csv.status): \(csv.stderr)")
        }
    }

    @Test("events --type TierChanged on a ledger with none exits 0 with an empty table, or [] in JSON")
    func emptyEvents() throws {
        try withWorkspace { (workspace) throws in
            try Self.ledger(workspace, [Self.register("C1", at: "2024-01-01T09:00:00Z"), Self.interaction("C1", at: "2024-01-02T09:00:00Z")])
            let text = runCLI(["events", "--db", workspace.db, "--type", "TierChanged"])
            #expect(text.status == 0, "exit \(text.status): \(text.stderr)")
            let json = runCLI(["events", "--db", workspace.db, "--type", "TierChanged", "--format", "json"])
            #expect(json.status == 0, "exit \(json.status): \(json.stderr)")
            #expect((try? parseJSON(json.stdout) as? [Any])?.isEmpty == true, "\(json.stdout)")
        }
    }

    // MARK: - 18. Negative numbers and a tier in the wrong case

    @Test("a negative --batch-size, --limit or --seed says the value must be positive or non-negative (not 'Missing value'), exit 64",
          arguments: [["import", "FILE", "--batch-size", "-1"], ["events", "--limit", "-1"], ["seed", "--clients", "1", "--events", "3", "--seed", "-1"]])
    func negativeNumbers(_ command: [String]) throws {
        try withWorkspace { (workspace) throws in
            let file = try workspace.write("one.jsonl", Self.register("C1", at: "2024-01-01T09:00:00Z") + "\n")
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            let result = runCLI(command.map { $0 == "FILE" ? file : $0 } + ["--db", workspace.db])
            let option = command[command.count - 2]
            #expect(result.status == 64, "\(option) -1: exit \(result.status)")
            #expect(!result.stderr.contains("Missing value"), "\(option) -1: \(result.stderr.prefix(200))")
            #expect(["positive", "negative", "at least"].contains { result.stderr.contains($0) } && result.stderr.contains(option),
                    "\(option) -1: the message should say the value must be positive / non-negative: \(result.stderr.prefix(200))")
            #expect(try eventCount(workspace.db) == 0)
        }
    }

    @Test("membership --tier gold suggests Gold")
    func tierSuggestion() throws {
        try withWorkspace { (workspace) throws in
            try Self.baseLedger(workspace)
            let result = runCLI(["membership", "--db", workspace.db, "--tier", "gold"])
            #expect(result.status == 64, "exit \(result.status)")
            #expect(result.stderr.contains("Gold"), "\(result.stderr.prefix(300))")
        }
    }
}
