import Foundation
import Testing

import LedgerTestSupport
import LedgerSQLite

#if canImport(Glibc)
import Glibc
#endif

/// Output that cannot be written, files written safely, and inputs that are not plain
/// files, through the real executable. (The TrustDefect suite checks the exit codes; these
/// check what is left on disk and what the person is told.)
@Suite("Output and input files: exit 74, no partial file, 0600, FIFOs and pipes")
struct OutputTests {
    static func shell(_ script: String) throws -> (status: Int32, stdout: String, stderr: String) {
        try runTool("sh", ["-c", script])
    }

    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    static func executable() throws -> String {
        try #require(CLI.executable, "\(CLI.missingMessage)").path
    }

    /// Files in a folder, sorted.
    static func files(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
    }

    @Test("a failed --output leaves an existing file as it was and no temporary file behind")
    func failedOutputKeepsOldFile() throws {
        try withWorkspace { (workspace) throws in
            let folder = workspace.path("out")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            let target = folder + "/facts.jsonl"
            try Data("old content\n".utf8).write(to: URL(fileURLWithPath: target))
            // About 2 MB of seed data under a 128–256 KiB file-size limit.
            let result = try Self.shell(
                "trap '' XFSZ; ulimit -f 256; exec \(Self.quoted(try Self.executable())) seed --clients 20 --events 20000 --output \(Self.quoted(target))")
            #expect(result.status == 74, "exit \(result.status) \(result.stderr)")
            #expect(result.stderr.contains(target) && result.stderr.contains("no partial file"), "\(result.stderr)")
            #expect(try String(contentsOfFile: target, encoding: .utf8) == "old content\n", "the old file was changed")
            let left = try Self.files(in: folder)
            #expect(left == ["facts.jsonl"], "left behind: \(left)")
        }
    }

    @Test("a file-size limit without SIGXFSZ ignored by the shell still exits 74 (the program ignores the signal)")
    func fileSizeLimitWithoutTrap() throws {
        try withWorkspace { (workspace) throws in
            let target = workspace.path("facts.jsonl")
            let result = try Self.shell(
                "ulimit -f 256; exec \(Self.quoted(try Self.executable())) seed --clients 20 --events 20000 --output \(Self.quoted(target))")
            #expect(result.status == 74, "exit \(result.status) (153 is death by SIGXFSZ) \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: target))
        }
    }

    @Test("a successful --output replaces the file whole, mode 0600, and leaves no temporary file", arguments: [
        ["seed", "--clients", "2", "--events", "20", "--output", "OUT"], ["audit", "export", "C100", "--db", "DB", "--output", "OUT"],
    ])
    func successfulOutputReplacesFile(_ command: [String]) throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let folder = workspace.path("out")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            let target = folder + "/file.jsonl"
            try Data("old\n".utf8).write(to: URL(fileURLWithPath: target))
            chmod(target, 0o644)
            let result = runCLI(command.map { $0 == "OUT" ? target : $0 == "DB" ? workspace.db : $0 })
            #expect(result.status == 0, "\(result.stderr)")
            let written = try String(contentsOfFile: target, encoding: .utf8)
            #expect(!written.contains("old") && written.hasSuffix("\n") && written.count > 100, "\(written.prefix(200))")
            #expect(try permissions(target) == 0o600)
            #expect(try Self.files(in: folder) == ["file.jsonl"])
        }
    }

    @Test("--output in a missing folder names the folder; --output to a folder says so", arguments: ["missing", "folder"])
    func unusableOutputPathMessages(_ kind: String) throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let target = kind == "missing" ? workspace.path("no-such-folder/x.jsonl") : workspace.directory.path
            let result = runCLI(["audit", "export", "C100", "--db", workspace.db, "--output", target])
            #expect(result.status == 74, "exit \(result.status) \(result.stderr)")
            #expect(!result.stderr.contains("no such file"), "\(result.stderr)")
            #expect(result.stderr.contains(kind == "missing" ? "no-such-folder" : "folder"), "\(result.stderr)")
        }
    }

    @Test("--output /dev/stdout writes to standard output in place")
    func outputToDevStdout() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let result = runCLI(["audit", "export", "C100", "--db", workspace.db, "--output", "/dev/stdout"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.hasPrefix("{\"kind\":\"header\",\"format\":\"clientledger-export/1\",\"client\":\"C100\""), "\(result.stdout.prefix(200))")
        }
    }

    @Test("a closed pipe on standard output exits 74 with one message, not a silent SIGPIPE", arguments: [
        ["seed", "--clients", "20", "--events", "20000"], ["events", "--db", "DB", "--format", "json"], ["audit", "export", "C1", "--db", "DB"],
    ])
    func closedPipeExits74(_ command: [String]) throws {
        try withWorkspace { (workspace) throws in
            try TrustDefectTests.bigLedger(workspace, count: 3000)
            let status = workspace.path("status")
            let args = ([try Self.executable()] + command.map { $0 == "DB" ? workspace.db : $0 }).map(Self.quoted).joined(separator: " ")
            // The reader exits at once; the writer's status is kept in a file.
            let result = try Self.shell("{ \(args); echo $? > \(Self.quoted(status)); } | true")
            let code = try String(contentsOfFile: status, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(code == "74", "\(command[0]): exit \(code) \(result.stderr.prefix(300))")
            #expect(result.stderr.components(separatedBy: "cannot write standard output").count == 2, "\(result.stderr.prefix(500))")
            #expect(result.stderr.contains("pipe"), "\(result.stderr.prefix(300))")
        }
    }

    @Test("a closed standard error does not crash the program: the exit code still says what happened")
    func closedStandardError() throws {
        let result = try Self.shell("\(Self.quoted(try Self.executable())) history C1 --db /nonexistent/ledger.db 2>&-")
        #expect(result.status == 66, "exit \(result.status)")
    }

    @Test("import - reads standard input; import of a folder exits 66 saying it is a folder; append - reads standard input")
    func importInputs() throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            let line = TrustDefectTests.register("C1", at: "2024-01-01T09:00:00Z")
            let viaStdin = runCLI(["import", "-", "--db", workspace.db], stdin: Data((line + "\n").utf8))
            #expect(viaStdin.status == 0, "\(viaStdin.stderr)")
            let folder = runCLI(["import", workspace.directory.path, "--db", workspace.db])
            #expect(folder.status == 66, "exit \(folder.status) \(folder.stderr)")
            #expect(folder.stderr.contains("folder"), "\(folder.stderr)")
            let missing = runCLI(["import", workspace.path("nope.jsonl"), "--db", workspace.db])
            #expect(missing.status == 66 && missing.stderr.contains("no such file"), "\(missing.stderr)")
            let appended = runCLI(["append", "-", "--db", workspace.db], stdin: Data(TrustDefectTests.interaction("C1", at: "2024-01-02T09:00:00Z").utf8))
            #expect(appended.status == 0, "\(appended.stderr)")
            #expect(try eventCount(workspace.db) == 2)
        }
    }
}
