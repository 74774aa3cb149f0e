import Foundation
import LedgerConformance
import LedgerSQLite
import LedgerStorage
import LedgerTestSupport
import Testing

/// The SQLite adapter against the storage contract's conformance suite.
struct SQLiteFactory: EventStoreFactory {
    func makeLedger() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clientledger-conformance-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("ledger.db").path
        _ = try SQLiteEventStore.create(at: path)
        return path
    }

    func open(_ location: String, readOnly: Bool) throws -> any EventStore {
        try SQLiteEventStore(path: location, readOnly: readOnly)
    }

    func remove(_ location: String) {
        try? FileManager.default.removeItem(at: URL(fileURLWithPath: location).deletingLastPathComponent())
    }
}

@Suite("SQLite adapter: the storage contract's conformance suite")
struct SQLiteConformanceTests {
    @Test(arguments: EventStoreConformance.cases)
    func conformance(_ check: ConformanceCase) throws {
        try check.run(with: SQLiteFactory())
    }
}
