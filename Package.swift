// swift-tools-version:6.0
import PackageDescription

/// ClientLedger: an event-sourced client-lifecycle and loyalty ledger.
///
/// Dependencies point one way (docs/architecture.md):
///
///     clientledger (CLI) → LedgerApplication → LedgerProjections → LedgerDomain → LedgerCore
///                                    │                  └──────→ LedgerStorage → LedgerCore
///                                    └──→ LedgerSQLite (adapter) ──→ LedgerStorage, CSQLite
///
/// SQL lives only in LedgerSQLite; LedgerConformance is the storage contract's test suite,
/// run by every adapter's tests.
let package = Package(
    name: "ClientLedger",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "clientledger", targets: ["clientledger"]),
        .library(name: "LedgerCore", targets: ["LedgerCore"]),
        .library(name: "LedgerStorage", targets: ["LedgerStorage"]),
        .library(name: "LedgerSQLite", targets: ["LedgerSQLite"]),
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
        .executableTarget(
            name: "clientledger",
            dependencies: [
                "LedgerApplication", "LedgerProjections", "LedgerDomain", "LedgerStorage", "LedgerCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
