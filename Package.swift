// swift-tools-version:6.0
import PackageDescription

// Modules by concern (docs/architecture.md, "Layout"):
//   GitProbe         libgit2 -> WorktreeState (read-only)
//   PostgresClient   libpq: connection, typed binds and decodes, transactions, COPY, LISTEN
//   RegistryClient   the iMi schema: migrations, typed queries, batched writes
//   LegacyMigration  the legacy SQLite registry: read, import, verify, export, archive
//   LinuxPlatform    the only libc caller: inotify, file kinds, bounded opens, systemd, journald
//   SyncConfiguration  config.toml, flags and environment resolved into one value
//   WorktreeProbing  a worktree's state read with GitProbe on guarded worker threads
//   OverlapForecast  the overlap and conflict forecast between worktrees
//   WorktreeMembership  which worktrees exist on this host: discovery, scan, adoption
//   RegistryDocuments  the JSON documents and tables commands, mcp and serve print
//   SyncAgent        the agent: its loop and stages (`run`), and the one-shot pass (`once`)
//   McpServer        `imi-sync mcp`: tools for agents over stdio, through the agent's hub or not
//   AgentHub         the Unix socket between a host's agent and its mcp sessions
//   RegistryEvents   the registry's changes (LISTEN, or a version poll) fanned out in process
//   RegistryServe    `imi-sync serve`: the live dashboard and its JSON and event API (Hummingbird)
//   ImiSyncCLI       the imi-sync executable: Commands/ and main
let package = Package(
    name: "imi-sync",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "imi-sync", targets: ["ImiSyncCLI"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", exact: "0.12.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
    ],
    targets: [
        .systemLibrary(name: "CGit2", pkgConfig: "libgit2", providers: [.apt(["libgit2-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "GitProbe",
            dependencies: ["CGit2", "COpenSSL"]
        ),
        .target(
            name: "PostgresClient",
            dependencies: ["CLibPQ"]
        ),
        .target(
            name: "RegistryClient",
            dependencies: ["PostgresClient"]
        ),
        .target(
            name: "LegacyMigration",
            dependencies: ["PostgresClient", "RegistryClient", "CSQLite", "CArchive", "COpenSSL", "CZlib"]
        ),
        .target(
            name: "LinuxPlatform",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "SyncConfiguration",
            dependencies: [
                "PostgresClient", "RegistryClient", "LegacyMigration", "LinuxPlatform",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .target(
            name: "WorktreeProbing",
            dependencies: ["GitProbe", "RegistryClient", "LinuxPlatform", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "OverlapForecast",
            dependencies: [
                "GitProbe", "PostgresClient", "RegistryClient", "WorktreeProbing", "SyncConfiguration",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "WorktreeMembership",
            dependencies: [
                "GitProbe", "PostgresClient", "RegistryClient", "LinuxPlatform", "SyncConfiguration", "RegistryDocuments",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "RegistryDocuments",
            dependencies: ["RegistryClient"]
        ),
        .target(
            name: "SyncAgent",
            dependencies: [
                "GitProbe", "PostgresClient", "RegistryClient", "LegacyMigration", "LinuxPlatform",
                "SyncConfiguration", "WorktreeProbing", "OverlapForecast", "WorktreeMembership", "RegistryDocuments",
                "AgentHub", "McpServer", "RegistryEvents",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "McpServer",
            dependencies: [
                "GitProbe", "PostgresClient", "RegistryClient", "LinuxPlatform", "SyncConfiguration",
                "WorktreeProbing", "WorktreeMembership", "RegistryDocuments", "AgentHub", "RegistryEvents",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MCP", package: "swift-sdk"),
            ]
        ),
        .target(
            name: "RegistryEvents",
            dependencies: ["PostgresClient", "RegistryClient", "LinuxPlatform", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "RegistryServe",
            dependencies: [
                "PostgresClient", "RegistryClient", "RegistryDocuments", "LinuxPlatform", "McpServer", "RegistryEvents",
                "GitProbe",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "AgentHub",
            dependencies: ["LinuxPlatform", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "ImiSyncCLI",
            dependencies: [
                "GitProbe", "PostgresClient", "RegistryClient", "LegacyMigration", "LinuxPlatform",
                "SyncConfiguration", "WorktreeProbing", "OverlapForecast", "WorktreeMembership",
                "RegistryDocuments", "SyncAgent", "McpServer", "AgentHub", "RegistryServe", "RegistryEvents",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .target(
            name: "TestSupport",
            dependencies: ["PostgresClient", "RegistryClient", "LegacyMigration"],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "GitProbeTests",
            dependencies: ["GitProbe", "TestSupport"]
        ),
        .testTarget(
            name: "PostgresClientTests",
            dependencies: ["PostgresClient", "TestSupport"]
        ),
        .testTarget(
            name: "RegistryClientTests",
            dependencies: ["PostgresClient", "RegistryClient", "TestSupport"]
        ),
        .testTarget(
            name: "LegacyMigrationTests",
            dependencies: ["PostgresClient", "RegistryClient", "LegacyMigration", "TestSupport"]
        ),
        .testTarget(
            name: "SyncAgentTests",
            dependencies: [
                "ImiSyncCLI", "SyncAgent", "McpServer", "RegistryDocuments", "WorktreeMembership", "OverlapForecast",
                "WorktreeProbing", "SyncConfiguration", "LinuxPlatform", "AgentHub",
                "GitProbe", "PostgresClient", "RegistryClient", "LegacyMigration", "TestSupport",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
    ]
)
