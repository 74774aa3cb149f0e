import Foundation
import HTTPTypes
import Hummingbird
import LedgerApplication
import LedgerCore
import LedgerDomain
import LedgerProjections
import LedgerStorage

/// Which roles each group of routes admits (admin is admitted everywhere).
enum RouteRoles {
    static let ingest: Set<AccessRole> = [.ingest]
    static let read: Set<AccessRole> = [.read, .compliance]
    static let projections: Set<AccessRole> = [.read, .compliance, .marketing]
    static let marketing: Set<AccessRole> = [.marketing]
    static let compliance: Set<AccessRole> = [.compliance]
    static let any: Set<AccessRole> = Set(AccessRole.allCases)
}

extension LedgerService {
    typealias Context = BasicRequestContext
    typealias Handler = @Sendable (Request, Context, AccessRole?) async throws -> Response

    /// The service's routes (docs/service.md lists them with their roles).
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.addMiddleware { RequestLog(logger: logger, metrics: metrics) }

        route(router, .get, "/health", roles: nil) { _, _, _ in Self.json("{\"status\":\"live\"}") }
        route(router, .get, "/ready", roles: nil) { _, _, _ in try await self.ready() }
        route(router, .get, "/metrics", roles: RouteRoles.any) { _, _, _ in try await self.metricsText() }

        // Writes.
        route(router, .post, "/events", roles: RouteRoles.ingest) { request, context, _ in try await self.postEvents(request) }

        // The log: pages and the live feed.
        route(router, .get, "/events", roles: RouteRoles.read, isRead: true) { request, _, role in
            try await self.eventsPage(request, personal: role?.seesPersonalFields ?? false)
        }
        route(router, .get, "/events/stream", roles: RouteRoles.read, isRead: true) { request, _, role in
            try self.eventStream(request, personal: role?.seesPersonalFields ?? false)
        }

        // Reads, the same answers as the CLI's reading commands.
        route(router, .get, "/clients/{client}", roles: RouteRoles.read, isRead: true) { request, context, role in
            try await self.clientState(try context.parameters.require("client"), request, personal: role?.seesPersonalFields ?? false)
        }
        route(router, .get, "/clients/{client}/history", roles: RouteRoles.compliance, isRead: true) { request, context, _ in
            try await self.history(try context.parameters.require("client"), request)
        }
        route(router, .get, "/membership", roles: RouteRoles.projections, isRead: true) { request, _, _ in
            try await self.membership(client: nil, request)
        }
        route(router, .get, "/membership/{client}", roles: RouteRoles.projections, isRead: true) { request, context, _ in
            try await self.membership(client: try context.parameters.require("client"), request)
        }
        route(router, .get, "/eligibility/clients/{client}", roles: RouteRoles.projections, isRead: true) { request, context, _ in
            try await self.eligibility(client: try context.parameters.require("client"), product: nil, request)
        }
        route(router, .get, "/eligibility/products/{product}", roles: [.read, .marketing, .compliance], isRead: true) { request, context, _ in
            try await self.eligibility(client: nil, product: try context.parameters.require("product"), request)
        }
        route(router, .get, "/retention", roles: RouteRoles.marketing, isRead: true) { request, _, _ in
            try await self.retention(request)
        }
        route(router, .get, "/audit/verify", roles: RouteRoles.compliance, isRead: true) { _, _, _ in
            try await self.verify()
        }
        route(router, .get, "/audit/export/{client}", roles: RouteRoles.compliance, isRead: true) { _, context, _ in
            try await self.export(try context.parameters.require("client"))
        }
        route(router, .get, "/rules", roles: RouteRoles.any, isRead: true) { _, _, _ in
            Self.json(RulesView.json(self.configuration.rules))
        }
        // Campaign routes (GET /campaigns/{id}, GET /campaigns/{id}/report, for `marketing`)
        // belong here, calling the campaign use cases of LedgerApplication once they exist.
        return router
    }

    /// Adds a route whose handler runs only after the caller's token admits it; every
    /// failure becomes a problem+json response.
    private func route(
        _ router: Router<Context>, _ method: HTTPRequest.Method, _ path: RouterPath, roles: Set<AccessRole>?,
        isRead: Bool = false, _ handler: @escaping Handler
    ) {
        let gate = self.gate
        let maxBody = configuration.maxBodyBytes
        router.on(path, method: method) { request, context -> Response in
            do {
                let role = try roles.map { try gate.authorize(request, admits: $0) }
                return try await handler(request, context, role)
            } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
                return Problem.tooLarge(maxBody).response()
            } catch let error as any HTTPResponseError where !(error is Problem) {
                return Problem(error.status, error.status.reasonPhrase, detail: String(describing: error)).response()
            } catch let error as InputError where isRead && error.line == nil {
                return Problem.notFound(error.description).response()
            } catch {
                return Problem.from(error).response()
            }
        }
    }

    static func json(_ text: String, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    static func notes(_ notes: [String]) -> HTTPFields {
        var fields = HTTPFields()
        if let name = HTTPField.Name("Ledger-Notes"), !notes.isEmpty { fields[name] = notes.joined(separator: "; ") }
        return fields
    }

    // MARK: - Health

    func ready() async throws -> Response {
        let location = configuration.databasePath
        let clock = configuration.clock
        do {
            let head = try await pool.blocking {
                // A read-only open refuses a ledger whose migrations are not current.
                try LedgerStores.open(location, readOnly: true, clock: clock).head().position
            }
            return Self.json("{\"status\":\"ready\",\"headPosition\":\(head)}")
        } catch {
            var problem = Problem.from(error)
            problem.status = .serviceUnavailable
            problem.title = "Not ready"
            return problem.response()
        }
    }

    func metricsText() async throws -> Response {
        let rules = configuration.rules
        let clock = configuration.clock
        let lag = try? await pool.withStore { store -> Int64? in
            let engine = try ProjectionEngine(store: store.projectionStore(), rules: rules, clock: clock)
            guard engine.isInstalled else { return nil }
            return try engine.status().map(\.lag).max()
        }
        metrics.projectionLag.set(Double((lag ?? nil) ?? 0))
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
    }

    // MARK: - Writes

    func postEvents(_ request: Request) async throws -> Response {
        let limit = configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw Problem.tooLarge(limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw Problem.tooLarge(limit)
        }
        let bytes = Array(buffer.readableBytesView)
        let header = HTTPField.Name("Expected-Version").flatMap { request.headers[$0] }
        let (events, form) = try await pool.blocking { try EventBody.parse(bytes, expectedVersionHeader: header) }
        let outcomes: [Ledger.FactOutcome]
        do {
            outcomes = try await committer.submit(events)
        } catch {
            var problem = Problem.from(error)
            if form == .array, let line = problem.line { problem.index = line - 1 }
            throw problem
        }
        let acknowledgement = AppendAcknowledgement(outcomes)
        return Self.json(try OutputJSON.text(acknowledgement), status: acknowledgement.factsWritten > 0 ? .created : .ok)
    }

    // MARK: - The log

    /// `after` (a position, default 0) and `limit` of a page of the log.
    private func pageBounds(_ request: Request) throws -> (after: Int64, limit: Int) {
        let query = request.uri.queryParameters
        let after = try query["after"].map { text -> Int64 in
            guard let value = Int64(text), value >= 0 else { throw Problem.badRequest("after must be a position (0 or more), found \"\(text)\"", field: "after") }
            return value
        } ?? 0
        let limit = try query["limit"].map { text -> Int in
            guard let value = Int(text), value >= 1, value <= configuration.maxPageEvents else {
                throw Problem.badRequest("limit must be 1 to \(configuration.maxPageEvents), found \"\(text)\"", field: "limit")
            }
            return value
        } ?? 1_000
        return (after, limit)
    }

    /// Events after `after`, at most `limit`, in the wire form of `events --format json`.
    private func page(after: Int64, limit: Int, personal: Bool) async throws -> (lines: [String], last: Int64, head: Int64) {
        try await pool.withStore { store in
            try store.read {
                var lines: [String] = []
                var last = after
                // Names are sealed in the log: opened for a role that may see them.
                let opener = personal ? PersonalDataReader(store: store) : nil
                try store.scan(EventQuery(fromPosition: after + 1, limit: limit)) { event in
                    lines.append(try EventWire.json(event, personal: opener, withoutPersonalFields: !personal))
                    last = event.position
                    return true
                }
                return (lines, last, try store.head().position)
            }
        }
    }

    func eventsPage(_ request: Request, personal: Bool) async throws -> Response {
        let (after, limit) = try pageBounds(request)
        let (lines, last, head) = try await page(after: after, limit: limit, personal: personal)
        let text = "{\"after\":\(after),\"next\":\(last),\"head\":\(head),\"events\":[" + lines.joined(separator: ",\n") + "]}"
        return Self.json(text)
    }

    /// NDJSON, one event a line in log order from `after`, kept open for new events until
    /// the client goes, `timeout` seconds pass (when given) or the service stops. A client
    /// that reconnects with `after` = the last position it read misses nothing and sees
    /// nothing twice.
    func eventStream(_ request: Request, personal: Bool) throws -> Response {
        let (after, limit) = try pageBounds(request)
        let timeout = try request.uri.queryParameters["timeout"].map { text -> Double in
            guard let value = Double(text), value > 0, value <= 86_400 else {
                throw Problem.badRequest("timeout must be a number of seconds, more than 0 and at most 86400, found \"\(text)\"", field: "timeout")
            }
            return value
        }
        let feed = self.feed
        let service = self
        let body = ResponseBody { writer in
            let deadline = timeout.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
            var position = after
            var lastLook = ContinuousClock.now
            while !feed.isClosed {
                if let deadline, ContinuousClock.now >= deadline { break }
                let (lines, last, _) = try await service.page(after: position, limit: limit, personal: personal)
                if !lines.isEmpty {
                    try await writer.write(ByteBuffer(string: lines.joined(separator: "\n") + "\n"))
                    position = last
                    continue
                }
                // Nothing new: wait for this service's next commit, and look at the log
                // every quarter second for writers in other processes.
                lastLook = ContinuousClock.now
                while feed.head <= position, !feed.isClosed, ContinuousClock.now - lastLook < .milliseconds(250) {
                    if let deadline, ContinuousClock.now >= deadline { break }
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
    }

    // MARK: - Reads

    private func moment(_ request: Request, _ name: String) throws -> Timestamp? {
        try request.uri.queryParameters[Substring(name)].map { text in
            guard let moment = Moments.parse(String(text)) else {
                throw Problem.badRequest("\(name): expected a date (2026-03-02) or a time (2026-03-02T09:31:00Z), found \"\(text)\"", field: name)
            }
            return moment
        }
    }

    func clientState(_ client: String, _ request: Request, personal: Bool) async throws -> Response {
        let asOf = try moment(request, "asOf")
        let rules = configuration.rules
        let clock = configuration.clock
        let text = try await pool.withStore { store -> String in
            let ledger = Ledger(store: store, rules: rules, clock: clock)
            switch try ledger.readClient(client, asOf: asOf) {
            case .unknown:
                throw Problem.notFound("no client \(client) is registered")
            case .notYetRegistered:
                return try OutputJSON.text(NoStateView(clientId: client, asOf: (asOf ?? clock.now()).iso8601))
            case .registered(let state):
                let view = ClientView(state, rules: rules, asOf: asOf ?? clock.now())
                return try OutputJSON.text(personal ? view : view.withoutPersonalFields())
            }
        }
        return Self.json(text)
    }

    func history(_ client: String, _ request: Request) async throws -> Response {
        let asOf = try moment(request, "asOf")
        let knownAt = try moment(request, "knownAt")
        let csv: Bool
        switch request.uri.queryParameters["format"].map({ String($0) }) ?? "json" {
        case "json": csv = false
        case "csv": csv = true
        case let other: throw Problem.badRequest("format must be json or csv, found \"\(other)\"", field: "format")
        }
        let rules = configuration.rules
        let clock = configuration.clock
        let text = try await pool.withStore { store -> String in
            let ledger = Ledger(store: store, rules: rules, clock: clock)
            guard try ledger.clientExists(client) else { throw Problem.notFound("no client \(client) is registered") }
            let steps = try ledger.history(client, asOf: asOf, knownAt: knownAt)
            if csv { return ([HistoryView.csvHeader] + (try steps.map(HistoryView.csvRow))).joined(separator: "\n") }
            return "[\n" + (try steps.map(HistoryView.json)).joined(separator: ",\n") + "\n]"
        }
        if csv {
            return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: text + "\n")))
        }
        return Self.json(text)
    }

    /// Opens the projections as the CLI's reading commands do (caught up first).
    private func projections() async throws -> ProjectionReader {
        let location = configuration.databasePath
        let rules = configuration.rules
        let clock = configuration.clock
        return try await pool.blocking { UncheckedReader(try ProjectionReader.open(location, rules: rules, catchUp: true, clock: clock)) }.reader
    }

    func membership(client: String?, _ request: Request) async throws -> Response {
        let tier = try request.uri.queryParameters["tier"].map { text -> Tier in
            guard let tier = Tier(rawValue: String(text)) else {
                throw Problem.badRequest("unknown tier \"\(text)\" (tiers: \(Tier.allCases.map(\.rawValue).joined(separator: ", ")))", field: "tier")
            }
            return tier
        }
        let reader = UncheckedReader(try await projections())
        let text = try await pool.blocking { () -> String in
            let rows = try reader.reader.engine.membership(client: client, tier: tier, withHistory: client != nil)
            if let client {
                guard let row = rows.first else { throw Problem.notFound("no client \(client) in the membership projection") }
                return try OutputJSON.text(row)
            }
            return try OutputJSON.text(rows)
        }
        return Self.json(text, headers: Self.notes(reader.reader.notes))
    }

    func eligibility(client: String?, product: String?, _ request: Request) async throws -> Response {
        let rules = configuration.rules
        if let product, rules.product(product) == nil {
            throw Problem.notFound("unknown product \(product) (products: \(rules.products.map(\.id).joined(separator: ", ")))")
        }
        let eligibleOnly = request.uri.queryParameters["eligibleOnly"].map { $0 == "true" || $0 == "1" } ?? false
        let now = configuration.clock.now()
        let reader = UncheckedReader(try await projections())
        let text = try await pool.blocking { () -> String in
            var rows = try reader.reader.engine.eligibility(client: client, product: product, now: now)
            if let client, rows.isEmpty { throw Problem.notFound("no client \(client) in the eligibility projection") }
            if eligibleOnly { rows = rows.filter(\.eligible) }
            return try OutputJSON.text(rows)
        }
        return Self.json(text, headers: Self.notes(reader.reader.notes))
    }

    func retention(_ request: Request) async throws -> Response {
        let moment = try moment(request, "asOf") ?? configuration.clock.now()
        let reader = UncheckedReader(try await projections())
        let text = try await pool.blocking { try OutputJSON.text(try reader.reader.engine.retentionMetrics(asOf: moment)) }
        return Self.json(text, headers: Self.notes(reader.reader.notes))
    }

    func verify() async throws -> Response {
        let text = try await pool.withStore { store in try OutputJSON.text(VerifySummary(try store.verifyChain())) }
        return Self.json(text)
    }

    func export(_ client: String) async throws -> Response {
        let clock = configuration.clock
        let databasePath = configuration.databasePath
        let lines = try await pool.withStore { store -> [String] in
            guard try !store.events(EventQuery(stream: "client/" + client)).isEmpty else {
                throw Problem.notFound("no events of client \(client)")
            }
            // The same signed bundle as `audit export` (schemas/export-bundle.md).
            return try ExportBundle(client: client, from: store, databasePath: databasePath, at: clock.now()).lines
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: ResponseBody(byteBuffer: ByteBuffer(string: lines.joined(separator: "\n") + "\n")))
    }
}

/// A projection reader handed between threads: it is used by one request at a time.
struct UncheckedReader: @unchecked Sendable {
    let reader: ProjectionReader
    init(_ reader: ProjectionReader) { self.reader = reader }
}
