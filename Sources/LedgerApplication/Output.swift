import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Output that could not be written in full: a full disk, a file-size limit, a closed pipe,
/// a folder that does not exist. Every front end reports it the same way (the CLI: exit 74).
public struct OutputError: Error, CustomStringConvertible, Sendable {
    /// What was being written: a path, or "standard output".
    public var target: String
    /// Why, in words a person can act on.
    public var reason: String
    /// Whether a partial file was removed (so the reader knows nothing half-written is left).
    public var partialFileRemoved: Bool

    public init(target: String, reason: String, partialFileRemoved: Bool = false) {
        self.target = target
        self.reason = reason
        self.partialFileRemoved = partialFileRemoved
    }

    /// An error for a failed system call, from its `errno`.
    public init(target: String, errno code: Int32, partialFileRemoved: Bool = false) {
        self.init(target: target, reason: Self.reason(errno: code), partialFileRemoved: partialFileRemoved)
    }

    public var description: String {
        "cannot write \(target): \(reason)" + (partialFileRemoved ? "; no partial file was left behind" : "")
    }

    /// The words for the errors output runs into; `strerror` for the rest.
    static func reason(errno code: Int32) -> String {
        switch code {
        case ENOSPC: return "no space left on the device (the disk is full)"
        case EFBIG: return "the file is larger than the file-size limit allows"
        case EPIPE: return "the reading end of the pipe was closed"
        case EDQUOT: return "the disk quota is exceeded"
        case EROFS: return "the file system is read-only"
        case EACCES, EPERM: return "permission denied"
        case EIO: return "an input/output error on the device"
        default: return String(cString: strerror(code))
        }
    }
}

/// Writes bytes to an open file descriptor with `write(2)`, buffered, checking every call:
/// a short write is continued, `EINTR` retried, and any other failure thrown as an
/// `OutputError`. Unlike `print` (which drops errors) and `FileHandle.write` (which traps),
/// a failed write here is an error the caller can report.
///
/// Callers that share one instance across threads must serialize their calls; the lock
/// here only keeps the buffer consistent.
public final class CheckedOutput: @unchecked Sendable {
    /// What the descriptor is, for messages.
    public let target: String
    let descriptor: Int32
    private var buffer: [UInt8] = []
    private let capacity: Int
    private let lock = NSLock()
    /// Flush after every write (a terminal, where a person waits for each line).
    public let flushesEveryWrite: Bool
    /// The first failure: once a write failed, every later write fails the same way.
    public private(set) var failure: OutputError?

    public init(descriptor: Int32, target: String, bufferSize: Int = 1 << 16, flushesEveryWrite: Bool = false) {
        self.descriptor = descriptor
        self.target = target
        self.capacity = max(1, bufferSize)
        self.flushesEveryWrite = flushesEveryWrite
        buffer.reserveCapacity(capacity)
    }

    /// Appends the UTF-8 of `text`, writing the buffer out when it is full.
    public func write(_ text: String) throws(OutputError) {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= capacity || flushesEveryWrite { try drain() }
    }

    /// Appends `text` and a line feed.
    public func line(_ text: String) throws(OutputError) {
        try write(text + "\n")
    }

    /// Writes out everything buffered.
    public func flush() throws(OutputError) {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
        try drain()
    }

    /// Forgets what is buffered (the output is being abandoned).
    func discardBuffer() {
        lock.lock()
        buffer.removeAll()
        lock.unlock()
    }

    private func drain() throws(OutputError) {
        guard !buffer.isEmpty else { return }
        var failedWith: Int32 = 0
        buffer.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var offset = 0
            while offset < raw.count {
                let written = systemWrite(descriptor, base + offset, raw.count - offset)
                if written > 0 {
                    offset += written
                    continue
                }
                let code = written < 0 ? errno : EIO
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK {
                    // A non-blocking descriptor: wait until it can take more.
                    var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                    if poll(&ready, 1, -1) >= 0 || errno == EINTR { continue }
                }
                failedWith = code
                return
            }
        }
        buffer.removeAll(keepingCapacity: true)
        if failedWith != 0 {
            let error = OutputError(target: target, errno: failedWith)
            failure = error
            throw error
        }
    }
}

/// `write(2)` under one name on every platform (a bare `write` inside the class would be
/// its own method).
@inline(__always)
func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(descriptor, bytes, count)
    #else
    return Darwin.write(descriptor, bytes, count)
    #endif
}
