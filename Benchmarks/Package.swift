// swift-tools-version:6.0
import PackageDescription

/// Benchmarks of ClientLedger, in a package of their own so that the main build never
/// compiles them. Run through `tools/bench.sh`, which sets them side by side with the peer
/// (Python eventsourcing) and the raw C SQLite ceiling.
let package = Package(
    name: "ClientLedgerBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "ClientLedger", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "ledger-bench",
            dependencies: [
                .product(name: "LedgerApplication", package: "ClientLedger"),
                .product(name: "LedgerCore", package: "ClientLedger"),
                .product(name: "LedgerDomain", package: "ClientLedger"),
                .product(name: "LedgerProjections", package: "ClientLedger"),
                .product(name: "LedgerSQLite", package: "ClientLedger"),
                .product(name: "LedgerStorage", package: "ClientLedger"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
