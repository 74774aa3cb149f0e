import Foundation
import Testing

import LedgerTestSupport

/// `clientledger campaign …` through the real executable (docs/campaigns.md).
@Suite("campaign commands")
struct CampaignCommandTests {
    static let campaignYAML = """
        id: WELCOME-1
        name: Welcome bonus
        window: {from: 2025-01-01, to: 2025-12-31}
        target:
          segments: [retail, high_net_worth]
        award:
          fixed: 300
        perClientCap: 300
        budget: 2000
        holdout: 0.2
        """

    /// The database file and its WAL, byte for byte (a read-only open may create an empty
    /// WAL file where there was none: no content is written).
    static func fileBytes(_ db: String) -> [Data] {
        [db, db + "-wal"].map { FileManager.default.contents(atPath: $0) ?? Data() }
    }

    @Test("define refuses a bad file naming the field (exit 65, nothing written), records a good one once; list and show")
    func defineListShow() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let before = try snapshot(workspace.db)
            let bad = try workspace.write("bad.yaml", Self.campaignYAML.replacingOccurrences(of: "budget: 2000", with: "budget: -5"))
            let refused = runCLI(["campaign", "define", bad, "--db", workspace.db])
            #expect(refused.status == 65, "\(refused)")
            #expect(refused.stderr.contains("budget"), "\(refused.stderr)")
            #expect(try snapshot(workspace.db) == before)

            let file = try workspace.write("welcome.yaml", Self.campaignYAML)
            let defined = runCLI(["campaign", "define", file, "--format", "json", "--db", workspace.db])
            #expect(defined.status == 0, "\(defined.stderr)")
            let output = try EndToEndTests.jsonObject(defined.stdout)
            #expect(output["alreadyDefined"] as? Bool == false)
            let definition = try #require(output["definition"] as? [String: Any])
            #expect(definition["budget"] as? Int == 2000)
            #expect(definition["holdout"] as? String == "0.2")
            let again = runCLI(["campaign", "define", file, "--db", workspace.db])
            #expect(again.status == 0 && again.stdout.contains("already defined"), "\(again)")
            let changed = try workspace.write("changed.yaml", Self.campaignYAML.replacingOccurrences(of: "fixed: 300", with: "fixed: 200"))
            #expect(runCLI(["campaign", "define", changed, "--db", workspace.db]).status == 65)

            let list = runCLI(["campaign", "list", "--format", "json", "--db", workspace.db])
            let rows = try EndToEndTests.jsonArray(list.stdout)
            #expect(rows.count == 1)
            #expect(rows.first?["state"] as? String == "defined")
            #expect(rows.first?["budgetLeft"] as? Int == 2000)
            #expect(rows.first?["launchedAt"] is NSNull)
            let show = runCLI(["campaign", "show", "WELCOME-1", "--format", "json", "--db", workspace.db])
            #expect(show.status == 0, "\(show.stderr)")
            let shown = try EndToEndTests.jsonObject(show.stdout)
            #expect((shown["definition"] as? [String: Any])?["id"] as? String == "WELCOME-1")
            let text = runCLI(["campaign", "show", "WELCOME-1", "--db", workspace.db])
            #expect(text.stdout.contains("budget: 2000 points, used 0, left 2000"), "\(text.stdout)")
            let missing = runCLI(["campaign", "show", "NOPE", "--db", workspace.db])
            #expect(missing.status == 65 && missing.stderr.contains("NOPE"), "\(missing)")
            let none = runCLI(["campaign", "list", "--format", "json", "--db", workspace.db + ".none"])
            #expect(none.status == 66)
        }
    }

    @Test("simulate writes nothing (the file is byte-identical) and projects what the launch then awards; report and close")
    func simulateLaunchReport() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let file = try workspace.write("welcome.yaml", Self.campaignYAML)
            // A file can be simulated before it is defined.
            let fromFile = runCLI(["campaign", "simulate", file, "--format", "json", "--db", workspace.db])
            #expect(fromFile.status == 0, "\(fromFile.stderr)")
            #expect(runCLI(["campaign", "define", file, "--db", workspace.db]).status == 0)

            let bytes = Self.fileBytes(workspace.db)
            let simulated = runCLI(["campaign", "simulate", "WELCOME-1", "--format", "json", "--db", workspace.db])
            #expect(simulated.status == 0, "\(simulated.stderr)")
            #expect(Self.fileBytes(workspace.db) == bytes, "simulate changed the database file")
            let simulation = try EndToEndTests.jsonObject(simulated.stdout)
            let projected = try #require(simulation["projectedPoints"] as? Int)
            #expect(projected > 0 && projected <= 2000)
            let text = runCLI(["campaign", "simulate", "WELCOME-1", "--db", workspace.db])
            #expect(text.stdout.contains("nothing written") && text.stdout.contains("by tier"), "\(text.stdout)")

            let launched = runCLI(["campaign", "launch", "WELCOME-1", "--format", "json", "--db", workspace.db])
            #expect(launched.status == 0, "\(launched.stderr)")
            let launch = try EndToEndTests.jsonObject(launched.stdout)
            #expect(launch["points"] as? Int == projected)
            #expect(launch["treatment"] as? Int == simulation["treatment"] as? Int)
            #expect(launch["holdout"] as? Int == simulation["holdout"] as? Int)
            #expect(try eventCount(workspace.db, where: "type = 'CampaignEnrolled'") == Int64(launch["enrolled"] as? Int ?? -1))

            let after = try snapshot(workspace.db)
            let again = runCLI(["campaign", "launch", "WELCOME-1", "--format", "json", "--db", workspace.db])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(try EndToEndTests.jsonObject(again.stdout)["alreadyLaunched"] as? Bool == true)
            #expect(try snapshot(workspace.db) == after)

            let reported = runCLI(["campaign", "report", "WELCOME-1", "--format", "json", "--db", workspace.db])
            #expect(reported.status == 0, "\(reported.stderr)")
            let report = try EndToEndTests.jsonObject(reported.stdout)
            #expect(report["points"] as? Int == projected)
            #expect(report["budgetLeft"] as? Int == 2000 - projected)
            #expect((report["treatment"] as? [String: Any])?["clients"] as? Int == launch["treatment"] as? Int)
            #expect((report["holdout"] as? [String: Any])?["clients"] as? Int == launch["holdout"] as? Int)
            #expect(report["uplift"] is [String: Any])

            let closed = runCLI(["campaign", "close", "WELCOME-1", "--reason", "done", "--format", "json", "--db", workspace.db])
            #expect(closed.status == 0, "\(closed.stderr)")
            #expect(try EndToEndTests.jsonObject(closed.stdout)["state"] as? String == "closed")
            let relaunch = runCLI(["campaign", "launch", "WELCOME-1", "--db", workspace.db])
            #expect(relaunch.status == 0 && relaunch.stdout.contains("already launched"), "\(relaunch)")
        }
    }

    @Test("a churnRisk target enrols exactly the clients of that band")
    func churnBand() throws {
        try withWorkspace { (workspace) throws in
            try InsightCommandTests.builtLedger(workspace)
            let all = runCLI(["insight", "churn", "--as-of", "2025-09-01", "--format", "json", "--db", workspace.db])
            let band = try #require(try EndToEndTests.jsonArray(all.stdout).first?["band"] as? String)
            let churn = runCLI(["insight", "churn", "--as-of", "2025-09-01", "--band", band, "--format", "json", "--db", workspace.db])
            #expect(churn.status == 0, "\(churn.stderr)")
            let high = try EndToEndTests.jsonArray(churn.stdout).count
            let yaml = Self.campaignYAML.replacingOccurrences(of: "  segments: [retail, high_net_worth]", with: "  churnRisk: [\(band)]")
                .replacingOccurrences(of: "holdout: 0.2", with: "holdout: 0")
            let file = try workspace.write("retention.yaml", yaml)
            let simulated = runCLI(["campaign", "simulate", file, "--as-of", "2025-09-01", "--format", "json", "--db", workspace.db])
            #expect(simulated.status == 0, "\(simulated.stderr)")
            let simulation = try EndToEndTests.jsonObject(simulated.stdout)
            #expect(simulation["audience"] as? Int == high)
            #expect(high > 0)
        }
    }
}

/// `clientledger report --html FILE`, rendered in headless Chromium.
@Suite("marketing report (HTML)")
struct MarketingReportTests {
    static func chromium() -> String? {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return nil
    }

    @Test("report --html writes one self-contained page that renders in headless Chromium without a script error")
    func htmlReport() throws {
        try withWorkspace { (workspace) throws in
            try InsightCommandTests.builtLedger(workspace)
            let file = try workspace.write("welcome.yaml", CampaignCommandTests.campaignYAML)
            #expect(runCLI(["campaign", "define", file, "--db", workspace.db]).status == 0)
            #expect(runCLI(["campaign", "launch", "WELCOME-1", "--db", workspace.db]).status == 0)
            let page = workspace.path("report.html")
            let written = runCLI(["report", "--html", page, "--as-of", "2025-09-01", "--db", workspace.db])
            #expect(written.status == 0, "\(written.stderr)")
            #expect(try permissions(page) == 0o600)
            let html = try String(contentsOfFile: page, encoding: .utf8)
            for section in ["id=\"tier-mix\"", "id=\"cohort-heatmap\"", "id=\"lifecycle-stages\"", "id=\"campaign-cost\"", "id=\"churn-risk\"",
                            "Service quality by channel", "WELCOME-1"] {
                #expect(html.contains(section), "the page lacks \(section)")
            }
            // Self-contained: nothing is fetched.
            for reference in ["src=", "href=", "<link", "@import", "url("] {
                #expect(!html.contains(reference), "the page refers to something outside it: \(reference)")
            }
            #expect(!html.contains(#"<p id="report-ready""#), "the marker must come from the script, not from the page as written")

            guard let browser = Self.chromium() else {
                print("note: chromium is not installed (.ci/run installs it); the page was not rendered")
                return
            }
            let profile = workspace.path("chromium-profile")
            let result = try runTool("/usr/bin/timeout", [
                "90", browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile)",
                "--dump-dom", URL(fileURLWithPath: page).absoluteString,
            ])
            #expect(result.status == 0, "chromium: \(result.stderr.suffix(500))")
            let dom = result.stdout
            // The script ran to its end: it adds the marker last, after labelling every mark.
            #expect(dom.contains(#"<p id="report-ready" data-charts="5""#), "no marker in the rendered page: \(dom.suffix(400))")
            #expect(dom.contains("<title>cohort "), "hover labels were not added")
            #expect(dom.contains("Marketing report as of 2025-09-01"))
        }
    }
}

@Suite("rules simulate")
struct RulesSimulateCommandTests {
    @Test("rules simulate with the shipped rules reproduces the recorded awards, writes nothing; another file shows the difference")
    func backtest() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let shown = runCLI(["rules", "show"])
            let yaml = shown.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().joined(separator: "\n")
            let same = try workspace.write("same.yaml", yaml)
            let before = try snapshot(workspace.db)
            let result = runCLI(["rules", "simulate", same, "--format", "json", "--db", workspace.db])
            #expect(result.status == 0, "\(result.stderr)")
            let json = try EndToEndTests.jsonObject(result.stdout)
            #expect(json["reproducesRecord"] as? Bool == true, "\(json["firstDifference"] ?? "")")
            #expect(json["pointsDifference"] as? Int == 0)
            #expect((json["recordedPoints"] as? Int ?? 0) > 0)
            #expect(try snapshot(workspace.db) == before)
            let richer = try workspace.write("richer.yaml", yaml.replacingOccurrences(of: "    points: 1            #", with: "    points: 2            #"))
            let other = runCLI(["rules", "simulate", richer, "--from", "2025-01-01", "--to", "2025-12-31", "--db", workspace.db])
            #expect(other.status == 0, "\(other.stderr)")
            #expect(other.stdout.contains("difference") && !other.stdout.contains("difference 0\n"), "\(other.stdout)")
            let bad = runCLI(["rules", "simulate", same, "--from", "2025-12-31", "--to", "2025-01-01", "--db", workspace.db])
            #expect(bad.status == 64)
        }
    }
}
