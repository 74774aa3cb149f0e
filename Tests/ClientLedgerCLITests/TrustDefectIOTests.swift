import Foundation
import Testing

import LedgerTestSupport
@testable import LedgerCore
import LedgerSQLite
import LedgerStorage

#if canImport(Glibc)
import Glibc
#endif

/// Files, devices, permissions and odd paths (items 8–12 and 15 of the defect list).
extension TrustDefectTests {
    /// A shell prefix under which no file may grow past 128 KiB (`ulimit -f` counts 512-byte
    /// blocks in dash, 1 KiB in bash: 256 is 128–256 KiB, enough for SQLite's 32 KiB
    /// shared-memory file) and where SIGXFSZ is ignored, so a write past it fails with EFBIG:
    /// output that cannot be written, like a full disk. Used because /dev/full is not always
    /// a device (in some containers it is absent, and writing to it would create a plain file).
    static let fileSizeLimit = "trap '' XFSZ; ulimit -f 256; "

    /// Whether /dev/full is the real character device (checked without creating anything).
    static var devFullIsDevice: Bool {
        var info = stat()
        return stat("/dev/full", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR
    }

    /// One client with `count` interactions: exports and listings of it are several hundred KiB.
    static func bigLedger(_ workspace: Workspace, count: Int = 1500) throws {
        var lines = [register("C1", at: "2024-01-01T09:00:00Z")]
        for index in 0..<count {
            let moment = Timestamp(millisecondsSinceEpoch: 1_704_186_000_000 + Int64(index) * 3_600_000).iso8601
            lines.append(interaction("C1", at: moment))
        }
        try ledger(workspace, lines)
    }

    // MARK: - 8. Output that cannot be written

    struct OutputCase: Sendable, CustomTestStringConvertible {
        var name: String
        /// Arguments; OUT is replaced by the output path, DB by the ledger.
        var args: [String]
        /// True when the output goes to standard output (redirected to OUT by the shell).
        var viaStdout: Bool
        var testDescription: String { name }
    }

    static let outputCases: [OutputCase] = [
        OutputCase(name: "audit export --output", args: ["audit", "export", "C1", "--db", "DB", "--output", "OUT"], viaStdout: false),
        OutputCase(name: "seed --output", args: ["seed", "--clients", "5", "--events", "5000", "--output", "OUT"], viaStdout: false),
        OutputCase(name: "events --format json > OUT", args: ["events", "--db", "DB", "--format", "json"], viaStdout: true),
    ]

    static func script(_ item: OutputCase, executable: String, db: String, out: String) -> String {
        let args = item.args.map { $0 == "OUT" ? out : $0 == "DB" ? db : $0 }
        return "exec " + ([executable] + args).map(quoted).joined(separator: " ") + (item.viaStdout ? " > " + quoted(out) : "")
    }

    @Test("output that cannot be written (a write fails with EFBIG, as on a full disk) exits 74, not a crash", arguments: outputCases)
    func unwritableOutputExits74(_ item: OutputCase) throws {
        try withWorkspace { (workspace) throws in
            try Self.bigLedger(workspace)
            let executable = try Self.executablePath()
            let result = try Self.shell(Self.fileSizeLimit + Self.script(item, executable: executable, db: workspace.db, out: workspace.path("out.jsonl")))
            #expect(result.status == 74, "\(item.name): exit \(result.status) (132 or 4 is a crash) \(result.stderr.prefix(300))")
            #expect(!result.stderr.contains("Fatal error"), "\(item.name): \(result.stderr.prefix(300))")
        }
    }

    @Test("output to /dev/full exits 74, not a crash (only where /dev/full is the real device)", arguments: outputCases)
    func devFullExits74(_ item: OutputCase) throws {
        // Where /dev/full is missing (some containers), `--output /dev/full` would create a
        // plain file in /dev: the EFBIG test above covers the same failure there.
        guard Self.devFullIsDevice else { return }
        try withWorkspace { (workspace) throws in
            try Self.ledger(workspace, [Self.register("C1", at: "2024-01-01T09:00:00Z"), Self.interaction("C1", at: "2024-01-02T09:00:00Z")])
            let result = try Self.shell(Self.script(item, executable: try Self.executablePath(), db: workspace.db, out: "/dev/full"))
            #expect(result.status == 74, "\(item.name): exit \(result.status) \(result.stderr.prefix(300))")
        }
    }

    @Test("an export or seed to a path in a folder that does not exist exits 74 and leaves no file", arguments: [
        ["audit", "export", "C1", "--output"], ["seed", "--clients", "1", "--events", "3", "--output"],
    ])
    func outputInMissingFolder(_ command: [String]) throws {
        try withWorkspace { (workspace) throws in
            try Self.ledger(workspace, [Self.register("C1", at: "2024-01-01T09:00:00Z")])
            let target = workspace.path("missing-folder/out.jsonl")
            let result = runCLI(command + [target, "--db", workspace.db])
            #expect(result.status == 74, "\(command[0]): exit \(result.status) \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: target))
            #expect(!FileManager.default.fileExists(atPath: workspace.path("missing-folder")))
        }
    }

    // MARK: - 9. A ledger the user can only read

    @Test("read commands work on a ledger in a folder the user can only read")
    func readOnlyLedger() throws {
        try withWorkspace { (workspace) throws in
            try Self.baseLedger(workspace)
            #expect(runCLI(["projections", "rebuild", "--db", workspace.db]).status == 0)
            // Everything into the main file, so a copy of it alone is the whole ledger.
            do {
                let connection = try Connection(path: workspace.db, mode: .readWrite)
                try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            }
            let folder = workspace.path("readonly")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            let db = folder + "/ledger.db"
            try FileManager.default.copyItem(atPath: workspace.db, toPath: db)
            chmod(db, 0o444)
            chmod(folder, 0o555)
            var immutable = false
            defer {
                if immutable { _ = try? runTool("chattr", ["-i", db, folder]) }
                chmod(folder, 0o755)
                chmod(db, 0o644)
            }
            if getuid() == 0 {
                // Root ignores permission bits; the immutable attribute binds root too. Where it
                // cannot be set (tmpfs, no CAP_LINUX_IMMUTABLE) root cannot be made a reader
                // only, and this test has nothing to check.
                let set = try? runTool("chattr", ["+i", db, folder])
                guard set?.status == 0 else { return }
                immutable = true
            }
            // The setting really forbids writes (else the test could not fail).
            try #require(!FileManager.default.createFile(atPath: folder + "/probe", contents: Data()), "the folder is still writable")
            for command: [String] in [["events"], ["history", "C100"], ["client", "show", "C100"], ["membership"], ["audit", "verify"]] {
                let result = runCLI(command + ["--db", db])
                #expect(result.status == 0, "\(command.joined(separator: " ")) on a read-only ledger: exit \(result.status) \(result.stderr)")
            }
        }
    }

    // MARK: - 10. Odd --db values and a dropped projection table

    @Test("--db '' and --db 'file::memory:' give a clear message and exit 64 or 66, never 70 or SQL text", arguments: ["", "file::memory:"])
    func oddDatabasePaths(_ path: String) throws {
        try withWorkspace { (workspace) throws in
            let input = try workspace.write("one.jsonl", Self.register("C1", at: "2024-01-01T09:00:00Z") + "\n")
            for command: [String] in [["init"], ["events"], ["audit", "verify"], ["import", input], ["client", "show", "C1"]] {
                let result = runCLI(command + ["--db", path])
                let label = "\(command[0]) --db '\(path)'"
                #expect(result.status == 64 || result.status == 66, "\(label): exit \(result.status) \(result.stdout) \(result.stderr)")
                #expect(!result.stderr.contains("SQLite error") && !result.stderr.contains("PRAGMA") && !result.stderr.contains("(in: "),
                        "\(label): SQL in the message: \(result.stderr)")
            }
        }
    }

    @Test("membership with its projection table dropped by hand gives a clear message, not exit 70 with SQL text")
    func droppedProjectionTable() throws {
        try withWorkspace { (workspace) throws in
            try Self.baseLedger(workspace)
            #expect(runCLI(["projections", "rebuild", "--db", workspace.db]).status == 0)
            try Connection(path: workspace.db, mode: .readWrite).execute("DROP TABLE membership")
            for extra: [String] in [[], ["--no-catch-up"]] {
                let result = runCLI(["membership", "--db", workspace.db] + extra)
                #expect(result.status != 70 && result.status < 128, "membership \(extra): exit \(result.status) \(result.stderr)")
                #expect(!result.stderr.contains("SQLite error") && !result.stderr.contains("SELECT"), "membership \(extra): \(result.stderr)")
            }
        }
    }

    // MARK: - 11. FIFO and /dev/stdin

    @Test("import reads a FIFO and /dev/stdin (a pipe or a file)")
    func importFromFifoAndDevStdin() throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            let executable = try Self.quoted(Self.executablePath())
            let db = Self.quoted(workspace.db)
            func facts(_ client: String) throws -> String {
                try Self.quoted(workspace.write("\(client).jsonl", [
                    Self.register(client, at: "2024-01-01T09:00:00Z"), Self.interaction(client, at: "2024-01-02T09:00:00Z"),
                ].joined(separator: "\n") + "\n"))
            }
            // The writer is killed afterwards in case the import never opened the FIFO.
            let fifo = Self.quoted(workspace.path("facts.fifo"))
            let viaFifo = try Self.shell(
                "mkfifo \(fifo) && { cat \(try facts("C1")) > \(fifo) & w=$!; \(executable) import --db \(db) \(fifo); rc=$?; kill $w 2>/dev/null; wait $w 2>/dev/null; exit $rc; }")
            #expect(viaFifo.status == 0, "FIFO: exit \(viaFifo.status) \(viaFifo.stderr)")
            #expect(try eventCount(workspace.db, where: "stream = 'client/C1'") == 2)

            let viaPipe = try Self.shell("cat \(try facts("C2")) | \(executable) import --db \(db) /dev/stdin")
            #expect(viaPipe.status == 0, "/dev/stdin as a pipe: exit \(viaPipe.status) \(viaPipe.stderr)")
            #expect(try eventCount(workspace.db, where: "stream = 'client/C2'") == 2)

            let viaFile = try Self.shell("\(executable) import --db \(db) /dev/stdin < \(try facts("C3"))")
            #expect(viaFile.status == 0, "/dev/stdin as a file: exit \(viaFile.status) \(viaFile.stderr)")
            #expect(try eventCount(workspace.db, where: "stream = 'client/C3'") == 2)
        }
    }

    // MARK: - 12. init that cannot complete

    @Test("init that cannot complete leaves no half-made file, and a second init works")
    func failedInitLeavesNothing() throws {
        try withWorkspace { (workspace) throws in
            let executable = try Self.quoted(Self.executablePath())
            // A folder that does not exist.
            let missing = workspace.path("no-such-folder/ledger.db")
            let refused = runCLI(["init", "--db", missing])
            #expect(refused.status != 0)
            #expect(!FileManager.default.fileExists(atPath: workspace.path("no-such-folder")))

            // The file can be created but not grown past a few KiB (as on a full disk). Not 0
            // blocks: then even the error message (stderr is a file here) cannot be written.
            for blocks in [8] {
                let db = workspace.path("ledger-\(blocks).db")
                let result = try Self.shell("trap '' XFSZ; ulimit -f \(blocks); exec \(executable) init --db \(Self.quoted(db))")
                #expect(result.status != 0, "init reported success on a file it could not write: \(result.stdout)")
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    #expect(!FileManager.default.fileExists(atPath: db + suffix), "ulimit -f \(blocks): init left \(db + suffix) behind (exit \(result.status))")
                }
                let second = runCLI(["init", "--db", db])
                #expect(second.status == 0, "\(second.stderr)")
                #expect(second.stdout.contains("created ledger"), "the second init found a left-over file: \(second.stdout)")
                #expect(runCLI(["events", "--db", db]).status == 0)
            }
        }
    }

    // MARK: - 15. Exports and seed output are 0600 whatever the umask

    @Test("audit export and seed --output create their file with mode 0600 even under umask 000", arguments: [
        ["audit", "export", "C1", "--db", "DB", "--output", "OUT"], ["seed", "--clients", "1", "--events", "3", "--output", "OUT"],
    ])
    func outputFilesAre0600(_ command: [String]) throws {
        try withWorkspace { (workspace) throws in
            try Self.ledger(workspace, [Self.register("C1", at: "2024-01-01T09:00:00Z")])
            let out = workspace.path("out.jsonl")
            let args = command.map { $0 == "OUT" ? out : $0 == "DB" ? workspace.db : $0 }
            let result = try Self.shell("umask 000; exec " + ([try Self.executablePath()] + args).map(Self.quoted).joined(separator: " "))
            try #require(result.status == 0, "\(result.stderr)")
            let mode = try permissions(out)
            #expect(mode == 0o600, "\(command[0]) created its output with mode \(String(mode, radix: 8))")
        }
    }
}
