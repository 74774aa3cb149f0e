import Foundation
import LedgerApplication
import LedgerCore
import LedgerStorage
import LedgerTestSupport
import Testing

/// The real `clientledger-server` process on 127.0.0.1, started like a daemon and stopped
/// with SIGTERM.
final class LiveServer: @unchecked Sendable {
    let workspace: Workspace
    let process = Process()
    let port: Int
    var token: [AccessRole: String] = [:]
    let logURL: URL

    static var serverExecutable: URL? {
        CLI.executable?.deletingLastPathComponent().appendingPathComponent("clientledger-server")
    }

    /// Starts `program` (the server, or `clientledger serve`) on a free port of 127.0.0.1.
    init(throughCLI: Bool = false) throws {
        workspace = try Workspace("LiveServer")
        _ = try LedgerStores.create(workspace.db)
        let store = try AccessTokens.store(workspace.db, readOnly: false)
        for role in [AccessRole.ingest, .read, .admin] {
            token[role] = try AccessTokens.create(in: store, role: role, label: nil, at: .now()).secret
        }
        port = Int.random(in: 20_000...60_000)
        guard let server = Self.serverExecutable, let cli = CLI.executable else { throw CocoaError(.fileNoSuchFile) }
        process.executableURL = throughCLI ? cli : server
        process.arguments = (throughCLI ? ["serve"] : []) + ["--db", workspace.db, "--listen", "127.0.0.1:\(port)", "--log-level", "warning"]
        logURL = workspace.directory.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.standardError = log
        process.standardOutput = log
        try process.run()
    }

    /// Waits until `/health` answers (at most 10 s).
    func waitUntilLive() throws {
        for _ in 0..<400 {
            if let (_, status) = try? request("GET", "/health"), status == 200 { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Issue.record("the server did not start: \(log())")
    }

    func log() -> String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// One HTTP/1.1 request on its own connection (`Connection: close`), blocking: the
    /// status and the body. Throws when the server cannot be reached.
    func request(_ method: String, _ path: String, role: AccessRole? = nil, body: String? = nil) throws -> (String, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        let payload = Array((body ?? "").utf8)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(payload.count)\r\n"
        if let role, let token = token[role] { head += "Authorization: Bearer \(token)\r\n" }
        let bytes = Array((head + "\r\n").utf8) + payload
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw POSIXError(.EPIPE) }
            sent += n
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        let text = String(decoding: received, as: UTF8.self)
        let parts = text.components(separatedBy: " ")
        guard parts.count > 1, let status = Int(parts[1]) else { throw POSIXError(.EPROTO) }
        let bodyText = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (bodyText, status)
    }

    /// Sends SIGTERM and waits for the process to end (at most 20 s).
    func terminate() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            Issue.record("the server did not stop within 20 s of SIGTERM")
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        workspace.remove()
    }
}

/// A value shared by threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.lock(); defer { lock.unlock() }; return stored }
    func mutate(_ body: (inout Value) -> Void) { lock.lock(); body(&stored); lock.unlock() }
}

@Suite("Live server on 127.0.0.1", .serialized)
struct LiveServerTests {
    @Test("8 concurrent writers lose nothing; the chain verifies")
    func concurrentWriters() throws {
        let server = try LiveServer()
        try server.waitUntilLive()
        let results = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { writer in
            for index in 0..<25 {
                let id = "w\(writer)-\(index)"
                let status = (try? server.request("POST", "/events", role: .ingest, body: Lines.register("W\(writer)x\(index)", id: id)))?.1
                #expect(status == 201)
                if status == 201 { results.mutate { $0.append(Lines.id(id)) } }
            }
        }
        let acknowledged = results.value
        #expect(acknowledged.count == 200)
        #expect(server.terminate() == 0)
        let store = try LedgerStores.open(server.workspace.db, readOnly: true)
        for id in acknowledged { #expect(try store.storedEvent(id: id) != nil, "\(id) was acknowledged") }
        // The 200 registrations, and the RulesAdopted with which the first write put the
        // rules in force into the log.
        let rulesEvents = try store.events(EventQuery(stream: "ledger/rules")).count
        #expect(rulesEvents == 1)
        #expect(try store.head().position == 200 + Int64(rulesEvents))
        #expect(try store.verifyChain().isIntact)
    }

    @Test("SIGTERM during a load loses no acknowledged event, and the chain verifies")
    func sigtermDuringLoad() throws {
        let server = try LiveServer()
        try server.waitUntilLive()
        let results = Locked<[String]>([])
        let load = Thread {
            DispatchQueue.concurrentPerform(iterations: 6) { writer in
                for index in 0..<2_000 {
                    let id = "t\(writer)-\(index)"
                    guard let (_, status) = try? server.request("POST", "/events", role: .ingest, body: Lines.register("T\(writer)x\(index)", id: id)),
                          status == 201 || status == 200 else { break }
                    results.mutate { $0.append(Lines.id(id)) }
                }
            }
            results.mutate { _ in }
        }
        load.start()
        Thread.sleep(forTimeInterval: 0.7)
        let status = server.terminate()
        // The writers stop at their first refused or failed request.
        while load.isExecuting { Thread.sleep(forTimeInterval: 0.02) }
        Thread.sleep(forTimeInterval: 0.1)
        let acknowledged = results.value
        #expect(status == 0, "the server exits 0 after a graceful stop: \(server.log())")
        #expect(acknowledged.count > 0)
        let store = try LedgerStores.open(server.workspace.db, readOnly: true)
        var missing = 0
        for id in acknowledged where try store.storedEvent(id: id) == nil { missing += 1 }
        #expect(missing == 0, "\(missing) of \(acknowledged.count) acknowledged events are not in the log")
        #expect(try store.verifyChain().isIntact)
    }

    @Test("`clientledger serve` runs the server program and stops on SIGTERM")
    func serveThroughCLI() throws {
        let server = try LiveServer(throughCLI: true)
        try server.waitUntilLive()
        let (text, status) = try server.request("GET", "/ready")
        #expect(status == 200)
        #expect(text.contains("ready"))
        let (_, refused) = try server.request("GET", "/clients/C1")
        #expect(refused == 401)
        #expect(server.terminate() == 0)
    }
}

@Suite("tokens commands")
struct TokenCommandTests {
    @Test("tokens create / list / revoke; only the hash is stored")
    func tokens() throws {
        try withWorkspace { workspace in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            let created = runCLI(["tokens", "create", "--role", "ingest", "--label", "oms", "--format", "json", "--db", workspace.db])
            #expect(created.status == 0)
            let json = try JSONParser.parse(created.stdout)
            let secret = json["token"]?.string ?? ""
            let id = json["id"]?.string ?? ""
            #expect(secret.hasPrefix("clt_"))
            let file = try Data(contentsOf: URL(fileURLWithPath: workspace.db))
            #expect(file.range(of: Data(secret.utf8)) == nil, "the token's text is not in the database")
            let list = runCLI(["tokens", "list", "--format", "json", "--db", workspace.db])
            #expect(list.status == 0)
            #expect(!list.stdout.contains(secret))
            let listed = try JSONParser.parse(list.stdout)
            #expect(listed[0]?["id"]?.string == id)
            #expect(listed[0]?["role"]?.string == "ingest")
            #expect(listed[0]?["revokedAt"] == .null)
            #expect(runCLI(["tokens", "revoke", id, "--db", workspace.db]).status == 0)
            let again = runCLI(["tokens", "revoke", id, "--db", workspace.db])
            #expect(again.status == 65)
            #expect(again.stderr.contains("already revoked"))
            let after = try JSONParser.parse(runCLI(["tokens", "list", "--format", "json", "--db", workspace.db]).stdout)
            #expect(after[0]?["revokedAt"]?.string != nil)
            let badRole = runCLI(["tokens", "create", "--role", "root", "--db", workspace.db])
            #expect(badRole.status == 64)
            #expect(badRole.stderr.contains("unknown role"))
        }
    }
}
