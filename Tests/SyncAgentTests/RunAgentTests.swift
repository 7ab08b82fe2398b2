import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent
@testable import LinuxPlatform
@testable import WorktreeMembership

@Suite("imi-sync run: real inotify, git and PostgreSQL", .serialized, .ownThreads)
struct RunAgentTests {
    let fixture: GitFixture

    init() throws {
        fixture = try GitFixture()
    }

    func write(_ text: String, _ path: String, in directory: URL) throws {
        try text.write(to: directory.appendingPathComponent(path), atomically: false, encoding: .utf8)
    }

    @Test("first sync writes every worktree; an edit and a commit update only that row")
    func editAndCommit() async throws {
        let registry = try RegistrySeeder.freshRegistry(prefix: "run")
        let project = try fixture.makeProject("app")
        let linked = try fixture.addWorktree("feat-login", branch: "feat/login", to: project)
        let projectID = try registry.addProject("app", trunk: project.trunk)
        let trunkID = try registry.addWorktree("trunk-main", path: project.trunk, project: projectID)
        let linkedID = try registry.addWorktree("feat-login", path: linked, project: projectID, branch: "feat/login")
        let head = try fixture.revParseHEAD(in: project.trunk)

        let listener = try PostgresConnection(settings: registry.settings)
        try listener.listen(Registry.stateChannel)
        try await withRunningAgent(RunningAgent(settings: registry.settings)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            #expect(try registry.row(trunkID) == .init(files: 0, hash: head, message: "initial commit", synced: true))
            #expect(try registry.row(linkedID) == .init(files: 0, hash: head, message: "initial commit", synced: true))
            #expect(running.statistics.rowsWritten == 2)
            _ = try listener.receivedNotifications()

            try write("changed\n", "README.md", in: linked)
            try write("new\n", "notes.txt", in: linked)
            #expect(try await eventually("edit written") { try registry.row(linkedID).files == 2 })
            #expect(try registry.row(trunkID).files == 0)

            let commit = try fixture.commitAll("log in with a passkey's help", in: linked)
            #expect(try await eventually("commit written") { try registry.row(linkedID).hash == commit })
            #expect(try registry.row(linkedID) == .init(files: 0, hash: commit, message: "log in with a passkey's help", synced: true))
            #expect(try registry.row(trunkID).hash == head)
            // Every row written since the first sync was the edited worktree's (the agent sends
            // the ids of the rows it changed); the untouched trunk was never rewritten.
            let notified = Set(try listener.receivedNotifications().flatMap { $0.payload.split(separator: ",").map(String.init) })
            #expect(notified == [linkedID])
        }
    }

    @Test("a 1,000-file checkout gives at most two writes for that worktree")
    func bigCheckout() async throws {
        let registry = try RegistrySeeder.freshRegistry(prefix: "run")
        let project = try fixture.makeProject("big")
        try fixture.git(["checkout", "--quiet", "-b", "bulk"], in: project.trunk)
        for index in 0..<1000 {
            try fixture.directory("big/trunk-main/gen/d\(index % 20)")
            try write("file \(index)\n", "gen/d\(index % 20)/f\(index).txt", in: project.trunk)
        }
        let bulk = try fixture.commitAll("a thousand files", in: project.trunk)
        try fixture.git(["checkout", "--quiet", "main"], in: project.trunk)
        let projectID = try registry.addProject("big", trunk: project.trunk)
        let id = try registry.addWorktree("trunk-main", path: project.trunk, project: projectID)

        // A loaded test machine can pause git for longer than the fast test settle window;
        // coalescing is what is tested here, not the timings (bench/run.sh measures those).
        var coalescing = AgentConfiguration.fastForTests
        coalescing.settle = .milliseconds(300)
        coalescing.maxDelay = .seconds(10)
        try await withRunningAgent(RunningAgent(settings: registry.settings, configuration: coalescing)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            let before = running.statistics
            try fixture.git(["checkout", "--quiet", "bulk"], in: project.trunk)
            #expect(try await eventually("checkout written") { try registry.row(id).hash == bulk })
            #expect(try await eventually("settled") {
                running.statistics.dirtyWorktrees == 0 && running.statistics.pendingStates == 0
            })
            let after = running.statistics
            #expect(after.rowsWritten - before.rowsWritten <= 2)
            #expect(after.rowsWritten - before.rowsWritten >= 1)
            #expect(after.probes - before.probes <= 3)
            #expect(try registry.row(id).files == 0)
        }
    }

    @Test("worktrees added to the registry are synced; deactivated ones stop being watched")
    func registryChanges() async throws {
        let (registry, project, trunkID) = try RegistrySeeder.withTrunk(of: "lib", in: fixture)
        let projectID: String = try registry.connection.execute("SELECT id FROM projects WHERE name = 'lib'").decode(0, 0)
        // Rows another tool adds and deactivates: the agent's own membership (which would
        // register the worktree itself, and keep it active while it exists) stays out of it.
        var configuration = AgentConfiguration.fastForTests
        configuration.membership.enabled = false
        try await withRunningAgent(RunningAgent(settings: registry.settings, configuration: configuration)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            #expect(running.statistics.watchedWorktrees == 1)

            let linked = try fixture.addWorktree("fix-crash", branch: "fix/crash", to: project)
            try write("wip\n", "wip.txt", in: linked)
            let linkedID = try registry.addWorktree("fix-crash", path: linked, project: projectID, branch: "fix/crash")
            #expect(try await eventually("new worktree synced") { try registry.row(linkedID).files == 1 })
            // The row is written before the loop publishes its counters.
            #expect(try await eventually("both watched") { running.statistics.watchedWorktrees == 2 })

            try registry.connection.execute("UPDATE worktrees SET active = false WHERE id = $1", [linkedID])
            #expect(try await eventually("unwatched") { running.statistics.watchedWorktrees == 1 })
            try write("more\n", "more.txt", in: linked)
            // An edit made after it in a watched worktree is written: the agent has handled
            // every event up to then, and the inactive one's edit was not among them.
            try write("later\n", "later.txt", in: project.trunk)
            #expect(try await eventually("later edit written") { try registry.row(trunkID).files == 1 })
            #expect(try registry.row(linkedID).files == 1, "an inactive worktree is not written")
        }
    }

    @Test("a PostgreSQL outage mid-run loses nothing: the latest state is written after restart")
    func outage() async throws {
        let cluster = try PostgresCluster.start()
        defer { try? cluster.stop() }
        let registry = try RegistrySeeder(settings: try cluster.createDatabase(prefix: "outage"))
        let project = try fixture.makeProject("svc")
        let projectID = try registry.addProject("svc", trunk: project.trunk)
        let id = try registry.addWorktree("trunk-main", path: project.trunk, project: projectID)
        try await withRunningAgent(RunningAgent(settings: registry.settings)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })

            try cluster.stop(mode: "fast", remove: false)
            try write("one\n", "a.txt", in: project.trunk)
            #expect(try await eventually("outage noticed") { !running.statistics.databaseUp })
            try write("two\n", "b.txt", in: project.trunk)
            try write("three\n", "c.txt", in: project.trunk)
            #expect(try await eventually("latest state kept") {
                running.statistics.pendingStates == 1 && running.statistics.dirtyWorktrees == 0
            })

            try cluster.restart()
            let reader = try PostgresConnection(settings: registry.settings)
            #expect(try await eventually("written after restart", seconds: 30) {
                try reader.execute("SELECT uncommitted_files_count FROM worktrees WHERE id = $1", [id]).int(0, 0) == 3
            })
            // The statistics are published at the end of the loop's step, after the write.
            #expect(try await eventually("reported up") { running.statistics.databaseUp })
            // Still following changes after the reconnect (LISTEN and writes both back).
            try write("four\n", "d.txt", in: project.trunk)
            #expect(try await eventually("edit after reconnect") {
                try reader.execute("SELECT uncommitted_files_count FROM worktrees WHERE id = $1", [id]).int(0, 0) == 4
            })
        }
    }

    @Test("a deleted worktree directory is reported and watched again when it comes back")
    func directoryComesBack() async throws {
        let registry = try RegistrySeeder.freshRegistry(prefix: "run")
        let project = try fixture.makeProject("web")
        let linked = try fixture.addWorktree("feat-ui", branch: "feat/ui", to: project)
        let projectID = try registry.addProject("web", trunk: project.trunk)
        let id = try registry.addWorktree("feat-ui", path: linked, project: projectID, branch: "feat/ui")
        try registry.addWorktree("trunk-main", path: project.trunk, project: projectID)
        try await withRunningAgent(RunningAgent(settings: registry.settings)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })

            let aside = fixture.root.appendingPathComponent("aside")
            try FileManager.default.moveItem(at: linked, to: aside)
            #expect(try await eventually("reported missing") { running.statistics.missingWorktrees == 1 })
            #expect(try registry.row(id).hash != nil, "the stored state is kept")
            try FileManager.default.moveItem(at: aside, to: linked)
            #expect(try await eventually("watched again") {
                running.statistics.missingWorktrees == 0 && running.statistics.watchedWorktrees == 2
            })
            try write("x\n", "x.txt", in: linked)
            #expect(try await eventually("edit after return") { try registry.row(id).files == 1 })
        }
    }

    @Test("worktrees beyond the watch limit are polled and still kept current")
    func watchLimitFallsBackToPolling() async throws {
        let registry = try RegistrySeeder.freshRegistry(prefix: "run")
        let project = try fixture.makeProject("mono")
        let linked = try fixture.addWorktree("feat-a", branch: "feat/a", to: project)
        let projectID = try registry.addProject("mono", trunk: project.trunk)
        let trunkID = try registry.addWorktree("trunk-main", path: project.trunk, project: projectID)
        let linkedID = try registry.addWorktree("feat-a", path: linked, project: projectID, branch: "feat/a")
        try await withRunningAgent(RunningAgent(settings: registry.settings, watchLimit: 4)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            #expect(running.statistics.polledWorktrees >= 1)
            let limitLines = running.messages.all.filter { $0.contains("inotify watch limit reached") }
            #expect(limitLines.count == 1, "one actionable line, not one per worktree")
            #expect(limitLines.first?.hasPrefix("error: ") == true)
            #expect(limitLines.first?.contains("fs.inotify.max_user_watches = 4") == true)
            #expect(limitLines.first?.contains("sudo sysctl fs.inotify.max_user_watches=") == true)
            try write("a\n", "a.txt", in: project.trunk)
            try write("b\n", "b.txt", in: linked)
            #expect(try await eventually("both written") {
                try registry.row(trunkID).files == 1 && registry.row(linkedID).files == 1
            })
        }
    }

    @Test("shutdown probes what is still settling and flushes it")
    func shutdownFlushes() async throws {
        let (registry, project, id) = try RegistrySeeder.withTrunk(of: "cli", in: fixture)
        var slow = AgentConfiguration.fastForTests
        slow.settle = .seconds(60)
        slow.maxDelay = .seconds(120)
        try await withRunningAgent(RunningAgent(settings: registry.settings, configuration: slow)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            try write("late\n", "late.txt", in: project.trunk)
            #expect(try await eventually("dirty") { running.statistics.dirtyWorktrees == 1 })
            #expect(try registry.row(id).files == 0)
        }
        #expect(try registry.row(id).files == 1)
    }

    @Test("an overflow (events lost) makes the agent rescan; the row ends with the right count")
    func overflowRescan() async throws {
        let (registry, project, id) = try RegistrySeeder.withTrunk(of: "burst", in: fixture)
        var slow = AgentConfiguration.fastForTests
        slow.maxDelay = .seconds(30)
        try await withRunningAgent(RunningAgent(settings: registry.settings, configuration: slow)) { running async throws in
            #expect(try await eventually("ready") { running.statistics.ready })
            let files = 600
            for index in 0..<files {
                _ = FileManager.default.createFile(
                    atPath: project.trunk.appendingPathComponent("burst-\(index).txt").path, contents: Data("x".utf8))
            }
            // What the reader delivers when the kernel queue overflowed (WatchTests makes the
            // kernel do it): the events of the burst may be lost.
            running.agent.inbox.post(.inotify([InotifyEvent(watch: -1, mask: UInt32(IN_Q_OVERFLOW), name: nil)]))
            #expect(try await eventually("overflow handled") { running.statistics.overflows >= 1 })
            #expect(try await eventually("all files counted") { try registry.row(id).files == files })
        }
    }

    @Test("the heartbeat refreshes last_sync_at without rewriting unchanged state")
    func heartbeat() async throws {
        let (registry, _, id) = try RegistrySeeder.withTrunk(of: "beat", in: fixture)
        var configuration = AgentConfiguration.fastForTests
        configuration.heartbeat = .milliseconds(200)
        try await withRunningAgent(RunningAgent(settings: registry.settings, configuration: configuration)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            func lastSync() throws -> String? {
                try registry.connection.execute("SELECT last_sync_at::text FROM worktrees WHERE id = $1", [id]).string(0, 0)
            }
            let first = try lastSync()
            let written = running.statistics.rowsWritten
            #expect(try await eventually("stamped again") { try lastSync() != first && running.statistics.heartbeats >= 2 })
            #expect(running.statistics.rowsWritten == written)
            #expect(try registry.row(id).files == 0)
        }
    }

    @Test("the periodic reconcile catches a change no watch can see")
    func reconcileSafetyNet() async throws {
        let (registry, project, id) = try RegistrySeeder.withTrunk(of: "net", in: fixture)
        try write("scratch\n", "scratch.tmp", in: project.trunk)
        var configuration = AgentConfiguration.fastForTests
        configuration.reconcile = .milliseconds(300)
        try await withRunningAgent(RunningAgent(settings: registry.settings, configuration: configuration)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            #expect(try registry.row(id).files == 1)
            // .git/info/ is not watched: excluding the file there changes status silently.
            try write("*.tmp\n", ".git/info/exclude", in: project.trunk)
            #expect(try await eventually("reconciled") { try registry.row(id).files == 0 })
        }
    }

    @Test("SIGHUP with new database settings moves the agent to the new registry")
    func reloadMovesToNewDatabase() async throws {
        let first = try RegistrySeeder.freshRegistry(prefix: "run")
        let second = try RegistrySeeder.freshRegistry(prefix: "run")
        let project = try fixture.makeProject("move")
        let firstID = try first.addWorktree(
            "trunk-main", path: project.trunk, project: try first.addProject("move", trunk: project.trunk))
        let secondID = try second.addWorktree(
            "trunk-main", path: project.trunk, project: try second.addProject("move", trunk: project.trunk))
        let settingsOnReload = Recorded<ConnectionSettings>()
        try await withRunningAgent(RunningAgent(settings: first.settings, settingsOnReload: settingsOnReload)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            #expect(try first.row(firstID).synced)
            #expect(try second.row(secondID).synced == false)

            settingsOnReload.append(second.settings)
            running.agent.inbox.post(.reload)
            #expect(try await eventually("new registry synced") { try second.row(secondID).files == 0 })
            try write("x\n", "x.txt", in: project.trunk)
            #expect(try await eventually("edit goes to the new registry") { try second.row(secondID).files == 1 })
            #expect(try first.row(firstID).files == 0)
            #expect(running.messages.all.contains { $0.hasPrefix("notice: database settings changed") })
        }
    }

    @Test("a worktree removed from the registry leaves nothing behind in any stage")
    func forgettingForgets() async throws {
        let (registry, project, id) = try RegistrySeeder.withTrunk(of: "forget", in: fixture)
        try await withRunningAgent(RunningAgent(settings: registry.settings)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            try write("x\n", "x.txt", in: project.trunk)
            // Probed, remembered, forecast: every stage holds something for it.
            #expect(try await eventually("edit written and forecast") {
                try registry.row(id).files == 1 && running.statistics.forecastPasses >= 1
                    && running.statistics.worktreesKept.contains(id)
            })
            try registry.connection.execute("UPDATE worktrees SET active = false WHERE id = $1::uuid", [id])
            #expect(try await eventually("forgotten everywhere") {
                !running.statistics.worktreesKept.contains(id) && running.statistics.watchedWorktrees == 0
            })
        }
    }

    @Test("SIGHUP with a new heartbeat interval advertises it on the host row")
    func reloadAdvertisesHeartbeat() async throws {
        let (registry, _, _) = try RegistrySeeder.withTrunk(of: "beat", in: fixture)
        let reloaded = Recorded<AgentConfiguration>()
        var configuration = AgentConfiguration.fastForTests
        configuration.heartbeat = .seconds(300)
        try await withRunningAgent(RunningAgent(settings: registry.settings, configuration: configuration, configurationOnReload: reloaded)) { running async throws in
            let advertised = {
                try registry.connection.execute(
                    "SELECT heartbeat_seconds FROM hosts WHERE name = $1", [HostScope.forTests.name]
                ).decode(0, 0, as: Int.self)
            }
            #expect(try await eventually("ready") { running.statistics.ready })
            #expect(try advertised() == 300)
            configuration.heartbeat = .seconds(7)
            reloaded.append(configuration)
            running.agent.inbox.post(.reload)
            #expect(try await eventually("new interval on the host row") { try advertised() == 7 })
        }
    }

    @Test("a registered path that is not a git worktree is reported once and picked up by a reconcile once it is one")
    func notAWorktreeYet() async throws {
        let registry = try RegistrySeeder.freshRegistry(prefix: "run")
        let project = try fixture.makeProject("late")
        let projectID = try registry.addProject("late", trunk: project.trunk)
        let plain = try fixture.directory("late/feat-soon")
        let id = try registry.addWorktree("feat-soon", path: plain, project: projectID, branch: "feat/soon")
        var configuration = AgentConfiguration.fastForTests
        configuration.reconcile = .milliseconds(300)
        try await withRunningAgent(RunningAgent(settings: registry.settings, configuration: configuration)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            #expect(running.statistics.unreadableWorktrees == 1)
            #expect(running.statistics.missingWorktrees == 0)
            #expect(try registry.row(id).synced == false)
            // Several reconciles pass; the notice is not repeated.
            try await Task.sleep(for: .seconds(1))
            #expect(running.messages.all.filter { $0.contains("not a readable git worktree") }.count == 1)

            try FileManager.default.removeItem(at: plain)
            _ = try fixture.addWorktree("feat-soon", branch: "feat/soon", to: project)
            #expect(try await eventually("synced after it became a worktree") { try registry.row(id).files == 0 })
            #expect(try await eventually("no longer unreadable") { running.statistics.unreadableWorktrees == 0 })
        }
    }
}

@Suite("the agent's lifecycle in tests", .ownThreads)
struct AgentLifecycleTests {
    struct Thrown: Error {}

    @Test("withRunningAgent stops the agent when the test body throws")
    func stopsOnThrow() async throws {
        let registry = try RegistrySeeder.freshRegistry(prefix: "life")
        let database = try registry.databaseName()
        let agentSessions = {
            try registry.connection.execute(
                """
                SELECT count(*)::int FROM pg_stat_activity
                WHERE datname = $1 AND application_name LIKE 'imi-sync%' AND pid <> pg_backend_pid()
                """,
                [database]
            ).int(0, 0) ?? -1
        }
        await #expect(throws: Thrown.self) {
            try await withRunningAgent(RunningAgent(settings: registry.settings)) { running in
                #expect(try await eventually("ready") { running.statistics.ready })
                #expect(try agentSessions() == 1, "the agent's one connection (LISTEN shares it)")
                throw Thrown()
            }
        }
        // Stopped, not left running: its connections are closed.
        #expect(try await eventually("the agent's sessions closed") { try agentSessions() == 0 })
    }
}
