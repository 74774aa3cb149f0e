import Foundation
import Testing

import LedgerTestSupport

/// The command line's own rules, through the real executable: a global --db, options that
/// take numbers, names in the wrong case.
@Suite("Command line: global --db, negative numbers, suggestions")
struct CommandLineTests {
    // MARK: - --db before the subcommand

    @Test("--db=PATH before the subcommand works, also for a nested subcommand")
    func dbEqualsBeforeSubcommand() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let result = runCLI(["--db=\(workspace.db)", "client", "show", "C100"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("C100"))
        }
    }

    @Test("--db both before and after the subcommand is refused with exit 64")
    func dbTwice() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let result = runCLI(["--db", workspace.db, "history", "C100", "--db", workspace.path("other.db")])
            #expect(result.status == 64, "exit \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("--db"), "\(result.stderr)")
        }
    }

    @Test("a value that looks like an option after -- is left alone: --db before the subcommand goes before the --")
    func dbBeforeDoubleDash() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let result = runCLI(["--db", workspace.db, "history", "--", "C100"])
            #expect(result.status == 0, "\(result.stderr)")
        }
    }

    // MARK: - Numbers and names

    @Test("negative numbers reach the option's own check (exit 64 naming the option), not 'Missing value'", arguments: [
        ["seed", "--clients", "-1"], ["seed", "--days", "-5"], ["events", "--from", "-1"],
        ["append", "{}", "--expected-version", "-1"], ["projections", "diff", "--rules", "x.yaml", "--limit", "-2"],
    ])
    func negativeNumbers(_ command: [String]) throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            let result = runCLI(command + (command[0] == "seed" ? [] : ["--db", workspace.db]))
            let option = command[command.count - 2]
            #expect(result.status == 64, "\(option): exit \(result.status)")
            #expect(!result.stderr.contains("Missing value") && result.stderr.contains(option), "\(option): \(result.stderr.prefix(200))")
        }
    }

    @Test("--seed takes 0 and large values; a word is refused naming --seed")
    func seedValues() throws {
        #expect(runCLI(["seed", "--clients", "1", "--events", "3", "--seed", "0"]).status == 0)
        #expect(runCLI(["seed", "--clients", "1", "--events", "3", "--seed", "18446744073709551615"]).status == 0)
        let word = runCLI(["seed", "--clients", "1", "--events", "3", "--seed", "many"])
        #expect(word.status == 64 && word.stderr.contains("--seed"), "\(word.stderr)")
    }

    @Test("--type in the wrong case suggests the event type")
    func typeSuggestion() throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            let result = runCLI(["events", "--db", workspace.db, "--type", "tierchanged"])
            #expect(result.status == 64)
            #expect(result.stderr.contains("TierChanged"), "\(result.stderr)")
        }
    }
}
