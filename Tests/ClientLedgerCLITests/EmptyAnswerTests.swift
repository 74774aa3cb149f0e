import Foundation
import Testing

import LedgerTestSupport

/// An empty answer is not an error; a client id that does not exist is (docs/cli.md, Output).
@Suite("Empty answers exit 0; unknown clients exit 65")
struct EmptyAnswerTests {
    // MARK: - Empty answers

    @Test("filters that match nothing exit 0 with an empty table or []", arguments: [
        ["membership", "--tier", "Diamond"], ["eligibility", "--product", "OPT-05", "--eligible-only"],
        ["events", "--client", "C999"], ["events", "--from", "1000"], ["history", "C100", "--known-at", "2020-01-01"],
    ])
    func emptyAnswers(_ command: [String]) throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            #expect(runCLI(["projections", "rebuild", "--db", workspace.db]).status == 0)
            let text = runCLI(command + ["--db", workspace.db])
            #expect(text.status == 0, "\(command): exit \(text.status) \(text.stderr)")
            let json = runCLI(command + ["--db", workspace.db, "--format", "json"])
            #expect(json.status == 0, "\(command): exit \(json.status) \(json.stderr)")
            #expect((try? parseJSON(json.stdout) as? [Any])?.isEmpty == true, "\(command): \(json.stdout)")
        }
    }

    @Test("a client id the ledger has never seen exits 65 naming it", arguments: [
        ["history", "C999"], ["client", "show", "C999"], ["membership", "C999"], ["eligibility", "C999"], ["audit", "export", "C999"],
    ])
    func unknownClient(_ command: [String]) throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            #expect(runCLI(["projections", "rebuild", "--db", workspace.db]).status == 0)
            let result = runCLI(command + ["--db", workspace.db])
            #expect(result.status == 65, "\(command): exit \(result.status) \(result.stdout)")
            #expect(result.stderr.contains("C999"), "\(command): \(result.stderr)")
        }
    }
}
