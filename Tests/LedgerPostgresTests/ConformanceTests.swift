import Foundation
import LedgerConformance
import LedgerCore
@testable import LedgerPostgres
import LedgerStorage
import Testing

/// The PostgreSQL adapter: each ledger is a new database on the test server.
struct PostgresFactory: EventStoreFactory {
    func makeLedger() throws -> String {
        let location = try TestServer.makeDatabase()
        _ = try PostgresEventStore.create(try PostgresLocation(location))
        return location
    }

    func open(_ location: String, readOnly: Bool) throws -> any EventStore {
        try PostgresBackend().open(location, readOnly: readOnly, clock: SystemClock())
    }

    func remove(_ location: String) {
        TestServer.dropDatabase(location)
    }
}

@Suite("PostgreSQL adapter: the storage contract's conformance suite", .enabled(if: TestServer.isAvailable, TestServer.skipNote))
struct PostgresConformanceTests {
    @Test(arguments: EventStoreConformance.cases)
    func conformance(_ check: ConformanceCase) throws {
        try check.run(with: PostgresFactory())
    }
}
