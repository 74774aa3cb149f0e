internal import CSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a connection opens its database file.
public enum OpenMode: Sendable {
    /// Read only: the file must exist. Used by every command that only reads.
    case readOnly
    /// Read and write: the file must exist.
    case readWrite
    /// Read and write, creating the file (mode 0600) when it does not exist.
    case create
}

/// One SQLite connection, configured for the ledger: WAL, `synchronous=FULL`, foreign keys
/// and a busy timeout. A read-only connection to a ledger in a folder the user cannot write
/// falls back to an immutable open (see `openHandle`).
///
/// A connection is not `Sendable`: one owner uses it at a time.
public final class Connection {
    let handle: OpaquePointer
    public let path: String
    public let mode: OpenMode
    private var statementCache: [String: Statement] = [:]
    private var transactionDepth = 0

    /// Opens (and for `.create`, creates) the database at `path`.
    /// `enableWAL: false` leaves the journal mode alone until `enableWAL()` is called (the
    /// event log checks a file is a ledger before changing anything in it).
    public init(path: String, mode: OpenMode, busyTimeoutMilliseconds: Int32 = 5_000, enableWAL: Bool = true) throws(SQLiteError) {
        if mode == .create {
            // Create the file ourselves so it is never world-readable, whatever the umask.
            let fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0o600)
            if fd >= 0 { close(fd) }
        }
        let (pointer, immutable) = try Self.openHandle(path: path, mode: mode)
        self.handle = pointer
        self.path = path
        self.mode = mode
        self.isImmutable = immutable
        sqlite3_extended_result_codes(pointer, 1)
        sqlite3_busy_timeout(pointer, busyTimeoutMilliseconds)
        do {
            try configure(enableWAL: enableWAL)
        } catch {
            statementCache.removeAll()
            sqlite3_close_v2(pointer)
            throw error
        }
    }

    /// Whether the file was opened with `immutable=1` (see `openHandle`).
    public let isImmutable: Bool

    /// Opens the handle; for a read-only connection, falls back to an immutable open when the
    /// ordinary one cannot read the file for want of write access to its folder.
    ///
    /// A WAL database is read through its `-shm` file (the WAL index), which a reader must be
    /// able to create when it is absent. In a folder the user can only read — or one that is
    /// immutable even for root — that fails with SQLITE_CANTOPEN, and the ledger could not be
    /// read at all. SQLite's documented way to read such a file ("Read-Only Databases" in
    /// wal.html) is the `immutable=1` URI parameter: no locks, no `-shm`, no `-wal`.
    ///
    /// The trade-off: `immutable` promises SQLite that nobody changes the file while it is
    /// open, and it ignores the `-wal`. So the fallback is used only when
    /// - the connection is read-only (it never writes, so it cannot damage anything),
    /// - the ordinary open failed with SQLITE_CANTOPEN or SQLITE_READONLY and the file is
    ///   readable — i.e. this process cannot create the `-shm`, so no writer with the same
    ///   rights can be running (a writer needs the `-shm` and `-wal` too), and
    /// - there is no `-wal` with content: transactions committed to a `-wal` but not yet
    ///   checkpointed would be missed, so then the open is refused with a message saying so.
    /// A writer with more rights than this process (another user who can write the folder)
    /// could still commit while the file is read; such a read may then be inconsistent.
    /// Nothing is ever written through this connection, so the risk is a wrong answer during
    /// a concurrent write by someone else, not damage.
    static func openHandle(path: String, mode: OpenMode) throws(SQLiteError) -> (OpaquePointer, immutable: Bool) {
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        flags |= (mode == .readOnly) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        let pointer = try rawOpen(path, flags: flags)
        guard mode == .readOnly else { return (pointer, false) }
        // The first read opens the WAL index: that is where a read-only folder fails.
        let probe = sqlite3_exec(pointer, "PRAGMA schema_version", nil, nil, nil)
        let primary = sqlite3_extended_errcode(pointer) & 0xFF
        guard probe != SQLITE_OK, primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY, access(path, R_OK) == 0 else {
            // Opened, or failed for another reason: `configure` reports it as before.
            return (pointer, false)
        }
        sqlite3_close_v2(pointer)
        var wal = stat()
        if stat(path + "-wal", &wal) == 0, wal.st_size > 0 {
            throw SQLiteError(
                extendedCode: SQLITE_CANTOPEN,
                message: "its write-ahead log \(path)-wal holds transactions not yet checkpointed into the main file, and reading them needs write access to the folder (for the -shm file); run it where the folder can be written, or checkpoint it there first",
                sql: nil)
        }
        let immutable = try rawOpen(uri(readOnlyImmutable: path), flags: flags | SQLITE_OPEN_URI)
        return (immutable, true)
    }

    /// `sqlite3_open_v2`, closing the handle again when it fails.
    private static func rawOpen(_ name: String, flags: Int32) throws(SQLiteError) -> OpaquePointer {
        var pointer: OpaquePointer?
        let code = sqlite3_open_v2(name, &pointer, flags, nil)
        guard code == SQLITE_OK, let pointer else {
            let message = pointer.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            if let pointer { sqlite3_close_v2(pointer) }
            throw SQLiteError(extendedCode: code, message: message, sql: nil)
        }
        return pointer
    }

    /// `file:PATH?mode=ro&immutable=1`, with every byte of the path that is not plainly safe
    /// in a URI percent-encoded (`?`, `#` and `%` would otherwise end or change the path), and
    /// leading slashes collapsed to one (`//` would start an authority).
    static func uri(readOnlyImmutable path: String) -> String {
        var encoded = ""
        var leading = true
        for byte in path.utf8 {
            if byte == UInt8(ascii: "/") {
                if leading, encoded.hasSuffix("/") { continue }
                encoded.append("/")
                continue
            }
            leading = false
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.append(Character(Unicode.Scalar(byte)))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                encoded.append("%" + (hex.count == 1 ? "0" + hex : hex))
            }
        }
        return "file:" + encoded + "?mode=ro&immutable=1"
    }

    deinit {
        statementCache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Page cache of a read-write connection, in KiB.
    public static let writerCacheKiB = 32_768
    /// Page cache of a read-only connection, in KiB.
    public static let readerCacheKiB = 16_384

    private func configure(enableWAL: Bool) throws(SQLiteError) {
        // Touch the schema first: a file that is not a database fails here, clearly.
        _ = try scalarInt("PRAGMA schema_version")
        if enableWAL { try self.enableWAL() }
        // Page cache (docs/storage.md, "Connection settings"): a writer keeps the unique
        // indexes' hot pages; a reader scans and looks up single streams, which a small cache
        // serves as well. An import runs one of each, so their sum bounds its cache memory.
        // secure_delete FAST: deleted content is zeroed where that costs no extra I/O (the
        // personal-data keys' table; `forget` turns it fully on for its delete).
        let cacheKiB = mode == .readOnly ? Self.readerCacheKiB : Self.writerCacheKiB
        try execute("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-\(cacheKiB); PRAGMA temp_store=MEMORY; PRAGMA secure_delete=FAST")
        var enabled: Int32 = 0
        _ = clientledger_sqlite_db_config_int(handle, SQLITE_DBCONFIG_DEFENSIVE, 1, &enabled)
    }

    /// Switches a writable connection to WAL and checks that it took.
    public func enableWAL() throws(SQLiteError) {
        guard mode != .readOnly else { return }
        let journal = try scalarString("PRAGMA journal_mode=WAL")
        guard journal.lowercased() == "wal" else {
            throw SQLiteError(extendedCode: SQLITE_ERROR, message: "could not switch to WAL (journal_mode is \(journal))", sql: "PRAGMA journal_mode=WAL")
        }
    }

    // MARK: - Errors

    func error(code: Int32, sql: String?) -> SQLiteError {
        let extended = sqlite3_extended_errcode(handle)
        return SQLiteError(
            extendedCode: extended != 0 ? extended : code,
            message: String(cString: sqlite3_errmsg(handle)),
            sql: sql)
    }

    // MARK: - Statements

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(SQLiteError) {
        let code = sqlite3_exec(handle, sql, nil, nil, nil)
        guard code == SQLITE_OK else { throw error(code: code, sql: sql) }
    }

    /// A new prepared statement, owned by the caller.
    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        try Statement(connection: self, sql: sql)
    }

    /// A prepared statement kept for the life of the connection: for hot paths.
    public func cached(_ sql: String) throws(SQLiteError) -> Statement {
        if let statement = statementCache[sql] {
            statement.reset()
            return statement
        }
        let statement = try Statement(connection: self, sql: sql)
        statementCache[sql] = statement
        return statement
    }

    /// The first column of the first row as an integer (0 when there is no row or it is NULL).
    public func scalarInt(_ sql: String, _ bindings: [String] = []) throws(SQLiteError) -> Int64 {
        let statement = try cached(sql)
        defer { statement.reset() }
        for (offset, value) in bindings.enumerated() { statement.bind(value, at: Int32(offset + 1)) }
        return try statement.step() ? statement.int64(at: 0) : 0
    }

    /// The first column of the first row as text ("" when there is no row).
    public func scalarString(_ sql: String) throws(SQLiteError) -> String {
        let statement = try prepare(sql)
        return try statement.step() ? statement.string(at: 0) : ""
    }

    /// Frees what SQLite's caches can spare and hands memory the allocator no longer uses
    /// back to the system: for long jobs that work in rounds (a partitioned rebuild).
    public func releaseMemory() {
        sqlite3_db_release_memory(handle)
        clientledger_release_free_memory()
    }

    /// The rowid of the last row inserted on this connection.
    public var lastInsertedRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// Whether a transaction is open on this connection.
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    // MARK: - Transactions

    /// Runs `body` in a write transaction (`BEGIN IMMEDIATE` … `COMMIT`); rolls back and
    /// rethrows the body's error on failure. Nested calls use savepoints.
    public func write<R>(_ body: () throws -> R) throws -> R {
        if transactionDepth > 0 {
            let name = "nested_\(transactionDepth)"
            try execute("SAVEPOINT \(name)")
            transactionDepth += 1
            do {
                let result = try body()
                transactionDepth -= 1
                try execute("RELEASE \(name)")
                return result
            } catch {
                transactionDepth -= 1
                try? execute("ROLLBACK TO \(name); RELEASE \(name)")
                throw error
            }
        }
        try execute("BEGIN IMMEDIATE")
        transactionDepth = 1
        do {
            let result = try body()
            try execute("COMMIT")
            transactionDepth = 0
            return result
        } catch {
            transactionDepth = 0
            // Keep the first error: a failed rollback must not hide why we rolled back.
            if isInTransaction { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Runs `body` in a read transaction, so that every query sees one consistent snapshot.
    public func read<R>(_ body: () throws -> R) throws -> R {
        if transactionDepth > 0 || isInTransaction { return try body() }
        try execute("BEGIN DEFERRED")
        transactionDepth = 1
        defer {
            transactionDepth = 0
            if isInTransaction { try? execute("COMMIT") }
        }
        return try body()
    }
}

@available(*, unavailable)
extension Connection: Sendable {}
