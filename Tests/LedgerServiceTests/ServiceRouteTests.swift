import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerApplication
import LedgerCore
import LedgerService
import LedgerStorage
import LedgerTestSupport
import NIOCore
import Testing

@Suite("Service routes")
struct ServiceRouteTests {
    @Test("health and ready answer without a token")
    func healthAndReady() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            let health = try await client.execute(uri: "/health", method: .get)
            #expect(health.status == .ok)
            #expect(try health.json()["status"]?.string == "live")
            let ready = try await client.execute(uri: "/ready", method: .get)
            #expect(ready.status == .ok)
            #expect(try ready.json()["headPosition"]?.int == 1)  // the set-up's RulesAdopted
        }
    }

    @Test("every route refuses a request without a token (401), with an unknown one (401) and without its role (403)")
    func rolesPerRoute() async throws {
        let harness = try ServiceHarness()
        try harness.buildProjections()
        // (method, uri, a role it admits, a role it refuses)
        let routes: [(HTTPRequest.Method, String, AccessRole, AccessRole)] = [
            (.post, "/events", .ingest, .read),
            (.get, "/events?after=0", .read, .ingest),
            (.get, "/events/stream?after=0&timeout=0.05", .read, .marketing),
            (.get, "/clients/C1", .read, .ingest),
            (.get, "/clients/C1/history", .compliance, .read),
            (.get, "/membership", .marketing, .ingest),
            (.get, "/membership/C1", .read, .ingest),
            (.get, "/eligibility/clients/C1", .read, .ingest),
            (.get, "/eligibility/products/P1", .marketing, .ingest),
            (.get, "/retention", .marketing, .read),
            (.get, "/audit/verify", .compliance, .read),
            (.get, "/audit/export/C1", .compliance, .marketing),
            (.get, "/rules", .ingest, .ingest),
            (.get, "/metrics", .read, .read),
        ]
        let before = try harness.head()
        try await harness.test { client in
            for (method, uri, allowed, refused) in routes {
                let body = method == .post ? ByteBuffer(string: Lines.register("C9")) : nil
                let none = try await client.execute(uri: uri, method: method, body: body)
                #expect(none.status == .unauthorized, "\(uri) without a token")
                #expect(none.headers[.contentType] == "application/problem+json")
                let unknown = try await client.execute(uri: uri, method: method, headers: [.authorization: "Bearer clt_0000"], body: body)
                #expect(unknown.status == .unauthorized, "\(uri) with an unknown token")
                if refused != allowed {
                    let wrong = try await client.execute(uri: uri, method: method, headers: harness.headers(refused), body: body)
                    #expect(wrong.status == .forbidden, "\(uri) with role \(refused)")
                }
                let right = try await client.execute(uri: uri, method: method, headers: harness.headers(allowed), body: method == .post ? ByteBuffer(string: "") : nil)
                #expect(right.status != .unauthorized && right.status != .forbidden, "\(uri) with role \(allowed)")
            }
        }
        #expect(try harness.head() == before, "no refused request wrote anything")
    }

    @Test("a revoked token is refused once the token list is re-read")
    func revokedToken() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            let before = try await client.execute(uri: "/rules", method: .get, headers: harness.headers(.read))
            #expect(before.status == .ok)
            let store = try AccessTokens.store(harness.workspace.db, readOnly: false)
            #expect(try store.revoke(id: harness.tokenIds[.read] ?? "", at: Timestamp.now().iso8601))
            try harness.service.reloadTokens()
            let after = try await client.execute(uri: "/rules", method: .get, headers: harness.headers(.read))
            #expect(after.status == .unauthorized)
        }
    }

    @Test("POST /events: one event is 201 with its positions; the same eventId again is 200 with the stored positions")
    func idempotentRetry() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            let body = Lines.register("C1", id: "reg-C1")
            let first = try await client.execute(uri: "/events", method: .post, headers: harness.headers(.ingest), body: ByteBuffer(string: body))
            #expect(first.status == .created, "\(first.text)")
            let ack = try first.json()
            #expect(ack["factsWritten"]?.int == 1)
            let position = ack["events"]?[0]?["position"]?.int
            #expect(position == 2)  // after the set-up's RulesAdopted
            #expect(ack["events"]?[0]?["eventId"]?.string == Lines.id("reg-C1"))
            let retry = try await client.execute(uri: "/events", method: .post, headers: harness.headers(.ingest), body: ByteBuffer(string: body))
            #expect(retry.status == .ok)
            let again = try retry.json()
            #expect(again["factsWritten"]?.int == 0)
            #expect(again["alreadyStored"]?.int == 1)
            #expect(again["events"]?[0]?["position"]?.int == position)
            #expect(again["events"]?[0]?["alreadyStored"] == .bool(true))
        }
        #expect(try harness.head() == 1)
    }

    @Test("POST /events takes a JSON array and NDJSON; decisions are listed with their fact")
    func arrayAndLines() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            let array = "[" + Lines.register("C1") + ",\n" + Lines.deposit("C1", amount: "60000.00") + "]"
            let one = try await client.execute(uri: "/events", method: .post, headers: harness.headers(.ingest), body: ByteBuffer(string: array))
            #expect(one.status == .created)
            let ack = try one.json()
            #expect(ack["received"]?.int == 2)
            #expect(ack["events"]?.array.count == 2)
            let lines = Lines.register("C2") + "\n\n" + Lines.deposit("C2", at: "2026-01-04T10:00:00Z") + "\n"
            let two = try await client.execute(uri: "/events", method: .post, headers: harness.headers(.ingest), body: ByteBuffer(string: lines))
            #expect(two.status == .created)
            let ack2 = try two.json()
            #expect(ack2["events"]?[1]?["line"]?.int == 3, "NDJSON lines keep their numbers (a blank line counts)")
            let decisions = ack["decisionsWritten"]?.int ?? 0
            #expect(try harness.head() == 4 + decisions + (ack2["decisionsWritten"]?.int ?? 0))
        }
    }

    @Test("bad input is problem+json naming the line (or index) and the field, and nothing is written")
    func badInput() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            let post = { (body: String) in
                try await client.execute(uri: "/events", method: .post, headers: harness.headers(.ingest), body: ByteBuffer(string: body))
            }
            // Not JSON at all: 400, line 2.
            let syntax = try await post(Lines.register("C1") + "\n{\"type\": ")
            #expect(syntax.status == .badRequest)
            #expect(syntax.headers[.contentType] == "application/problem+json")
            #expect(try syntax.json()["line"]?.int == 2)
            // A field of the wrong form: 400 naming it.
            let field = try await post(#"{"type":"FundsDeposited","clientId":"C1","occurredAt":"yesterday","data":{"amount":"1"}}"#)
            #expect(field.status == .badRequest)
            #expect(try field.json()["field"]?.string == "occurredAt")
            // Read, but refused by the ledger's checks: 422 naming the array index and field.
            let future = "[" + Lines.register("C1") + "," + Lines.deposit("C1", at: "2099-01-01T00:00:00Z") + "]"
            let refused = try await post(future)
            #expect(refused.status == .unprocessableContent)
            let problem = try refused.json()
            #expect(problem["index"]?.int == 1)
            #expect(problem["line"]?.int == 2)
            #expect(problem["field"]?.string == "occurredAt")
            #expect(problem["status"]?.int == 422)
            // Empty body.
            let empty = try await post("  \n")
            #expect(empty.status == .badRequest)
        }
        #expect(try harness.head() == 0)
    }

    @Test("a wrong expected version is 409, by header or by field; a malformed header is 400")
    func conflicts() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            let created = try await client.execute(uri: "/events", method: .post, headers: harness.headers(.ingest), body: ByteBuffer(string: Lines.register("C1")))
            #expect(created.status == .created)
            let header = HTTPField.Name("Expected-Version")!
            let byHeader = try await client.execute(
                uri: "/events", method: .post, headers: harness.headers(.ingest, [header: "5"]), body: ByteBuffer(string: Lines.deposit("C1")))
            #expect(byHeader.status == .conflict)
            #expect(try byHeader.json()["field"]?.string == "expectedVersion")
            let byField = try await client.execute(
                uri: "/events", method: .post, headers: harness.headers(.ingest), body: ByteBuffer(string: Lines.deposit("C1", expected: 0)))
            #expect(byField.status == .conflict)
            let right = try await client.execute(
                uri: "/events", method: .post, headers: harness.headers(.ingest, [header: "1"]), body: ByteBuffer(string: Lines.deposit("C1")))
            #expect(right.status == .created)
            let malformed = try await client.execute(
                uri: "/events", method: .post, headers: harness.headers(.ingest, [header: "x"]), body: ByteBuffer(string: Lines.deposit("C1", at: "2026-01-05T00:00:00Z")))
            #expect(malformed.status == .badRequest)
        }
    }

    @Test("a body over the limit is 413 and nothing is written")
    func bodyLimit() async throws {
        let harness = try ServiceHarness(maxBodyBytes: 4_096)
        try await harness.test { client in
            let lines = (1...40).map { Lines.register("C\($0)") }.joined(separator: "\n")
            #expect(lines.utf8.count > 4_096)
            let response = try await client.execute(uri: "/events", method: .post, headers: harness.headers(.ingest), body: ByteBuffer(string: lines))
            #expect(response.status == .contentTooLarge)
            #expect(response.headers[.contentType] == "application/problem+json")
        }
        #expect(try harness.head() == 0)
    }

    @Test("concurrent single-event requests are committed in groups; a refused event fails only its own request")
    func groupCommit() async throws {
        let harness = try ServiceHarness()
        let db = harness.workspace.db
        try await harness.test { client in
            // Hold the write lock for a moment so that the requests gather behind the writer.
            let holder = Thread {
                let other = try? LedgerStores.open(db, readOnly: false)
                try? other?.write { _ in Thread.sleep(forTimeInterval: 0.4) }
            }
            holder.start()
            try await Task.sleep(for: .milliseconds(50))
            let statuses = try await withThrowingTaskGroup(of: (Int, HTTPResponse.Status).self) { group in
                for index in 0..<16 {
                    group.addTask {
                        let body = index == 7 ? Lines.register("C\(index)", at: "2099-01-01T00:00:00Z") : Lines.register("C\(index)")
                        let response = try await client.execute(uri: "/events", method: .post, headers: harness.headers(.ingest), body: ByteBuffer(string: body))
                        return (index, response.status)
                    }
                }
                var statuses: [Int: HTTPResponse.Status] = [:]
                for try await (index, status) in group { statuses[index] = status }
                return statuses
            }
            for index in 0..<16 {
                #expect(statuses[index] == (index == 7 ? .unprocessableContent : .created), "request \(index)")
            }
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: harness.headers(.admin))
            let line = metrics.text.split(separator: "\n").first { $0.hasPrefix("clientledger_group_commits_total") }
            let commits = line.flatMap { $0.split(separator: " ").last.flatMap { Int($0) } } ?? 99
            #expect(commits < 15, "15 requests were committed in \(commits) transactions")
        }
        #expect(try harness.head() == 15)
    }

    @Test("a write is refused with 503 and Retry-After when too many events wait for the writer")
    func busy() async throws {
        let harness = try ServiceHarness(maxPendingEvents: 1)
        let db = harness.workspace.db
        try await harness.test { client in
            // Another writer holds the lock, and the requests start only once it has it.
            let locked = DispatchSemaphore(value: 0)
            // It lets go once the refusal has come back, or 4 s after the first request was sent
            // (inside the service's 5-second busy timeout): on a loaded machine the requests can
            // take longer to arrive than any hold counted from when the lock was taken.
            let release = DispatchSemaphore(value: 0)
            let firstSent = DispatchSemaphore(value: 0)
            // Set when the lock was let go before any refusal came back: the requests were too
            // slow to meet it (a machine loaded by the whole suite), so the case was not shown.
            let heldTooShort = Flag()
            // Opening it can meet the service's own first write on a loaded machine: retried
            // until it holds the lock, rather than going on without it.
            let holder = Thread {
                for _ in 0..<100 {
                    do {
                        let other = try LedgerStores.open(db, readOnly: false)
                        try other.write { _ in
                            locked.signal()
                            _ = firstSent.wait(timeout: .now() + 60)
                            if release.wait(timeout: .now() + 4) == .timedOut { heldTooShort.set() }
                        }
                        return
                    } catch {
                        Thread.sleep(forTimeInterval: 0.05)
                    }
                }
                locked.signal()
            }
            holder.start()
            locked.wait()
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<3 {
                    group.addTask {
                        try await Task.sleep(for: .milliseconds(100 * index))
                        if index == 0 { firstSent.signal() }
                        let response = try await client.execute(uri: "/events", method: .post, headers: harness.headers(.ingest), body: ByteBuffer(string: Lines.register("C\(index)")))
                        if response.status == .serviceUnavailable {
                            #expect(response.headers[.retryAfter] == "1")
                            release.signal()
                        }
                        return response.status
                    }
                }
                var statuses: [HTTPResponse.Status] = []
                for try await status in group { statuses.append(status) }
                return statuses
            }
            let check = { () throws -> Void in
                #expect(statuses.filter { $0 == .created }.count == 2)
                #expect(statuses.filter { $0 == .serviceUnavailable }.count == 1)
                #expect(try harness.head() == 2)
            }
            if heldTooShort.isSet {
                // Not a verdict on the service: the requests arrived after the lock was gone.
                try withKnownIssue("the requests arrived after the other writer let go (loaded machine)", isIntermittent: true) { try check() }
            } else {
                try check()
            }
        }
    }
}

/// A flag set from one thread and read from another.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
