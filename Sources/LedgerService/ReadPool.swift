import Dispatch
import Foundation
import LedgerApplication
import LedgerCore
import LedgerStorage

/// Read-only handles on the ledger, reused across requests; reads run on their own threads
/// (SQLite calls block), never on the server's event loops.
final class ReadPool: @unchecked Sendable {
    let location: String
    let clock: any LedgerClock
    private let lock = NSLock()
    private var idle: [any EventStore] = []
    private let queue = DispatchQueue(label: "clientledger.reads", attributes: .concurrent)

    init(location: String, clock: any LedgerClock) {
        self.location = location
        self.clock = clock
    }

    /// Runs `body` on a reading thread with a read-only store of the ledger.
    func withStore<T: Sendable>(_ body: @escaping @Sendable (any EventStore) throws -> T) async throws -> T {
        try await blocking {
            let store = try self.take()
            defer { self.give(store) }
            return try body(store)
        }
    }

    /// Runs blocking work (SQLite, file reads) on a reading thread.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    private func take() throws -> any EventStore {
        lock.lock()
        let store = idle.popLast()
        lock.unlock()
        return try store ?? LedgerStores.open(location, readOnly: true, clock: clock)
    }

    private func give(_ store: any EventStore) {
        lock.lock()
        if idle.count < 16 { idle.append(store) }
        lock.unlock()
    }
}
