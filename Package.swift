// swift-tools-version:6.0
import PackageDescription

/// ClientLedger: an event-sourced client-lifecycle and loyalty ledger on SQLite.
///
/// Dependencies point one way: clientledger (CLI) → LedgerProjections → LedgerDomain → LedgerStore → CSQLite.
let package = Package(
    name: "ClientLedger",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "clientledger", targets: ["clientledger"]),
        .library(name: "LedgerStore", targets: ["LedgerStore"]),
        .library(name: "LedgerDomain", targets: ["LedgerDomain"]),
        .library(name: "LedgerProjections", targets: ["LedgerProjections"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .target(
            name: "LedgerStore",
            dependencies: ["CSQLite", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "LedgerDomain",
            dependencies: ["LedgerStore", .product(name: "Yams", package: "Yams")],
            resources: [.copy("Resources/default-rules.yaml")]
        ),
        .target(name: "LedgerProjections", dependencies: ["LedgerDomain", "LedgerStore"]),
        .executableTarget(
            name: "clientledger",
            dependencies: [
                "LedgerProjections", "LedgerDomain", "LedgerStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "LedgerStoreTests", dependencies: ["LedgerStore"]),
        .testTarget(
            name: "LedgerDomainTests",
            dependencies: [
                "LedgerDomain", "LedgerStore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "LedgerProjectionsTests", dependencies: ["LedgerProjections", "LedgerDomain", "LedgerStore"]),
        .testTarget(
            name: "ClientLedgerCLITests",
            dependencies: ["LedgerStore"],
            resources: [.copy("BadInput")]
        ),
        .testTarget(name: "ReliabilityTests", dependencies: ["LedgerProjections", "LedgerDomain", "LedgerStore"]),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    target.swiftSettings = settings
}
