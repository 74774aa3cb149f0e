import Foundation
import LedgerCore
import LedgerTestSupport
import Testing

/// The CLI on a PostgreSQL ledger, through `clientledger` itself (which hands a postgres:// ledger
/// to clientledger-postgres), against the same commands on a SQLite file.
@Suite("PostgreSQL: the CLI end to end, the same answers as on SQLite", .enabled(if: TestServer.isAvailable, TestServer.skipNote))
struct PostgresCLITests {
    static func seed(_ workspace: Workspace, clients: Int, events: Int, seed: Int = 7) throws -> String {
        let file = workspace.path("seed-\(seed).jsonl")
        let made = runCLI(["seed", "--clients", String(clients), "--events", String(events), "--seed", String(seed), "--output", file])
        try #require(made.status == 0, "seed: \(made.stderr)")
        return file
    }

    @Test("init, import, reads, audit and history give the same answers on PostgreSQL as on SQLite")
    func sameAnswers() throws {
        try withWorkspace { workspace in
            let postgres = try TestServer.makeDatabase()
            defer { TestServer.dropDatabase(postgres) }
            let sqlite = workspace.path("ledger.db")
            let file = try Self.seed(workspace, clients: 40, events: 1_500)
            let keys = workspace.path("pg.signing-key")
            let environment = ["CLIENTLEDGER_SIGNING_KEY": keys]
            for db in [sqlite, postgres] {
                #expect(runCLI(["init", "--db", db], environment: environment).status == 0)
                let imported = runCLI(["import", file, "--batch-size", "400", "--db", db], environment: environment)
                #expect(imported.status == 0, "\(db): \(imported.stderr)")
                #expect(runCLI(["projections", "rebuild", "--db", db], environment: environment).status == 0)
            }
            for command in [
                ["membership"], ["client", "show", "C000003"], ["eligibility", "C000004"], ["metrics", "retention"],
                ["projections", "status"], ["rules", "history"],
            ] {
                let a = runCLI(command + ["--db", sqlite])
                let b = runCLI(command + ["--db", postgres], environment: environment)
                #expect(a.status == 0 && b.status == 0, "\(command): \(a.stderr) \(b.stderr)")
                // Times of recording differ between the two runs; the rest must not.
                #expect(Self.withoutMoments(a.stdout) == Self.withoutMoments(b.stdout), "\(command) differs:\n\(a.stdout)\n---\n\(b.stdout)")
            }
            let history = runCLI(["history", "C000005", "--format", "json", "--db", postgres], environment: environment)
            #expect(history.status == 0 && history.stdout.contains("PointsAwarded"), "\(history.stderr)")
            let audit = runCLI(["audit", "verify", "--db", postgres], environment: environment)
            #expect(audit.status == 0 && audit.stdout.contains("chain intact"), "\(audit)")
            let export = runCLI(["audit", "export", "C000005", "--output", workspace.path("c5.jsonl"), "--db", postgres], environment: environment)
            #expect(export.status == 0, "\(export.stderr)")
            let checked = runCLI(["audit", "verify-export", workspace.path("c5.jsonl")])
            #expect(checked.status == 0, "verify-export: \(checked)")
        }
    }

    static func withoutMoments(_ text: String) -> String {
        text.replacingOccurrences(of: #"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"#, with: "<t>", options: .regularExpression)
    }

    @Test("bad input on PostgreSQL: exit 65 naming the line and field, the log exactly as it was")
    func badInputLeavesTheLog() throws {
        try withWorkspace { workspace in
            let postgres = try TestServer.makeDatabase()
            defer { TestServer.dropDatabase(postgres) }
            let environment = ["CLIENTLEDGER_SIGNING_KEY": workspace.path("k")]
            #expect(runCLI(["init", "--db", postgres], environment: environment).status == 0)
            let good = try Self.seed(workspace, clients: 5, events: 100)
            #expect(runCLI(["import", good, "--db", postgres]).status == 0)
            let before = runCLI(["audit", "verify", "--db", postgres]).stdout
            let lines = try String(contentsOfFile: good, encoding: .utf8).split(separator: "\n").prefix(3)
            let bad = try workspace.write("bad.jsonl", """
                {"type":"ClientRegistered","clientId":"N1","occurredAt":"2025-01-01T00:00:00Z","data":{"name":"A","segment":"retail","investorType":"ordinary","branch":"B"}}
                {"type":"FundsDeposited","clientId":"N1","occurredAt":"2025-01-02T00:00:00Z","data":{"amount":-5.00}}

                """ + lines.joined(separator: "\n"))
            for batch in [[], ["--batch-size", "1"]] {
                let refused = runCLI(["import", bad, "--db", postgres] + batch)
                #expect(refused.status == 65, "\(refused)")
                #expect(refused.stderr.contains("line 2") && refused.stderr.contains("amount"), "\(refused.stderr)")
                #expect(runCLI(["audit", "verify", "--db", postgres]).stdout == before, "the log changed")
            }
        }
    }

    @Test("copy SQLite → PostgreSQL → SQLite keeps the chain head, the checkpoint and the projections; a foreign target is refused")
    func copyRoundTrip() throws {
        try withWorkspace { workspace in
            let sqlite = workspace.path("a.db")
            let back = workspace.path("b.db")
            let postgres = try TestServer.makeDatabase()
            defer { TestServer.dropDatabase(postgres) }
            let environment = ["CLIENTLEDGER_SIGNING_KEY": workspace.path("pg.signing-key")]
            #expect(runCLI(["init", "--db", sqlite]).status == 0)
            #expect(runCLI(["import", try Self.seed(workspace, clients: 30, events: 800), "--db", sqlite]).status == 0)
            #expect(runCLI(["forget", "C000002", "--reason", "request", "--override-retention", "test", "--db", sqlite]).status == 0)
            #expect(runCLI(["audit", "checkpoint", "--output", workspace.path("cp.json"), "--db", sqlite]).status == 0)
            let head = runCLI(["audit", "verify", "--db", sqlite]).stdout
            #expect(runCLI(["projections", "rebuild", "--db", sqlite]).status == 0)

            let there = runCLI(["copy", "--from", sqlite, "--to", postgres, "--batch-size", "300"], environment: environment)
            #expect(there.status == 0, "\(there)")
            #expect(there.stdout.contains("signing key: the source's"), "\(there.stdout)")
            #expect(runCLI(["audit", "verify", "--db", postgres], environment: environment).stdout == head)
            let consistent = runCLI(["audit", "verify", "--checkpoint", workspace.path("cp.json"), "--db", postgres], environment: environment)
            #expect(consistent.status == 0, "the source's checkpoint verifies on the copy: \(consistent)")
            // Names: readable where the key was copied, erased where the source erased them.
            func show(_ client: String, _ db: String) -> String { Self.withoutMoments(runCLI(["client", "show", client, "--db", db]).stdout) }
            #expect(show("C000003", postgres) == show("C000003", sqlite) && !show("C000003", postgres).contains("(erased)"))
            let erased = show("C000002", postgres)
            #expect(erased == show("C000002", sqlite) && erased.contains("(erased)"), "\(erased)")

            let again = runCLI(["copy", "--from", postgres, "--to", back], environment: environment)
            #expect(again.status == 0, "\(again)")
            #expect(runCLI(["audit", "verify", "--db", back]).stdout == head)
            #expect(runCLI(["membership", "--db", back]).stdout == runCLI(["membership", "--db", sqlite]).stdout)

            // Copying again resumes after what is there: nothing to copy, same head.
            let resumed = runCLI(["copy", "--from", sqlite, "--to", postgres], environment: environment)
            #expect(resumed.status == 0 && resumed.stdout.contains("copied 0 events"), "\(resumed)")
            // A target with another history is refused, nothing written.
            let other = workspace.path("other.db")
            #expect(runCLI(["init", "--db", other]).status == 0)
            #expect(runCLI(["import", try Self.seed(workspace, clients: 3, events: 20, seed: 99), "--db", other]).status == 0)
            let otherHead = runCLI(["audit", "verify", "--db", other]).stdout
            let refused = runCLI(["copy", "--from", postgres, "--to", other], environment: environment)
            #expect(refused.status == 65 && refused.stderr.contains("not the beginning"), "\(refused)")
            #expect(runCLI(["audit", "verify", "--db", other]).stdout == otherHead)
        }
    }
}
