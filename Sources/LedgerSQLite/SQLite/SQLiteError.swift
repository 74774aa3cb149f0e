/// A failure reported by SQLite, with everything needed to understand it later.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// The extended result code (for example 2067, SQLITE_CONSTRAINT_UNIQUE).
    public let extendedCode: Int32
    /// `sqlite3_errmsg` at the time of the failure.
    public let message: String
    /// The statement that failed, when there was one.
    public let sql: String?

    public init(extendedCode: Int32, message: String, sql: String?) {
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
    }

    /// The primary result code (the low byte of the extended code).
    public var primaryCode: Int32 { extendedCode & 0xFF }

    /// SQLITE_BUSY or SQLITE_LOCKED: another connection holds the lock; retrying may work.
    public var isBusy: Bool { primaryCode == 5 || primaryCode == 6 }

    /// A UNIQUE or PRIMARY KEY constraint failed.
    public var isUniqueViolation: Bool { extendedCode == 2067 || extendedCode == 1555 }

    /// SQLITE_NOTADB or SQLITE_CORRUPT: the file is not a usable database.
    public var isNotADatabase: Bool { primaryCode == 26 || primaryCode == 11 }

    public var description: String {
        var text = "SQLite error \(extendedCode): \(message)"
        if let sql { text += " (in: \(sql.prefix(200)))" }
        return text
    }
}
