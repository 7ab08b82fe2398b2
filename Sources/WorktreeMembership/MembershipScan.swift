import Foundation
import GitProbe
import Synchronization
import Logging
import PostgresClient
import RegistryClient
import LinuxPlatform

/// `scan` as a stage: walk the roots, compare with this host's rows, write the difference in
/// one transaction (or, dry, only say what it would write). Nothing is written to a repository.
///
/// The walk runs on a thread of its own while this one connects, checks the schema and
/// registers the host: a scan's wall time is the longer of the two, not their sum.
package struct MembershipScan {
    package let connecting: () throws -> PostgresConnection
    package let logger: Logger
    package let host: HostScope
    package var depthLimit: Int
    package var dryRun = false

    /// The id a host not registered yet scans as: it owns no rows, so only host-less rows match.
    package static let unregisteredHost = "00000000-0000-0000-0000-000000000000"

    package func run(roots: [String]) throws -> ScanReport {
        let clock = ContinuousClock()
        let start = clock.now
        let walked = Mutex<(discovery: Discovery, elapsed: Duration)?>(nil)
        let walk = OwnedThread(name: "imi-sync scan")
        walk.start { [depthLimit] in
            let discovery = RepositoryDiscovery(depthLimit: depthLimit).run(roots: roots)
            walked.withLock { $0 = (discovery, clock.now - start) }
        }
        defer { walk.join() }

        let connection = try connecting()
        try SchemaMigrator(connection: connection).requireSchema()
        let registry = Registry(connection: connection)
        let hostID =
            dryRun ? try registry.hostID(named: host.name) ?? Self.unregisteredHost : try host.register(on: registry)
        walk.join()
        guard let (discovery, elapsed) = walked.withLock({ $0 }) else { preconditionFailure("the walk ended without a result") }
        logger.info(
            "walked the roots",
            metadata: [
                "repositories.count": "\(discovery.repositories.count)", "skipped.count": "\(discovery.skipped.count)",
                "elapsed.ms": "\(ScanOutput.milliseconds(elapsed))",
            ])
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
        self.init(connecting: { connection }, logger: logger, host: host, depthLimit: depthLimit, dryRun: dryRun)
    }

    /// `connecting` opens the registry's connection while the roots are walked.
    package init(
        connecting: @escaping () throws -> PostgresConnection, logger: Logger, host: HostScope, depthLimit: Int,
        dryRun: Bool = false
    ) {
        self.dryRun = dryRun
        self.connecting = connecting
        self.logger = logger
        self.host = host
        self.depthLimit = depthLimit
    }
}
