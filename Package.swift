// swift-tools-version:6.0
import PackageDescription

/// ClientLedger: an event-sourced client-lifecycle and loyalty ledger.
///
/// Dependencies point one way (docs/architecture.md):
///
///     clientledger (CLI) → LedgerCLI → LedgerApplication → LedgerProjections → LedgerDomain → LedgerCore
///                                    │                  └──────→ LedgerStorage → LedgerCore
///                                    └──→ LedgerSQLite (adapter) ──→ LedgerStorage, CSQLite
///
///     clientledger-postgres → LedgerCLI + LedgerPostgres (adapter, postgres-nio) → LedgerStorage:
///     the same commands on a PostgreSQL ledger; `clientledger` runs it for a postgres:// --db.
///
///     clientledger-server → LedgerService (Hummingbird) → LedgerApplication: the HTTP service is
///     its own program, so the CLI builds without the HTTP stack (`clientledger serve` runs it).
///
/// SQL lives only in the adapters (LedgerSQLite, LedgerPostgres); LedgerConformance is the storage contract's test suite,
/// run by every adapter's tests.
let package = Package(
    name: "ClientLedger",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "clientledger", targets: ["clientledger"]),
        .executable(name: "clientledger-server", targets: ["clientledger-server"]),
        .executable(name: "clientledger-postgres", targets: ["clientledger-postgres"]),
        .library(name: "LedgerCore", targets: ["LedgerCore"]),
        .library(name: "LedgerStorage", targets: ["LedgerStorage"]),
        .library(name: "LedgerSQLite", targets: ["LedgerSQLite"]),
        .library(name: "LedgerPostgres", targets: ["LedgerPostgres"]),
        .library(name: "LedgerDomain", targets: ["LedgerDomain"]),
        .library(name: "LedgerProjections", targets: ["LedgerProjections"]),
        .library(name: "LedgerApplication", targets: ["LedgerApplication"]),
        .library(name: "LedgerConformance", targets: ["LedgerConformance"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
        // The HTTP service only (LedgerService, clientledger-server): the CLI never links these.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        // The PostgreSQL backend only (LedgerPostgres, clientledger-postgres, clientledger-server).
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "LedgerCore", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "LedgerStorage", dependencies: ["LedgerCore"]),
        .target(name: "LedgerSQLite", dependencies: ["CSQLite", "LedgerStorage", "LedgerCore"]),
        .target(name: "LedgerConformance", dependencies: ["LedgerStorage", "LedgerCore"]),
        .target(
            name: "LedgerDomain",
            dependencies: ["LedgerCore", .product(name: "Yams", package: "Yams")],
            resources: [.copy("Resources/default-rules.yaml")]
        ),
        .target(name: "LedgerProjections", dependencies: ["LedgerDomain", "LedgerStorage", "LedgerCore"]),
        .target(
            name: "LedgerApplication",
            dependencies: ["LedgerProjections", "LedgerDomain", "LedgerStorage", "LedgerSQLite", "LedgerCore"]
        ),
        .target(
            name: "LedgerPostgres",
            dependencies: [
                "LedgerStorage", "LedgerCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .target(
            name: "LedgerCLI",
            dependencies: [
                "LedgerApplication", "LedgerProjections", "LedgerDomain", "LedgerStorage", "LedgerCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The embedded program: SQLite only, so that its first build stays small. A command
        // given a postgres:// ledger runs clientledger-postgres, the same commands with the
        // PostgreSQL backend linked in.
        .executableTarget(name: "clientledger", dependencies: ["LedgerCLI"]),
        .executableTarget(name: "clientledger-postgres", dependencies: ["LedgerCLI", "LedgerPostgres", "LedgerApplication"]),
        .target(
            name: "LedgerService",
            dependencies: [
                "LedgerApplication", "LedgerProjections", "LedgerDomain", "LedgerStorage", "LedgerCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "clientledger-server",
            dependencies: [
                "LedgerService", "LedgerApplication", "LedgerPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "LedgerTestSupport",
            dependencies: ["LedgerSQLite", "LedgerStorage", "LedgerCore"],
            path: "Tests/LedgerTestSupport"
        ),
        .testTarget(name: "LedgerCoreTests", dependencies: ["LedgerCore", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(
            name: "LedgerSQLiteTests",
            dependencies: ["LedgerSQLite", "LedgerConformance", "LedgerStorage", "LedgerCore", "LedgerTestSupport"]
        ),
        .testTarget(
            name: "LedgerDomainTests",
            dependencies: [
                "LedgerApplication", "LedgerDomain", "LedgerSQLite", "LedgerStorage", "LedgerCore", "LedgerTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "LedgerProjectionsTests",
            dependencies: [
                "LedgerApplication", "LedgerProjections", "LedgerDomain", "LedgerSQLite", "LedgerStorage", "LedgerCore",
                "LedgerTestSupport",
            ]
        ),
        .testTarget(
            name: "ClientLedgerCLITests",
            dependencies: ["LedgerSQLite", "LedgerStorage", "LedgerCore", "LedgerTestSupport"],
            resources: [.copy("BadInput")]
        ),
        .testTarget(
            name: "LedgerServiceTests",
            dependencies: [
                "LedgerService", "LedgerApplication", "LedgerDomain", "LedgerSQLite", "LedgerStorage", "LedgerCore",
                "LedgerTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .testTarget(
            name: "LedgerPostgresTests",
            dependencies: [
                "LedgerPostgres", "LedgerConformance", "LedgerApplication", "LedgerProjections", "LedgerDomain",
                "LedgerStorage", "LedgerCore", "LedgerTestSupport",
            ]
        ),
        .testTarget(
            name: "ReliabilityTests",
            dependencies: [
                "LedgerApplication", "LedgerProjections", "LedgerDomain", "LedgerSQLite", "LedgerStorage", "LedgerCore",
                "LedgerTestSupport",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    target.swiftSettings = settings
}
