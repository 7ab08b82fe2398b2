import RegistryDocuments
import Foundation
import GitProbe
import PostgresClient
import RegistryClient
import SystemPackage
import SyncAgent
import SyncConfiguration

/// The checks themselves, in dependency order: later ones are skipped when the database is
/// out of reach.
struct DoctorChecks {
    var global: GlobalOptions
    var procRoot = "/proc/sys/fs/inotify"

    func run() -> [Doctor.Check] {
        var checks: [Doctor.Check] = []
        let config: ResolvedConfig
        do {
            config = try global.resolvedConfig()
            checks.append(.init(name: "configuration", outcome: .ok,
                                detail: config.configFileFound
                                    ? config.configPath
                                    : "no config file (\(config.configPath): \(config.configFileNote ?? "none")); using environment and defaults"))
        } catch {
            checks.append(.init(name: "configuration", outcome: .failure, detail: "\(error)", exitCode: 78))
            return checks
        }
        let connection: PostgresConnection
        do {
            // The schema is one of the checks: opened without requiring it.
            connection = try Registry.open(config.connectionSettings, checkingSchema: false).connection
            let version = connection.serverVersion
            let major = version / 10000
            checks.append(.init(
                name: "database", outcome: major >= 14 ? .ok : .failure,
                detail: "PostgreSQL \(major) at \(config.connectionSettings.redactedDescription)"
                    + (major >= 14 ? "" : "; the registry needs PostgreSQL 14 or newer")))
        } catch {
            let unreachable = (error as? PostgresError)?.code == .connection
            checks.append(.init(name: "database", outcome: .failure, detail: "\(error)", exitCode: unreachable ? 69 : nil))
            checks.append(serviceCheck())
            return checks
        }
        checks.append(schemaCheck(connection))
        guard checks.last?.outcome != .failure else {
            checks.append(serviceCheck())
            return checks
        }
        let registry = Registry(connection: connection)
        checks.append(poolingCheck(connection, config: config))
        checks.append(hubCheck(config: config))
        checks.append(writeCheck(registry, target: config.connectionSettings.redactedDescription))
        checks.append(hostCheck(registry, host: config.hostName.value))
        checks.append(integrityCheck(registry))
        let worktrees = (try? registry.activeWorktrees()) ?? []
        checks.append(pathsCheck(worktrees))
        checks.append(inotifyCheck(worktrees))
        checks.append(freshnessCheck(registry, worktreeCount: worktrees.count))
        checks.append(serviceCheck())
        return checks
    }

    func schemaCheck(_ connection: PostgresConnection) -> Doctor.Check {
        let migrator = SchemaMigrator(connection: connection)
        func failure(_ detail: String) -> Doctor.Check {
            .init(name: "schema", outcome: .failure, detail: detail, exitCode: 78)
        }
        do {
            try migrator.requireSchema()
            let missing = try migrator.missingObjects()
            if !missing.isEmpty {
                return failure("the registry lacks what imi-sync reads and writes: \(missing.joined(separator: ", ")); "
                    + "restore it (`imi-sync migrate --schema-only` re-creates views and functions)")
            }
            let status = try migrator.status()
            guard let applied = status.applied else {
                return .init(name: "schema", outcome: .warning,
                             detail: "tables exist but imi-sync never recorded a migration; run `imi-sync migrate --schema-only`")
            }
            if !status.pending.isEmpty {
                return failure("migrations not applied: \(status.pending.joined(separator: ", ")); run `imi-sync migrate --schema-only`")
            }
            if !status.unknown.isEmpty {
                return .init(name: "schema", outcome: .warning,
                             detail: "versions \(status.unknown.map(String.init).joined(separator: ", ")) were applied by a newer imi-sync; upgrade imi-sync")
            }
            let version = applied.max() ?? 0
            return .init(name: "schema", outcome: .ok, detail: "version \(version); every table column, view and function imi-sync uses is there")
        } catch {
            return failure("\(error)")
        }
    }

    /// The agent's git-state UPDATE and heartbeat, tried on no rows and rolled back: a
    /// revoked privilege or a read-only database fails here exactly as it would for `run`.
    func writeCheck(_ registry: Registry, target: String) -> Doctor.Check {
        do {
            guard let refusal = try registry.stateWriteRefusal() else {
                return .init(name: "registry writes", outcome: .ok,
                             detail: "git-state updates and heartbeats are accepted for \(target)")
            }
            return .init(name: "registry writes", outcome: .failure,
                         detail: "the registry refuses git-state updates for \(target): \(refusal); "
                            + "`imi-sync run` keeps the states and retries until it accepts them")
        } catch {
            return .init(name: "registry writes", outcome: .failure, detail: "\(error)")
        }
    }

    /// Whether the database role may write the rows of the host this machine names: a host's
    /// own role writes only its host's rows, and a write for another host matches no row
    /// without an error, so `run` would look healthy while storing nothing.
    func hostCheck(_ registry: Registry, host: String) -> Doctor.Check {
        do {
            let authority = try registry.hostAuthority(named: host)
            if let problem = authority.problem {
                return .init(name: "host", outcome: .failure, detail: problem)
            }
            let scope = authority.fenced ? "its own host's rows only" : "every host's rows"
            return .init(name: "host", outcome: .ok, detail: "role \(authority.role) acts for host '\(host)' (it may write \(scope))")
        } catch {
            return .init(name: "host", outcome: .failure, detail: "cannot check role against host '\(host)': \(error)")
        }
    }

    func integrityCheck(_ registry: Registry) -> Doctor.Check {
        do {
            let problems = try registry.integrityProblems()
            if problems.isEmpty {
                return .init(name: "integrity", outcome: .ok, detail: "no orphans, duplicates or unvalidated constraints")
            }
            return .init(name: "integrity", outcome: .failure,
                         detail: problems.map { "\($0.check): \($0.rows)" }.joined(separator: "; "))
        } catch {
            return .init(name: "integrity", outcome: .failure, detail: "\(error)")
        }
    }

    /// Every active worktree exists and can be read by libgit2 (an unsupported repository
    /// format, such as SHA-256 object names or a sparse index, is named with its setting).
    func pathsCheck(_ worktrees: [RegisteredWorktree]) -> Doctor.Check {
        let probe = GitProbe(splitsLargeWorktrees: false)
        var missing: [String] = []
        var unreadable: [String] = []
        for worktree in worktrees {
            do {
                try probe.checkReadable(path: worktree.path)
            } catch where error.code == .missingPath {
                missing.append(worktree.path)
            } catch {
                unreadable.append(error.description)
            }
        }
        if !unreadable.isEmpty {
            return .init(name: "worktree paths", outcome: .failure,
                         detail: "\(unreadable.count) of \(worktrees.count) active worktrees cannot be read: "
                            + unreadable.prefix(3).joined(separator: "; "))
        }
        if !missing.isEmpty {
            let examples = missing.prefix(3).joined(separator: ", ")
            return .init(name: "worktree paths", outcome: .warning,
                         detail: "\(missing.count) of \(worktrees.count) active worktrees are missing on disk (\(examples))")
        }
        return .init(name: "worktree paths", outcome: .ok, detail: "all \(worktrees.count) active worktrees exist and can be read")
    }

    /// The watches `run` would add (the same ``WatchPlan`` walk, symbolic links never
    /// followed) against `fs.inotify.max_user_watches`.
    func inotifyCheck(_ worktrees: [RegisteredWorktree]) -> Doctor.Check {
        guard let limit = readInt("\(procRoot)/max_user_watches") else {
            return .init(name: "inotify", outcome: .warning, detail: "cannot read \(procRoot)/max_user_watches")
        }
        let instances = readInt("\(procRoot)/max_user_instances") ?? 0
        let needed = worktrees.reduce(0) { total, worktree in
            guard let layout = try? WorktreeLayout(worktreePath: worktree.path) else { return total }
            return total + WatchPlan(root: FilePath(worktree.path), layout: layout).watchCount
        }
        let detail = "about \(needed) watches needed for \(worktrees.count) worktrees; limit \(limit) "
            + "(max_user_instances \(instances))"
        if needed > limit {
            return .init(name: "inotify", outcome: .warning,
                         detail: detail + "; raise it: sudo sysctl fs.inotify.max_user_watches=\(needed * 2) "
                            + "(persist in /etc/sysctl.d/90-imi-sync.conf); until then the agent polls the rest")
        }
        return .init(name: "inotify", outcome: .ok, detail: detail)
    }

    func freshnessCheck(_ registry: Registry, worktreeCount: Int) -> Doctor.Check {
        guard let stats = try? registry.stats() else {
            return .init(name: "last sync", outcome: .warning, detail: "cannot read get_registry_stats()")
        }
        guard worktreeCount > 0 else { return .init(name: "last sync", outcome: .ok, detail: "no active worktrees") }
        guard let last = stats.lastSyncAt else {
            return .init(name: "last sync", outcome: .warning, detail: "never; run `imi-sync once` or start the service")
        }
        let stale = Date().timeIntervalSince1970 - last > 3600
        return .init(name: "last sync", outcome: stale ? .warning : .ok,
                     detail: age(sinceEpoch: last) + (stale ? "; is `imi-sync run` running?" : ""))
    }

    /// Reads the unit's installation from the XDG paths and looks for a running agent in
    /// /proc, so no other program has to be started.
    func serviceCheck() -> Doctor.Check {
        let paths = XDGPaths(environment: ProcessInfo.processInfo.environment)
        let unitDirectory = paths.configHome + "/systemd/user"
        let installed = FileManager.default.fileExists(atPath: unitDirectory + "/imi-sync.service")
        let enabled = FileManager.default.fileExists(
            atPath: unitDirectory + "/default.target.wants/imi-sync.service")
        let running = runningAgents()
        let detail = "unit \(installed ? "installed" : "not installed")\(enabled ? " and enabled" : ""); "
            + (running.isEmpty ? "no `imi-sync run` process" : "`imi-sync run` running (pid \(running.map(String.init).joined(separator: ", ")))")
        if running.isEmpty {
            return .init(name: "service", outcome: .warning,
                         detail: detail + (installed ? "; systemctl --user enable --now imi-sync.service" : "; see deploy/install.sh"))
        }
        return .init(name: "service", outcome: .ok, detail: detail)
    }

    /// Process ids whose command line is `…/imi-sync run …`.
    private func runningAgents() -> [Int] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return arguments.count >= 2 && arguments[0].hasSuffix("imi-sync") && arguments[1] == "run"
        }.sorted()
    }

    private func readInt(_ path: String) -> Int? {
        (try? String(contentsOfFile: path, encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}
