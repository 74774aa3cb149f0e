import Foundation
import LedgerStorage
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// One connection to the server, used synchronously: the storage contract is synchronous (its
/// callers are threads of their own), so each query is sent on the connection's event loop and
/// the calling thread waits for its result. A session belongs to one store, used by one thread.
final class Session {
    /// The event loops of every ledger connection of the process: a group of its own, so that a
    /// caller on another event loop (the HTTP service's) never waits on its own loop.
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private static let logger = Logger(label: "clientledger.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    private static let ids = IDCounter()

    let location: PostgresLocation
    private let connection: PostgresConnection
    private(set) var inTransaction = false

    init(_ location: PostgresLocation) throws {
        self.location = location
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: .disable)
        if location.requireTLS {
            do {
                configuration.tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            } catch {
                throw StorageError.cannotOpen(location: location.description, reason: "TLS could not be set up: \(error)")
            }
        }
        configuration.options.connectTimeout = .seconds(10)
        do {
            connection = try PostgresConnection.connect(
                on: Self.group.next(), configuration: configuration, id: Self.ids.next(), logger: Self.logger
            ).wait()
        } catch {
            throw PostgresFailure.classify(error, location: location.description, connecting: true)
        }
    }

    deinit {
        // The connection must outlive its closing: the callback holds it until then.
        let connection = self.connection
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    /// Runs one statement and returns its rows.
    @discardableResult
    func query(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) throws -> [PostgresRow] {
        do {
            return Array(try result(of: connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: Self.logger)).rows)
        } catch {
            throw PostgresFailure.classify(error, location: location.description, connecting: false)
        }
    }

    /// Runs one statement and returns how many rows it changed (from its command tag).
    /// `refine` may give a failure's SQLSTATE a meaning of the caller's.
    @discardableResult
    func execute(
        _ sql: String, _ binds: PostgresBindings = PostgresBindings(), refine: (String) -> StorageError? = { _ in nil }
    ) throws -> Int {
        do {
            let done = try result(of: connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: Self.logger))
            return done.metadata.rows ?? 0
        } catch {
            if let state = PostgresFailure.sqlState(of: error), let refined = refine(state) { throw refined }
            throw PostgresFailure.classify(error, location: location.description, connecting: false)
        }
    }

    /// Waits for a query's result. A connection that closes under a query (the server stopped)
    /// does not always fail the query's future: the wait checks the connection every second and
    /// gives up with "connection lost" when it is closed.
    private func result<T: Sendable>(of future: EventLoopFuture<T>) throws -> T {
        let box = ResultBox<T>()
        let ready = DispatchSemaphore(value: 0)
        future.whenComplete { outcome in
            box.set(outcome)
            ready.signal()
        }
        while ready.wait(timeout: .now() + 1) == .timedOut {
            if connection.isClosed, ready.wait(timeout: .now() + 1) == .timedOut {
                throw StorageError.connectionLost(location: location.description)
            }
        }
        guard let outcome = box.value else { throw StorageError.connectionLost(location: location.description) }
        return try outcome.get()
    }

    /// The one value of a one-row, one-column query.
    func scalar<T: PostgresDecodable>(_ sql: String, _ binds: PostgresBindings = PostgresBindings(), as type: T.Type) throws -> T? {
        guard let cell = try query(sql, binds).first?.makeRandomAccess()[0], cell.bytes != nil else { return nil }
        do {
            return try cell.decode(T.self)
        } catch {
            throw StorageError.corrupt("\(location): a stored value has an unexpected type (\(error))")
        }
    }

    /// Runs `body` in a transaction (`BEGIN mode` … `COMMIT`), rolled back when it throws.
    func transaction<R>(_ begin: String = "BEGIN", _ body: () throws -> R) throws -> R {
        try execute(begin)
        inTransaction = true
        do {
            let result = try body()
            try execute("COMMIT")
            inTransaction = false
            return result
        } catch {
            inTransaction = false
            _ = try? execute("ROLLBACK")
            throw error
        }
    }

    /// Commits the open transaction and begins the next one (a batched import's commit).
    func commitAndBegin(_ begin: String = "BEGIN") throws {
        try execute("COMMIT")
        try execute(begin)
    }
}

@available(*, unavailable)
extension Session: Sendable {}

private final class ResultBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Result<T, any Error>?

    func set(_ value: Result<T, any Error>) {
        lock.lock()
        stored = value
        lock.unlock()
    }

    var value: Result<T, any Error>? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}

private final class IDCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var last = 0

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        last += 1
        return last
    }
}

/// The server's failures in the storage contract's kinds, by SQLSTATE (never by message text).
enum PostgresFailure {
    static func sqlState(of error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    static func classify(_ error: any Error, location: String, connecting: Bool) -> any Error {
        if error is StorageError { return error }
        guard let psql = error as? PSQLError else {
            return StorageError.cannotOpen(location: location, reason: "\(error)")
        }
        let message = psql.serverInfo?[.message] ?? ""
        switch psql.serverInfo?[.sqlState] {
        case "3D000"?: return StorageError.databaseMissing(location: location)
        case "28000"?, "28P01"?: return StorageError.cannotOpen(location: location, reason: "the server refused the login: \(message)")
        case "42501"?: return StorageError.backend("\(location): permission denied: \(message)")
        case "25006"?: return StorageError.readOnly(location: location)
        case "55P03"?, "40P01"?, "57014"?: return StorageError.busy(message)
        case "53100"?: return StorageError.full(location: location)
        case "P0001"?: return StorageError.backend("\(location): \(message)")
        case let state?: return StorageError.backend("\(location): the database reported \"\(message)\" (SQLSTATE \(state))")
        case nil:
            switch psql.code {
            case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
                guard !connecting else { return StorageError.cannotOpen(location: location, reason: "cannot connect to the server") }
                // Temporary: what was not committed is rolled back by the server, and a retry
                // recognises events already stored by their eventId.
                return StorageError.connectionLost(location: location)
            default:
                return StorageError.backend("\(location): \(psql.code)")
            }
        }
    }
}

// MARK: - Binds and cells

extension PostgresBindings {
    /// Binds in order; bytes go as `ByteBuffer` (bytea), never as `[UInt8]` (an array type).
    init(_ values: any PostgresEncodable...) throws {
        self.init(capacity: values.count)
        for value in values { try appendAny(value) }
    }

    mutating func appendAny(_ value: any PostgresEncodable) throws {
        func open<T: PostgresEncodable>(_ value: T) throws { try append(value) }
        do {
            try open(value)
        } catch {
            throw StorageError.backend("a value could not be sent to the database (\(error))")
        }
    }
}

extension PostgresRandomAccessRow {
    func int64(_ column: Int) throws -> Int64 {
        do { return try self[column].decode(Int64.self) } catch { throw Self.corrupt(column, error) }
    }

    func optionalInt64(_ column: Int) throws -> Int64? {
        do { return try self[column].decode(Int64?.self) } catch { throw Self.corrupt(column, error) }
    }

    func string(_ column: Int) throws -> String {
        do { return try self[column].decode(String.self) } catch { throw Self.corrupt(column, error) }
    }

    func optionalString(_ column: Int) throws -> String? {
        do { return try self[column].decode(String?.self) } catch { throw Self.corrupt(column, error) }
    }

    func bytes(_ column: Int) throws -> [UInt8] {
        guard var buffer = self[column].bytes else { throw Self.corrupt(column, "null") }
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }

    /// The column's raw bytes, lent for the call (a text column's UTF-8, a bytea's bytes).
    func withBytes<R>(_ column: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        guard let buffer = self[column].bytes else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try buffer.withUnsafeReadableBytes(body)
    }

    private static func corrupt(_ column: Int, _ error: Any) -> StorageError {
        StorageError.corrupt("column \(column) of a stored row could not be read (\(error))")
    }
}
