import Foundation
import Testing

import LedgerTestSupport
import LedgerSQLite

#if canImport(Glibc)
import Glibc
#endif

/// Ledgers in odd states, through the real executable: projections never built or with a
/// table dropped by hand, ledgers the user can only read.
@Suite("Ledger states: unbuilt projections, dropped tables, read-only ledgers")
struct LedgerStateTests {
    // MARK: - Projections: never built, a table dropped by hand

    @Test("projections status --format json before the first rebuild prints JSON: each projection at checkpoint 0, never built")
    func statusJSONBeforeBuild() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let json = runCLI(["projections", "status", "--db", workspace.db, "--format", "json"])
            #expect(json.status == 0, "\(json.stderr)")
            let statuses = try #require(try? parseJSON(json.stdout) as? [[String: Any]], "not JSON: \(json.stdout)")
            #expect(statuses.compactMap { $0["name"] as? String } == ["eligibility", "membership", "retention"])
            #expect(statuses.allSatisfy { ($0["checkpoint"] as? Int) == 0 && ($0["stale"] as? Bool) == true })
            #expect(runCLI(["projections", "status", "--db", workspace.db, "--format", "json", "--check"]).status == 1)
            let text = runCLI(["projections", "status", "--db", workspace.db])
            #expect(text.status == 0 && text.stdout.contains("not built"), "\(text.stdout)")
        }
    }

    @Test("a projection table dropped by hand: exit 66 naming the table and the remedy; projections rebuild repairs it",
          arguments: ["membership", "eligibility", "retention_months", "projection_fold"])
    func droppedTableRepairedByRebuild(_ table: String) throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            #expect(runCLI(["projections", "rebuild", "--db", workspace.db]).status == 0)
            try Connection(path: workspace.db, mode: .readWrite).execute("DROP TABLE \(table)")
            for command: [String] in [["membership"], ["eligibility", "C100"], ["metrics", "retention"], ["projections", "status"]] {
                let result = runCLI(command + ["--db", workspace.db])
                #expect(result.status == 66, "\(command) without \(table): exit \(result.status) \(result.stderr)")
                #expect(result.stderr.contains(table) && result.stderr.contains("projections rebuild"), "\(command): \(result.stderr)")
                #expect(!result.stderr.contains("SQLite") && !result.stderr.contains("SELECT"), "\(command): \(result.stderr)")
            }
            let rebuilt = runCLI(["projections", "rebuild", "--db", workspace.db])
            #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
            let after = runCLI(["membership", "--db", workspace.db])
            #expect(after.status == 0 && after.stdout.contains("3 clients"), "\(after.stdout) \(after.stderr)")
        }
    }

    // MARK: - Read-only ledgers

    @Test("a read-only ledger in a folder whose name needs escaping in a URI (space, ?, #, %) is read")
    func readOnlyLedgerOddFolderName() throws {
        guard getuid() == 0 else { return }  // Needs chattr, as the TrustDefect read-only test.
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            try Connection(path: workspace.db, mode: .readWrite).execute("PRAGMA wal_checkpoint(TRUNCATE)")
            let folder = workspace.path("read only?#%")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            let db = folder + "/ledger.db"
            try FileManager.default.copyItem(atPath: workspace.db, toPath: db)
            let set = try? runTool("chattr", ["+i", db, folder])
            guard set?.status == 0 else { return }
            defer { _ = try? runTool("chattr", ["-i", db, folder]) }
            let result = runCLI(["history", "C100", "--db", db])
            #expect(result.status == 0, "exit \(result.status) \(result.stderr)")
            #expect(result.stdout.contains("ClientRegistered"))
        }
    }

    @Test("a read-only ledger whose -wal holds committed transactions is refused with a message saying why (exit 66)")
    func readOnlyLedgerWithUncheckpointedWAL() throws {
        guard getuid() == 0 else { return }  // Needs chattr, as the TrustDefect read-only test.
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let folder = workspace.path("readonly")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            let db = folder + "/ledger.db"
            do {
                // A committed change that stays in the -wal while this connection is open.
                let connection = try Connection(path: workspace.db, mode: .readWrite)
                try connection.execute("PRAGMA wal_autocheckpoint=0; PRAGMA user_version=7")
                try FileManager.default.copyItem(atPath: workspace.db, toPath: db)
                try FileManager.default.copyItem(atPath: workspace.db + "-wal", toPath: db + "-wal")
                withExtendedLifetime(connection) {}
            }
            var info = stat()
            try #require(stat(db + "-wal", &info) == 0 && info.st_size > 0, "the -wal copy is empty")
            let set = try? runTool("chattr", ["+i", db, db + "-wal", folder])
            guard set?.status == 0 else { return }
            defer { _ = try? runTool("chattr", ["-i", db, db + "-wal", folder]) }
            let result = runCLI(["events", "--db", db])
            #expect(result.status == 66, "exit \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("-wal") && result.stderr.contains("folder"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: db + "-shm"))
        }
    }
}
