import Foundation
import Testing

import LedgerTestSupport
@testable import LedgerCore
import LedgerSQLite
import LedgerStorage

/// Defects reported against the build, reproduced through the real `clientledger` executable.
/// Each test asserts the behaviour the product reference asks for: it fails while the defect
/// is there and passes once it is fixed. The suite is split over TrustDefect*.swift files
/// (extensions of this one suite, so `--filter TrustDefectTests` runs all of them).
@Suite("Trust defects: behaviour the reference asks for, through the executable")
struct TrustDefectTests {
    // MARK: - Shared helpers

    static func baseFile() throws -> String {
        try badInputDirectory().appendingPathComponent("base.jsonl").path
    }

    static func executablePath() throws -> String {
        try #require(CLI.executable, "\(CLI.missingMessage)").path
    }

    /// Single-quotes a word for `sh -c`.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Runs a shell script (through the shared `runTool` helper).
    static func shell(_ script: String) throws -> (status: Int32, stdout: String, stderr: String) {
        try runTool("sh", ["-c", script])
    }

    /// `init` + `import` of the given lines; returns the import's result.
    @discardableResult
    static func ledger(_ workspace: Workspace, _ lines: [String], file: String = "facts.jsonl") throws -> (status: Int32, stdout: String, stderr: String) {
        let created = runCLI(["init", "--db", workspace.db])
        #expect(created.status == 0, "\(created.stderr)")
        let path = try workspace.write(file, lines.joined(separator: "\n") + "\n")
        let imported = runCLI(["import", "--db", workspace.db, path])
        #expect(imported.status == 0, "\(imported.stderr)")
        return imported
    }

    /// init + base.jsonl.
    static func baseLedger(_ workspace: Workspace) throws {
        #expect(runCLI(["init", "--db", workspace.db]).status == 0)
        let imported = runCLI(["import", "--db", workspace.db, try baseFile()])
        #expect(imported.status == 0, "\(imported.stderr)")
    }

    static func object(_ text: String) throws -> [String: Any] {
        try #require(try parseJSON(text) as? [String: Any], "not a JSON object: \(text.prefix(300))")
    }

    static func array(_ text: String) throws -> [[String: Any]] {
        try #require(try parseJSON(text) as? [[String: Any]], "not a JSON array of objects: \(text.prefix(300))")
    }

    /// A moment one minute ago, as ISO-8601 UTC (a fact "now", never in the future).
    static func justNow() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date().addingTimeInterval(-60))
    }

    static func register(_ client: String, at: String, name: String = "Test Client", branch: String = "SH-1") -> String {
        let data: [String: String] = ["name": name, "segment": "retail", "investorType": "ordinary", "branch": branch]
        return line(["type": "ClientRegistered", "clientId": client, "occurredAt": at, "data": data])
    }

    static func deposit(_ client: String, at: String, amount: String) -> String {
        #"{"type":"FundsDeposited","clientId":"\#(client)","occurredAt":"\#(at)","data":{"amount":\#(amount)}}"#
    }

    static func interaction(_ client: String, at: String, id: String? = nil) -> String {
        let idPart = id.map { #""eventId":"\#($0)","# } ?? ""
        return #"{\#(idPart)"type":"InteractionLogged","clientId":"\#(client)","occurredAt":"\#(at)","data":{"channel":"app","kind":"inquiry"}}"#
    }

    /// One import line from a dictionary (JSONSerialization keeps non-ASCII text as UTF-8).
    static func line(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: - 1. Points available equal what a redemption could take

    struct LotCase: Sendable, CustomTestStringConvertible {
        var name: String
        var lines: [String]
        /// Points of the lots that have not ended.
        var unexpired: Int
        var testDescription: String { name }
    }

    static let lotCases: [LotCase] = [
        LotCase(
            name: "a 2023 lot (ended 2025-01-31) recorded after a 2026 award",
            lines: [
                register("C1", at: "2023-01-01T09:00:00Z"),
                deposit("C1", at: "2026-03-01T09:00:00Z", amount: "50000.00"),  // 50 points, ends 2028
                // 100 points, ended 2025-01-31; a late fact: Silver from 2023-02-01, so the
                // 2026 award is corrected to 50 × 1.2 = 60 (rules.md, "Late facts").
                deposit("C1", at: "2023-02-01T09:00:00Z", amount: "100000.00"),
            ],
            unexpired: 60),
        LotCase(
            name: "a 2023 lot (ended 2025-01-31) with no later event after its end",
            lines: [
                register("C1", at: "2023-01-01T09:00:00Z"),
                deposit("C1", at: "2023-02-01T09:00:00Z", amount: "100000.00"),  // 100 points, ended 2025-01-31
                deposit("C1", at: "2025-01-15T09:00:00Z", amount: "60000.00"),  // 60 × 1.2 (Silver) = 72 points, ends 2027-01-15
            ],
            unexpired: 72),
    ]

    @Test("points available (client show, membership) count only lots that have not ended, and a redemption of exactly that is accepted",
          arguments: lotCases)
    func pointsAvailableExcludeEndedLots(_ item: LotCase) throws {
        try withWorkspace { (workspace) throws in
            try Self.ledger(workspace, item.lines)

            let shown = runCLI(["client", "show", "C1", "--db", workspace.db, "--format", "json"])
            try #require(shown.status == 0, "\(shown.stderr)")
            let showAvailable = try #require(try Self.object(shown.stdout)["pointsAvailable"] as? Int)
            #expect(showAvailable == item.unexpired, "client show counts points of a lot that has ended: \(showAvailable)")

            let rebuilt = runCLI(["projections", "rebuild", "--db", workspace.db])
            try #require(rebuilt.status == 0, "\(rebuilt.stderr)")
            let member = runCLI(["membership", "C1", "--db", workspace.db, "--format", "json"])
            try #require(member.status == 0, "\(member.stderr)")
            let memberAvailable = try #require(try Self.object(member.stdout)["pointsAvailable"] as? Int)
            #expect(memberAvailable == item.unexpired, "membership counts points of a lot that has ended: \(memberAvailable)")

            // What is shown must be exactly what a redemption now can take.
            let before = try eventCount(workspace.db)
            func redeem(_ points: Int) -> (status: Int32, stdout: String, stderr: String) {
                runCLI(["append", "--db", workspace.db,
                        #"{"type":"PointsRedeemed","clientId":"C1","occurredAt":"\#(Self.justNow())","data":{"points":\#(points),"reward":"mug"}}"#])
            }
            let tooMany = redeem(showAvailable + 1)
            #expect(tooMany.status == 65, "one point more than shown must be refused: \(tooMany.stdout) \(tooMany.stderr)")
            #expect(try eventCount(workspace.db) == before)
            let exact = redeem(showAvailable)
            #expect(exact.status == 0, "the \(showAvailable) points shown as available could not be redeemed: \(exact.stderr)")
        }
    }

    // MARK: - 2. projections diff reports eligibility changes

    @Test("projections diff --rules reports eligibility changes when a product's minAssets or riskLevel changes")
    func diffReportsEligibilityChanges() throws {
        try withWorkspace { (workspace) throws in
            try Self.baseLedger(workspace)
            #expect(runCLI(["projections", "rebuild", "--db", workspace.db]).status == 0)
            let defaults = try String(contentsOfFile: ExitCodeTests.defaultRulesPath(), encoding: .utf8)
            // OPT-05 open to every asset level (C101, professional, 0 assets, becomes eligible);
            // FUND-03 raised to R5 (C100, C3, becomes unsuitable).
            let changed = defaults
                .replacingOccurrences(of: "riskLevel: R5, minAssets: 500000 }", with: "riskLevel: R5, minAssets: 0 }")
                .replacingOccurrences(of: "balanced mutual fund,    riskLevel: R3 }", with: "balanced mutual fund,    riskLevel: R5 }")
            try #require(changed.components(separatedBy: "\n").count == defaults.components(separatedBy: "\n").count)
            try #require(changed.contains("minAssets: 0 }") && changed.contains("fund,    riskLevel: R5 }"), "the default rules changed shape")
            let rules = try workspace.write("proposed.yaml", changed)

            let result = runCLI(["projections", "diff", "--db", workspace.db, "--rules", rules, "--format", "json"])
            try #require(result.status == 0, "\(result.stderr)")
            let diff = try Self.object(result.stdout)
            let changes = try #require(diff["changes"] as? [[String: Any]])
            let described = changes.map { "\($0["clientId"] ?? "")/\($0["what"] ?? ""): \($0["from"] ?? "") → \($0["to"] ?? "")" }
            #expect(described.contains("C101/eligibility:OPT-05: not eligible → eligible"), "\(described)")
            #expect(described.contains("C100/eligibility:FUND-03: eligible → not eligible"), "\(described)")
            #expect(runCLI(["projections", "diff", "eligibility", "--db", workspace.db, "--rules", rules]).stdout.contains("eligibility:OPT-05"))
        }
    }

    // MARK: - 3. client show --as-of

    /// Registered 2023-01-01; a 2026 deposit is recorded before a backdated 2023 one, so the
    /// events that occurred by 2024 are versions 1, 4, 5 and 6 (four events, last version 6).
    static let backdated = [
        register("C1", at: "2023-01-01T09:00:00Z"),
        deposit("C1", at: "2026-03-01T09:00:00Z", amount: "50000.00"),
        deposit("C1", at: "2023-02-01T09:00:00Z", amount: "100000.00"),
    ]

    @Test("client show --as-of gives the stream version of the last event in the cut, not a count of events")
    func asOfVersionIsLastEventVersion() throws {
        try withWorkspace { (workspace) throws in
            try Self.ledger(workspace, Self.backdated)
            let inCut = runCLI(["events", "--db", workspace.db, "--client", "C1", "--until", "2024-01-01", "--format", "json"])
            try #require(inCut.status == 0, "\(inCut.stderr)")
            let versions = try Self.array(inCut.stdout).compactMap { $0["version"] as? Int }
            let expected = try #require(versions.max())
            try #require(versions.count != expected, "the scenario must make the count and the version differ: \(versions)")

            let json = runCLI(["client", "show", "C1", "--db", workspace.db, "--as-of", "2024-01-01", "--format", "json"])
            try #require(json.status == 0, "\(json.stderr)")
            let version = try Self.object(json.stdout)["version"] as? Int
            #expect(version == expected, "version at the cut is \(version.map(String.init) ?? "nil"), the last event in it has version \(expected) (events in the cut: \(versions))")

            let text = runCLI(["client", "show", "C1", "--db", workspace.db, "--as-of", "2024-01-01"])
            try #require(text.status == 0, "\(text.stderr)")
            if let line = text.stdout.split(separator: "\n").first(where: { $0.contains("stream version") }) {
                let number = line.split(separator: " ").drop { $0 != "version" }.dropFirst().first.map(String.init)
                #expect(number == String(expected), "text output prints \"\(line)\"; the version at the cut is \(expected)")
            }
        }
    }

    @Test("client show --as-of a date before the registration exits 0 (no state yet), not a 'not registered' error")
    func asOfBeforeRegistration() throws {
        try withWorkspace { (workspace) throws in
            try Self.ledger(workspace, Self.backdated)
            let text = runCLI(["client", "show", "C1", "--db", workspace.db, "--as-of", "2022-06-01"])
            #expect(text.status == 0, "exit \(text.status): \(text.stderr)")
            #expect(!text.stderr.contains("not registered") && !text.stdout.contains("not registered"), "\(text.stderr)")
            let json = runCLI(["client", "show", "C1", "--db", workspace.db, "--as-of", "2022-06-01", "--format", "json"])
            #expect(json.status == 0, "exit \(json.status): \(json.stderr)")
            if json.status == 0 { #expect((try? parseJSON(json.stdout)) != nil, "--format json must print JSON: \(json.stdout.prefix(200))") }
        }
    }

    // MARK: - 4. JSON conventions

    static let moneyWords = ["amount", "notional", "assets", "inflow", "cents"]
    static let moneyKeys: Set<String> = ["net", "deposited", "withdrawn"]

    static func isMoneyKey(_ key: String) -> Bool {
        let lower = key.lowercased()
        return moneyKeys.contains(lower) || moneyWords.contains { lower.contains($0) }
    }

    static func isTimeKey(_ key: String) -> Bool {
        key == "at" || key.hasSuffix("At") || ["Since", "since", "asOf", "Until", "until", "occurred", "recorded"].contains { key.contains($0) }
    }

    /// Every violation of the JSON conventions in a parsed document, with its path.
    static func violations(_ value: Any, path: String = "$", key: String? = nil) -> [String] {
        if let object = value as? [String: Any] {
            return object.keys.sorted().flatMap { violations(object[$0]!, path: path + "." + $0, key: $0) }
        }
        if let array = value as? [Any] {
            return array.enumerated().flatMap { violations($1, path: "\(path)[\($0)]", key: key) }
        }
        if let text = value as? String {
            return text.isEmpty ? ["\(path): empty string (use null)"] : []
        }
        if value is NSNull { return [] }
        if let number = value as? NSNumber, let key {
            if isMoneyKey(key) { return ["\(path): money as a JSON number (\(number))"] }
            if isTimeKey(key) { return ["\(path): time as a JSON number (\(number))"] }
        }
        return []
    }

    static let readCommands: [[String]] = [
        ["events"], ["history", "C102"], ["history", "C100"], ["client", "show", "C100"], ["client", "show", "C102"],
        ["membership"], ["membership", "C102"], ["eligibility", "C101"], ["eligibility", "--product", "OPT-05"],
        ["metrics", "retention"], ["projections", "status"], ["rules", "show"], ["audit", "verify"],
        ["rules", "history"], ["audit", "suitability"],
        ["insight", "churn", "--as-of", "2025-09-01"], ["insight", "backtest", "--as-of", "2025-06-01"],
        ["insight", "service", "--as-of", "2025-12-31", "--by", "branch"], ["insight", "reassess", "--within", "3650"],
    ]

    @Test("every read command's JSON: money as decimal strings, times as ISO-8601 strings, null instead of \"\"")
    func jsonConventions() throws {
        try withWorkspace { (workspace) throws in
            try Self.baseLedger(workspace)
            #expect(runCLI(["projections", "rebuild", "--db", workspace.db]).status == 0)
            for command in Self.readCommands {
                let args = command + ["--format", "json"] + (command == ["rules", "show"] ? [] : ["--db", workspace.db])
                let result = runCLI(args)
                let label = command.joined(separator: " ")
                guard result.status == 0 else {
                    Issue.record("\(label): exit \(result.status) \(result.stderr)")
                    continue
                }
                guard let document = try? parseJSON(result.stdout) else {
                    Issue.record("\(label) --format json printed no JSON: \(result.stdout.prefix(200))")
                    continue
                }
                let found = Self.violations(document)
                #expect(found.isEmpty, "\(label): \(found.count) violations, e.g. \(found.prefix(6).joined(separator: "; "))")
            }
        }
    }

    // MARK: - 5. Facts dated in the future

    static func futureMoments() -> [String] {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return ["2099-01-01T00:00:00Z", "9999-12-31T00:00:00Z", formatter.string(from: Date().addingTimeInterval(3600))]
    }

    @Test("an import line dated more than 5 minutes after now is refused with exit 65 naming the line and occurredAt")
    func futureFactRefused() throws {
        try withWorkspace { (workspace) throws in
            try Self.baseLedger(workspace)
            let before = try snapshot(workspace.db)
            for moment in Self.futureMoments() {
                let file = try workspace.write("future.jsonl", [
                    Self.interaction("C100", at: "2026-03-02T10:00:00Z"),
                    Self.interaction("C100", at: moment),
                ].joined(separator: "\n") + "\n")
                let result = runCLI(["import", "--db", workspace.db, file])
                #expect(result.status == 65, "occurredAt \(moment): exit \(result.status) \(result.stdout)")
                #expect(result.stderr.contains("line 2") && result.stderr.contains("occurredAt"), "occurredAt \(moment): \(result.stderr)")
                #expect(try snapshot(workspace.db) == before, "occurredAt \(moment): something was written")
            }
        }
    }

    @Test("points expire and tiers evaluate --as-of 2099-01-01 are refused and write nothing", arguments: [
        ["points", "expire"], ["tiers", "evaluate"],
    ])
    func futureJobRefused(_ job: [String]) throws {
        try withWorkspace { (workspace) throws in
            try Self.baseLedger(workspace)
            let before = try snapshot(workspace.db)
            let result = runCLI(job + ["--db", workspace.db, "--as-of", "2099-01-01"])
            #expect(result.status == 65 || result.status == 64, "exit \(result.status): \(result.stdout)")
            let written = try eventCount(workspace.db) - before.count
            #expect(try snapshot(workspace.db) == before, "\(written) events were written")
        }
    }

    // MARK: - 6. Ids

    @Test("a line without eventId re-sent with other spacing and key order is not stored twice")
    func reformattedLineNotStoredTwice() throws {
        try withWorkspace { (workspace) throws in
            try Self.ledger(workspace, [
                #"{"type":"ClientRegistered","clientId":"C1","occurredAt":"2025-01-01T09:00:00Z","data":{"name":"N","segment":"retail","investorType":"ordinary","branch":"B"}}"#,
                #"{"type":"InteractionLogged","clientId":"C1","occurredAt":"2025-01-02T09:00:00Z","data":{"channel":"app","kind":"visit"}}"#,
            ])
            let before = try snapshot(workspace.db)
            let reformatted = try workspace.write("reformatted.jsonl", [
                #"{ "clientId" : "C1", "type" : "ClientRegistered", "occurredAt" : "2025-01-01T09:00:00Z", "data" : { "segment" : "retail", "name" : "N", "investorType" : "ordinary", "branch" : "B" } }"#,
                #"{"occurredAt":"2025-01-02T09:00:00Z",   "type":"InteractionLogged","clientId":"C1","data":{"kind":"visit","channel":"app"}}"#,
            ].joined(separator: "\n") + "\n")
            let again = runCLI(["import", "--db", workspace.db, "--format", "json", reformatted])
            #expect(again.status == 0, "exit \(again.status): \(again.stderr)")
            if again.status == 0 {
                let report = try Self.object(again.stdout)
                #expect(report["factsWritten"] as? Int == 0, "\(again.stdout)")
                #expect(report["alreadyStored"] as? Int == 2, "\(again.stdout)")
            }
            #expect(try snapshot(workspace.db) == before)
        }
    }

    @Test("a fact carrying the id the ledger derives for a decision does not suppress that decision nor end in exit 70")
    func factWithDecisionIdDoesNotBlockDecision() throws {
        let registration = #"{"eventId":"11111111-2222-4333-8444-555555555555","type":"ClientRegistered","clientId":"C1","occurredAt":"2025-01-01T09:00:00Z","data":{"name":"N","segment":"retail","investorType":"ordinary","branch":"B"}}"#
        let tradeId = "21111111-2222-4333-8444-555555555555"
        let trade = #"{"eventId":"\#(tradeId)","type":"TradeExecuted","clientId":"C1","occurredAt":"2025-02-01T09:00:00Z","data":{"orderId":"O1","productId":"EQ-1","notional":10000.00}}"#
        // The id the ledger gives the trade's PointsAwarded (EventID.derived of the cause).
        var awardId = ""
        try withWorkspace { (workspace) throws in
            try Self.ledger(workspace, [registration, trade])
            let awards = runCLI(["events", "--db", workspace.db, "--type", "PointsAwarded", "--format", "json"])
            let rows = try Self.array(awards.stdout)
            try #require(rows.count == 1, "\(awards.stdout)")
            awardId = try #require(rows[0]["eventId"] as? String)
        }
        try withWorkspace { (workspace) throws in
            try Self.ledger(workspace, [registration, Self.interaction("C1", at: "2025-01-15T09:00:00Z", id: awardId)])
            let file = try workspace.write("trade.jsonl", trade + "\n")
            let result = runCLI(["import", "--db", workspace.db, file])
            #expect(result.status != 70, "exit 70: \(result.stderr.prefix(300))")
            #expect(result.status == 0, "exit \(result.status): \(result.stderr.prefix(300))")
            #expect(!result.stderr.contains("SQLite error"), "\(result.stderr.prefix(300))")
            let awards = try eventCount(
                workspace.db, where: "type = 'PointsAwarded' AND json_extract(metadata, '$.causationId') = ?", [tradeId])
            #expect(awards == 1, "the trade's PointsAwarded was not written")
        }
    }

    // MARK: - 7. Tampered or newer ledgers

    enum Tamper: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case droppedTrigger = "append-only trigger dropped"
        case newerSchema = "schema newer than the program"
        var testDescription: String { rawValue }

        func apply(to db: String) throws {
            let connection = try Connection(path: db, mode: .readWrite)
            switch self {
            case .droppedTrigger:
                try connection.execute("DROP TRIGGER log_append_only_update")
            case .newerSchema:
                try connection.execute(
                    "INSERT INTO schema_migrations(name, applied_at) VALUES ('9999_future', '2026-11-30T00:00:00.000Z')")
            }
        }
    }

    @Test("a write command on a ledger with a dropped trigger or a newer schema is refused clearly and writes nothing; init does not say ready",
          arguments: Tamper.allCases)
    func tamperedLedgerRefusesWrites(_ tamper: Tamper) throws {
        try withWorkspace { (workspace) throws in
            try Self.baseLedger(workspace)
            try tamper.apply(to: workspace.db)
            let before = try snapshot(workspace.db)
            let input = try workspace.write("one.jsonl", Self.interaction("C100", at: "2026-03-02T10:00:00Z") + "\n")
            let writes: [[String]] = [
                ["append", Self.interaction("C100", at: "2026-03-03T10:00:00Z")], ["import", input],
                ["points", "expire", "--as-of", "2026-11-30"],
            ]
            for command in writes {
                let result = runCLI(command + ["--db", workspace.db])
                let label = "\(command[0]) on a ledger with \(tamper.rawValue)"
                #expect(result.status != 0 && result.status != 70 && result.status < 128, "\(label): exit \(result.status) \(result.stdout)")
                switch tamper {
                case .droppedTrigger:
                    #expect(result.stderr.contains("log_append_only_update") || result.stderr.contains("append-only"),
                            "\(label): the message should name the trigger: \(result.stderr)")
                case .newerSchema:
                    #expect(result.status == 65 || result.status == 66, "\(label): exit \(result.status)")
                    #expect(result.stderr.contains("schema") || result.stderr.contains("9999_future") || result.stderr.contains("newer"),
                            "\(label): the message should say the schema is newer: \(result.stderr)")
                }
                #expect(try snapshot(workspace.db) == before, "\(label): the log changed")
            }
            let initialized = runCLI(["init", "--db", workspace.db])
            #expect(!initialized.stdout.contains("ready"), "init on a ledger with \(tamper.rawValue) says: \(initialized.stdout)")
            #expect(try snapshot(workspace.db) == before)
        }
    }
}
