import Foundation

/// What the live subscriptions wait on: the last position this service committed, and
/// whether the service is stopping (open streams then end, so that shutdown is not held up).
final class LiveFeed: @unchecked Sendable {
    private let lock = NSLock()
    private var _head: Int64 = 0
    private var _closed = false

    var head: Int64 {
        lock.lock()
        defer { lock.unlock() }
        return _head
    }

    var isClosed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return _closed
    }

    /// Called after each commit with the log's new last position.
    func published(_ position: Int64) {
        lock.lock()
        if position > _head { _head = position }
        lock.unlock()
    }

    func close() {
        lock.lock()
        _closed = true
        lock.unlock()
    }
}
