import Foundation
import Hummingbird
import HummingbirdTesting
import LedgerApplication
import LedgerCore
import LedgerDomain
import LedgerService
import LedgerStorage
import LedgerTestSupport
import NIOCore
import Testing

@Suite("Service reads")
struct ServiceReadTests {
    /// Posts two clients with deposits.
    static func seed(_ client: any TestClientProtocol, _ harness: ServiceHarness, expect: HTTPResponse.Status = .created) async throws {
        let lines = [
            Lines.register("C1", name: "Ada Example"), Lines.deposit("C1", amount: "250000.00"),
            Lines.register("C2", name: "Bo Example", at: "2026-01-05T09:00:00Z"), Lines.deposit("C2", at: "2026-01-06T10:00:00Z"),
        ].joined(separator: "\n")
        let response = try await client.execute(uri: "/events", method: .post, headers: harness.headers(.ingest), body: ByteBuffer(string: lines))
        #expect(response.status == expect)
    }

    @Test("client state is the JSON of `client show`, the name only for compliance; an unknown client is 404")
    func clientState() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            try await Self.seed(client, harness)
            let read = try await client.execute(uri: "/clients/C1", method: .get, headers: harness.headers(.read))
            #expect(read.status == .ok)
            let state = try read.json()
            #expect(state["clientId"]?.string == "C1")
            #expect(state["netAssets"]?.string == "250000.00")
            #expect(state["name"] == .null, "a read token sees no names")
            let compliance = try await client.execute(uri: "/clients/C1", method: .get, headers: harness.headers(.compliance))
            #expect(try compliance.json()["name"]?.string == "Ada Example")
            let earlier = try await client.execute(uri: "/clients/C2?asOf=2026-01-02", method: .get, headers: harness.headers(.read))
            #expect(try earlier.json()["registered"] == .bool(false))
            let unknown = try await client.execute(uri: "/clients/C404", method: .get, headers: harness.headers(.read))
            #expect(unknown.status == .notFound)
            #expect(unknown.headers[.contentType] == "application/problem+json")
            let badMoment = try await client.execute(uri: "/clients/C1?asOf=soon", method: .get, headers: harness.headers(.read))
            #expect(badMoment.status == .badRequest)
            #expect(try badMoment.json()["field"]?.string == "asOf")
        }
    }

    @Test("history in JSON and CSV, cut by asOf and knownAt")
    func history() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            try await Self.seed(client, harness)
            let json = try await client.execute(uri: "/clients/C1/history", method: .get, headers: harness.headers(.compliance))
            #expect(json.status == .ok)
            let steps = try json.json().array
            try #require(steps.count >= 2)
            #expect(steps[0]["event"]?["type"]?.string == "ClientRegistered")
            #expect(steps[0]["event"]?["data"]?["name"]?.string == "Ada Example")
            let cut = try await client.execute(uri: "/clients/C1/history?asOf=2026-01-02", method: .get, headers: harness.headers(.compliance))
            #expect(try cut.json().array.count == 1)
            let known = try await client.execute(uri: "/clients/C1/history?knownAt=2000-01-01", method: .get, headers: harness.headers(.compliance))
            #expect(try known.json().array.isEmpty)
            let csv = try await client.execute(uri: "/clients/C1/history?format=csv", method: .get, headers: harness.headers(.compliance))
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(csv.text.hasPrefix(HistoryView.csvHeader + "\n"))
            let badFormat = try await client.execute(uri: "/clients/C1/history?format=xml", method: .get, headers: harness.headers(.compliance))
            #expect(badFormat.status == .badRequest)
            let unknown = try await client.execute(uri: "/clients/C404/history", method: .get, headers: harness.headers(.compliance))
            #expect(unknown.status == .notFound)
        }
    }

    @Test("membership, eligibility and retention answer from the projections; before they are built, 503")
    func projections() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            let notBuilt = try await client.execute(uri: "/membership", method: .get, headers: harness.headers(.read))
            #expect(notBuilt.status == .serviceUnavailable)
            try await Self.seed(client, harness)
            try harness.buildProjections()
            try await Self.seed(client, harness, expect: .ok)  // a retry: nothing new, the projections are current
            let all = try await client.execute(uri: "/membership", method: .get, headers: harness.headers(.marketing))
            #expect(all.status == .ok)
            #expect(try all.json().array.count == 2)
            let one = try await client.execute(uri: "/membership/C1", method: .get, headers: harness.headers(.read))
            #expect(try one.json()["clientId"]?.string == "C1")
            let missing = try await client.execute(uri: "/membership/C404", method: .get, headers: harness.headers(.read))
            #expect(missing.status == .notFound)
            let badTier = try await client.execute(uri: "/membership?tier=gold", method: .get, headers: harness.headers(.read))
            #expect(badTier.status == .badRequest)
            let eligibility = try await client.execute(uri: "/eligibility/clients/C1", method: .get, headers: harness.headers(.read))
            #expect(eligibility.status == .ok)
            let rows = try eligibility.json().array
            try #require(!rows.isEmpty)
            let product = rows[0]["productId"]?.string ?? ""
            let byProduct = try await client.execute(uri: "/eligibility/products/\(product)", method: .get, headers: harness.headers(.marketing))
            #expect(try byProduct.json().array.count == 2)
            let unknownProduct = try await client.execute(uri: "/eligibility/products/NOPE", method: .get, headers: harness.headers(.marketing))
            #expect(unknownProduct.status == .notFound)
            let retention = try await client.execute(uri: "/retention?asOf=2026-02-01", method: .get, headers: harness.headers(.marketing))
            #expect(retention.status == .ok)
            #expect(try retention.json()["clients"]?.int == 2)
        }
    }

    @Test("audit verify and export, and the rules in force")
    func auditAndRules() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            try await Self.seed(client, harness)
            let verify = try await client.execute(uri: "/audit/verify", method: .get, headers: harness.headers(.compliance))
            #expect(verify.status == .ok)
            #expect(try verify.json()["intact"] == .bool(true))
            let export = try await client.execute(uri: "/audit/export/C1", method: .get, headers: harness.headers(.compliance))
            #expect(export.status == .ok)
            let lines = export.text.split(separator: "\n")
            try #require(lines.count >= 3)
            #expect(try JSONParser.parse(String(lines[0]))["client"]?.string == "C1")
            let none = try await client.execute(uri: "/audit/export/C404", method: .get, headers: harness.headers(.compliance))
            #expect(none.status == .notFound)
            let rules = try await client.execute(uri: "/rules", method: .get, headers: harness.headers(.read))
            #expect(try rules.json()["version"]?.string == (try Rules.defaults()).version)
        }
    }

    @Test("GET /events pages the log in order; names only for compliance")
    func paging() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            try await Self.seed(client, harness)
            let head = try harness.logHead()
            var seen: [Int64] = []
            var after: Int64 = 0
            while true {
                let page = try await client.execute(uri: "/events?after=\(after)&limit=2", method: .get, headers: harness.headers(.read))
                #expect(page.status == .ok)
                let body = try page.json()
                let events = body["events"]?.array ?? []
                if events.isEmpty { break }
                for event in events {
                    seen.append(event["position"]?.int ?? -1)
                    if event["type"]?.string == "ClientRegistered" { #expect(event["data"]?["name"] == .null) }
                }
                after = body["next"]?.int ?? 0
                #expect(body["head"]?.int == head)
            }
            #expect(seen == Array(stride(from: Int64(1), through: head, by: 1)))
            // Position 1 is the set-up's RulesAdopted; the registration follows.
            let named = try await client.execute(uri: "/events?after=1&limit=1", method: .get, headers: harness.headers(.compliance))
            #expect(try named.json()["events"]?[0]?["data"]?["name"]?.string == "Ada Example")
            let bad = try await client.execute(uri: "/events?after=-1", method: .get, headers: harness.headers(.read))
            #expect(bad.status == .badRequest)
            #expect(try bad.json()["field"]?.string == "after")
        }
    }

    @Test("a subscriber that disconnects and resumes from its last position sees every event exactly once")
    func resumeWithoutGapsOrDuplicates() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            let writer = Task {
                for index in 0..<30 {
                    let body = Lines.register("S\(index)")
                    _ = try await client.execute(uri: "/events", method: .post, headers: harness.headers(.ingest), body: ByteBuffer(string: body))
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            var received: [Int64] = []
            var after: Int64 = 0
            // Several short subscriptions while the writer runs, each resumed where the last ended.
            for _ in 0..<40 {
                let stream = try await client.execute(uri: "/events/stream?after=\(after)&timeout=0.05", method: .get, headers: harness.headers(.read))
                #expect(stream.status == .ok)
                #expect(stream.headers[.contentType] == "application/x-ndjson")
                for line in stream.text.split(separator: "\n") {
                    let position = try JSONParser.parse(String(line))["position"]?.int ?? -1
                    received.append(position)
                    after = position
                }
                if after >= 30, writer.isCancelled == false, received.count >= 30 { break }
            }
            try await writer.value
            let rest = try await client.execute(uri: "/events/stream?after=\(after)&timeout=0.05", method: .get, headers: harness.headers(.read))
            for line in rest.text.split(separator: "\n") { received.append(try JSONParser.parse(String(line))["position"]?.int ?? -1) }
            let head = try harness.logHead()
            #expect(received == Array(stride(from: Int64(1), through: head, by: 1)), "every position once, in order")
        }
    }

    @Test("metrics count requests by route and status")
    func metrics() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            _ = try await client.execute(uri: "/events", method: .post, headers: harness.headers(.ingest), body: ByteBuffer(string: Lines.register("C1")))
            _ = try await client.execute(uri: "/clients/C404", method: .get, headers: harness.headers(.read))
            let response = try await client.execute(uri: "/metrics", method: .get, headers: harness.headers(.read))
            #expect(response.status == .ok)
            let lines = response.text.split(separator: "\n").map(String.init)
            func sample(_ parts: String...) -> String? {
                lines.first { line in !line.hasPrefix("#") && parts.allSatisfy { line.contains($0) } }
            }
            #expect(sample("clientledger_requests_total", #"route="/events""#, #"method="POST""#, #"status="201""#)?.hasSuffix(" 1") == true)
            #expect(sample("clientledger_requests_total", #"route="/clients/{client}""#, #"status="404""#)?.hasSuffix(" 1") == true)
            #expect(sample("clientledger_events_appended_total") != nil)
            let text = response.text
            #expect(text.contains("clientledger_request_duration_seconds_bucket"))
            #expect(text.contains("clientledger_projection_lag_events"))
        }
    }
}
