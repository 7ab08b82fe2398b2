// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "imi-sync",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "imi-sync", targets: ["SyncAgent"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CGit2",
            pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "GitProbe",
            dependencies: ["CGit2"]
        ),
        .target(
            name: "RegistryClient",
            dependencies: [
                "CLibPQ",
                "CSQLite",
                "CZlib",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "SyncAgent",
            dependencies: [
                "GitProbe",
                "RegistryClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "TestSupport",
            dependencies: ["RegistryClient"],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "GitProbeTests",
            dependencies: ["GitProbe", "TestSupport"]
        ),
        .testTarget(
            name: "RegistryClientTests",
            dependencies: ["RegistryClient", "TestSupport"]
        ),
        .testTarget(
            name: "SyncAgentTests",
            dependencies: [
                "SyncAgent", "GitProbe", "RegistryClient", "TestSupport",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
    ]
)
