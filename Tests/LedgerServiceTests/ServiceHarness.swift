import Foundation
import Hummingbird
import HummingbirdTesting
import LedgerApplication
import LedgerCore
import LedgerDomain
import LedgerProjections
import LedgerService
import LedgerStorage
import LedgerTestSupport
import NIOCore
import Testing

/// A ledger in a fresh workspace, a token of every role, and the service over it, tested
/// in process through HummingbirdTesting's router client.
final class ServiceHarness: @unchecked Sendable {
    let workspace: Workspace
    var tokens: [AccessRole: String] = [:]
    var tokenIds: [AccessRole: String] = [:]
    let service: LedgerService

    init(maxBodyBytes: Int = 64 * 1024, maxPendingEvents: Int = 200_000) throws {
        workspace = try Workspace("ServiceTests")
        let (log, _) = try LedgerStores.create(workspace.db)
        // The rules in force, adopted in the log first (position 1), as a ledger's first write
        // does: the events the tests post start at position 2.
        _ = try RulesInLog.adopt(try Rules.defaults(), reason: "test set-up", actor: "test", store: log, clock: SystemClock())
        let store = try AccessTokens.store(workspace.db, readOnly: false)
        for role in AccessRole.allCases {
            let (record, secret) = try AccessTokens.create(in: store, role: role, label: "test \(role.rawValue)", at: .now())
            tokens[role] = secret
            tokenIds[role] = record.id
        }
        service = try LedgerService(ServiceConfiguration(
            databasePath: workspace.db, rules: try Rules.defaults(), maxBodyBytes: maxBodyBytes, maxPendingEvents: maxPendingEvents))
    }

    /// Runs `body` with a client of the service's router, then closes the service.
    func test(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        defer { service.close() }
        let app = Application(router: service.router())
        try await app.test(.router) { client in try await body(client) }
    }

    func headers(_ role: AccessRole?, _ extra: HTTPFields = [:]) -> HTTPFields {
        var fields = extra
        if let role, let token = tokens[role] { fields[.authorization] = "Bearer \(token)" }
        return fields
    }

    deinit { workspace.remove() }

    /// The number of events in the log after the set-up's `RulesAdopted`.
    func head() throws -> Int64 {
        try LedgerStores.open(workspace.db, readOnly: true).head().position - 1
    }

    /// The log's last position (the set-up's `RulesAdopted` included).
    func logHead() throws -> Int64 {
        try LedgerStores.open(workspace.db, readOnly: true).head().position
    }

    /// Builds the projections, as `clientledger projections rebuild` does.
    func buildProjections() throws {
        let engine = try ProjectionEngine(store: try LedgerStores.open(workspace.db, readOnly: false).projectionStore(), rules: try Rules.defaults())
        _ = try engine.rebuild { _ in }
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body as a JSON value.
    func json() throws -> JSONValue { try JSONParser.parse(text) }
}

extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    subscript(index: Int) -> JSONValue? {
        if case .array(let array) = self, index < array.count { return array[index] }
        return nil
    }

    var int: Int64? {
        if case .number(let text) = self { return Int64(text) }
        return nil
    }

    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var array: [JSONValue] {
        if case .array(let array) = self { return array }
        return []
    }
}

/// Event lines in the import format.
enum Lines {
    /// A UUID event id named by a tag (the same tag, the same id).
    static func id(_ tag: String) -> String { EventID.derived(from: "service-tests/" + tag) }

    static func register(_ client: String, name: String = "Ada Example", at: String = "2026-01-02T09:00:00Z", id: String? = nil) -> String {
        let eventId = id.map { #""eventId":"\#(Self.id($0))","# } ?? ""
        return #"{\#(eventId)"type":"ClientRegistered","clientId":"\#(client)","occurredAt":"\#(at)","data":{"name":"\#(name)","segment":"retail","investorType":"ordinary","branch":"B01"}}"#
    }

    static func deposit(_ client: String, amount: String = "100.00", at: String = "2026-01-03T10:00:00Z", id: String? = nil, expected: Int? = nil) -> String {
        let eventId = id.map { #""eventId":"\#(Self.id($0))","# } ?? ""
        let version = expected.map { #""expectedVersion":\#($0),"# } ?? ""
        return #"{\#(eventId)\#(version)"type":"FundsDeposited","clientId":"\#(client)","occurredAt":"\#(at)","data":{"amount":\#(amount)}}"#
    }
}
