import Foundation
import GitProbe
import Logging
import PostgresClient
import RegistryClient
import LinuxPlatform

/// `scan` as a stage: walk the roots, compare with this host's rows, write the difference in
/// one transaction (or, dry, only say what it would write). Nothing is written to a repository.
package struct MembershipScan {
    package let connection: PostgresConnection
    package let logger: Logger
    package let host: HostScope
    package var depthLimit: Int
    package var dryRun = false

    /// The id a host not registered yet scans as: it owns no rows, so only host-less rows match.
    package static let unregisteredHost = "00000000-0000-0000-0000-000000000000"

    package func run(roots: [String]) throws -> ScanReport {
        let clock = ContinuousClock()
        let start = clock.now
        let discovery = RepositoryDiscovery(depthLimit: depthLimit).run(roots: roots)
        logger.info(
            "walked the roots",
            metadata: [
                "repositories.count": "\(discovery.repositories.count)", "skipped.count": "\(discovery.skipped.count)",
                "elapsed.ms": "\(ScanOutput.milliseconds(clock.now - start))",
            ])
        try SchemaMigrator(connection: connection).requireSchema()
        let registry = Registry(connection: connection)
        let hostID =
            dryRun ? try registry.hostID(named: host.name) ?? Self.unregisteredHost : try host.register(on: registry)
        var report = try Self.reconcile(discovery, registry: registry, hostID: hostID, dryRun: dryRun)
        report.roots = roots
        report.dryRun = dryRun
        report.elapsed = clock.now - start
        return report
    }

    /// Compares `discovery` with this host's rows and writes the difference in one
    /// transaction holding the host's membership lock (nothing when `dryRun`).
    package static func reconcile(
        _ discovery: Discovery, registry: Registry, hostID: String, dryRun: Bool = false
    ) throws -> ScanReport {
        try registry.withMembershipLock {
            let snapshot = try registry.membershipSnapshot(host: hostID)
            var (changes, report) = MembershipPlan(
                discovery: discovery, snapshot: snapshot, hostID: hostID, exists: Self.exists
            ).make()
            if !dryRun, !changes.isEmpty {
                var ids = try registry.apply(changes, host: hostID)[...]
                for index in report.found.indices where report.found[index].outcome == .registered {
                    report.found[index].id = ids.popFirst()
                }
                changes = MembershipChanges()
            }
            return report
        }
    }

    /// Whether something is at `path`; a dangling link is nothing.
    package static func exists(_ path: String) -> Bool {
        switch FileKind.of(path) {
        case .missing, .danglingLink: false
        default: true
        }
    }

    /// Roots as absolute paths with symbolic links resolved, as libgit2 reports worktrees.
    package static func canonical(_ roots: [String]) -> [String] {
        var seen: Set<String> = []
        return roots.map { URL(fileURLWithPath: $0).standardizedFileURL.resolvingSymlinksInPath().path }
            .filter { seen.insert($0).inserted }
    }

    package init(connection: PostgresConnection, logger: Logger, host: HostScope, depthLimit: Int, dryRun: Bool = false) {
        self.dryRun = dryRun
        self.connection = connection
        self.logger = logger
        self.host = host
        self.depthLimit = depthLimit
    }
}
