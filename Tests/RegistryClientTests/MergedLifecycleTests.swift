import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

/// Finished work leaves the in-flight list (migration 010): the merge facts travel through the
/// one git-state write, a merged worktree's status is `merged`, and it is in flight only while
/// it has uncommitted changes.
@Suite("merged worktrees: status, in-flight list and the git-state write", .ownThreads)
struct MergedLifecycleTests {
    static let mergedAt = Date(timeIntervalSince1970: 1_800_000_000)

    static func state(
        _ id: String, files: Int = 0, ahead: Int? = 0, behind: Int? = 0, hash: String = "c0ffee", merged: Bool
    ) -> GitStateUpdate {
        GitStateUpdate(
            worktreeID: id, uncommittedFilesCount: files, aheadOfTrunk: ahead, behindTrunk: behind,
            lastCommitHash: hash, lastCommitMessage: "m", readAt: Date(),
            mergedAt: merged ? mergedAt : nil, mergedBy: merged ? "Ann O'Merge <ann@example.com>" : nil,
            mergeCommitHash: merged ? "feedface" : nil)
    }

    /// (worktree, files, ahead, behind, merged, status in v_worktrees_detail, listed in flight)
    static let cases: [(String, Int?, Int?, Int?, Bool, String?, Bool)] = [
        ("merged-clean", 0, 0, 2, true, "merged", false),
        ("merged-dirty", 2, 0, 2, true, "merged", true),
        ("merged-squashed", 0, 3, 0, true, "merged", false),
        ("merged-unread", nil, nil, nil, true, "merged", false),
        ("ahead", 0, 1, 0, false, "ahead", true),
        ("dirty", 1, 0, 0, false, "uncommitted", true),
        ("clean", 0, 0, 0, false, "clean", false),
        ("unread", nil, nil, nil, false, nil, false),
    ]

    @Test("v_inflight_work and get_inflight_work hide a merged clean worktree and list a merged one with uncommitted changes as 'merged'")
    func inflightListsMergedOnlyWithUncommittedChanges() throws {
        let registry = try RegistrySeeder.freshRegistry()
        let writer = Registry(connection: registry.connection)
        let project = try registry.addProject("p")
        let host = try writer.registerHost(named: "desk", agentVersion: nil)
        var ids: [String: String] = [:]
        for (name, files, ahead, behind, merged, _, _) in Self.cases {
            let id = try registry.addWorktree(project: project, name: name, path: "/srv/p/\(name)")
            ids[name] = id
            try registry.connection.execute("UPDATE worktrees SET host_id = $1 WHERE id = $2", [host, id])
            if let files {
                try writer.write([Self.state(id, files: files, ahead: ahead, behind: behind, merged: merged)])
            } else if merged {
                try registry.connection.execute("UPDATE worktrees SET merged_at = $1 WHERE id = $2", [Self.mergedAt, id])
            }
        }
        let listedByView = try registry.connection.execute(
            "SELECT worktree_name, status, merged_by, merge_commit_hash, merged_at = $1 FROM v_inflight_work ORDER BY worktree_name",
            [Self.mergedAt]).rows
        let listedByFunction = try registry.connection.execute(
            "SELECT worktree_name, status, merged_by, merge_commit_hash, merged_at = $1 FROM get_inflight_work() ORDER BY worktree_name",
            [Self.mergedAt]).rows
        let expected: [[String?]] = [
            ["ahead", "ahead", nil, nil, nil], ["dirty", "uncommitted", nil, nil, nil],
            ["merged-dirty", "merged", "Ann O'Merge <ann@example.com>", "feedface", "t"],
        ]
        #expect(listedByView == expected)
        #expect(listedByFunction == expected)
        for (name, _, _, _, _, status, _) in Self.cases {
            let detail = try registry.connection.execute("SELECT status FROM v_worktrees_detail WHERE id = $1", [ids[name]!])
            #expect(detail.string(0, 0) == status, "\(name)")
        }
        let inflight = try writer.inflightWork()
        #expect(inflight.map(\.worktreeName) == Self.cases.filter { $0.6 }.map { $0.0 }.sorted())
        let dirty = try #require(inflight.first { $0.worktreeName == "merged-dirty" })
        #expect(dirty.status == "merged" && dirty.mergedAt == Self.mergedAt && dirty.mergeCommitHash == "feedface")
        #expect(try writer.hosts().first?.inflightWorktrees == 3)
        #expect(try writer.worktreeRecords(id: ids["merged-clean"]).first?.mergedBy == "Ann O'Merge <ann@example.com>")
        // The columns 005 gave the view come first, in their order: existing readers keep working.
        let columns = try registry.connection.execute("""
            SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
            WHERE attrelid = 'v_inflight_work'::regclass AND attnum > 0
            """).string(0, 0)
        #expect(columns == "worktree_id,project_id,project_name,worktree_name,type_name,branch_name,path,agent_id,status,"
            + "has_uncommitted_changes,uncommitted_files_count,ahead_of_trunk,behind_trunk,last_commit_hash,"
            + "last_commit_message,last_sync_at,host_id,host,stale,merged_at,merged_by,merge_commit_hash")
    }

    @Test("the views' inlined status and staleness (migration 011) agree with the functions for every git state and host")
    func inlinedStatusAgreesWithTheFunctions() throws {
        let registry = try RegistrySeeder.freshRegistry()
        let project = try registry.addProject("p")
        let writer = Registry(connection: registry.connection)
        let fresh = try writer.registerHost(named: "fresh", agentVersion: nil)
        let silent = try writer.registerHost(named: "silent", agentVersion: nil)
        try registry.connection.execute(
            "UPDATE hosts SET last_seen_at = now() - interval '1 hour', heartbeat_seconds = 60 WHERE id = $1", [silent])
        let never = try writer.registerHost(named: "never", agentVersion: nil)
        try registry.connection.execute("UPDATE hosts SET last_seen_at = NULL WHERE id = $1", [never])
        let hosts: [String?] = [nil, fresh, silent, never]
        var index = 0
        for merged in [false, true] {
            for dirty in [nil, false, true] as [Bool?] {
                for ahead in [nil, 0, 2] as [Int?] {
                    for behind in [nil, 0, 3] as [Int?] {
                        let id = try registry.addWorktree(project: project, name: "w\(index)", path: "/srv/p/w\(index)")
                        try registry.connection.execute(
                            """
                            UPDATE worktrees SET has_uncommitted_changes = $2::boolean, ahead_of_trunk = $3::integer,
                                   behind_trunk = $4::integer, merged_at = CASE WHEN $5::boolean THEN now() END,
                                   host_id = $6::uuid
                            WHERE id = $1
                            """,
                            [id, dirty.map { $0 ? "true" : "false" }, ahead.map(String.init), behind.map(String.init),
                             merged ? "true" : "false", hosts[index % hosts.count]])
                        index += 1
                    }
                }
            }
        }
        let disagreements = try registry.connection.execute("""
            SELECT d.name FROM v_worktrees_detail d JOIN worktrees w ON w.id = d.id LEFT JOIN hosts h ON h.id = w.host_id
            WHERE d.status IS DISTINCT FROM imi_worktree_lifecycle_status(
                      w.merged_at, w.has_uncommitted_changes, w.ahead_of_trunk, w.behind_trunk)
               OR d.stale IS DISTINCT FROM CASE WHEN h.id IS NULL THEN NULL
                                              ELSE imi_host_is_stale(h.last_seen_at, h.heartbeat_seconds) END
            """)
        let names = try disagreements.column(0, as: String.self)
        #expect(names.isEmpty, "\(names)")
        #expect(index == 54)
        // Every status word and both staleness values occur, so the comparison covers them.
        let seen = try registry.connection.execute(
            "SELECT count(DISTINCT status), count(DISTINCT stale) FROM v_worktrees_detail")
        #expect(try seen.decode(0, 0, as: Int.self) == 6 && seen.decode(0, 1, as: Int.self) == 2)
    }

    @Test("the merge facts are written and cleared through writeChanged, counted as a change and notified")
    func mergeFactsThroughTheOneWritePath() throws {
        let registry = try RegistrySeeder.freshRegistry()
        let listener = try PostgresConnection(settings: registry.settings)
        try listener.listen(Registry.stateChannel)
        let id = try registry.addWorktree(project: try registry.addProject("p"), name: "feat-x", path: "/srv/p/feat-x")
        let writer = Registry(connection: registry.connection)
        func notified() throws -> [String] {
            guard case .notifications(let received) = try listener.waitForNotifications(timeoutMilliseconds: 5000) else { return [] }
            return received.map(\.payload)
        }
        #expect(try writer.writeChanged([Self.state(id, merged: false)]).changed == [id])
        #expect(try notified() == [id])
        // Only the merge facts differ: a change, written and notified.
        let merge = try writer.writeChanged([Self.state(id, merged: true)])
        #expect(merge.changed == [id] && merge.refused.isEmpty)
        #expect(try notified() == [id])
        let stored = try #require(try writer.storedStates()[id])
        #expect(stored.mergedAt == Self.mergedAt && stored.mergedBy == "Ann O'Merge <ann@example.com>")
        #expect(stored.mergeCommitHash == "feedface" && stored.isMerged)
        var same = Self.state(id, merged: true)
        same.readAt = stored.readAt
        #expect(stored == same, "what storedStates reads equals what was written")
        #expect(try writer.writeChanged([Self.state(id, merged: true)]).changed == [], "same facts: no change")
        #expect(try listener.waitForNotifications(timeoutMilliseconds: 200) == .timedOut)
        // A commit on the branch after the merge: the verdict is "not merged", the columns NULL.
        #expect(try writer.writeChanged([Self.state(id, ahead: 1, hash: "beef", merged: false)]).changed == [id])
        #expect(try notified() == [id])
        let cleared = try registry.connection.execute(
            "SELECT merged_at, merged_by, merge_commit_hash FROM worktrees WHERE id = $1", [id])
        #expect(cleared.rows == [[nil, nil, nil]])
        #expect(try writer.storedStates()[id]?.isMerged == false)
    }

    @Test("the agent's role may write the merge facts (roles.sql grants them with the git state)")
    func agentRoleWritesMergeFacts() throws {
        let owner = try RegistrySeeder.freshRegistry()
        let id = try owner.addWorktree(project: try owner.addProject("p"), name: "w", path: "/srv/p/w")
        try owner.connection.executeScript(StaticScript(DeployFiles.rolesSQL))
        let agent = try PostgresConnection(
            settings: try PostgresCluster.shared().settings(database: try owner.databaseName(), user: "imi_sync_agent"))
        let registry = Registry(connection: agent)
        #expect(try registry.stateWriteRefusal() == nil)
        #expect(try registry.writeChanged([Self.state(id, merged: true)]).changed == [id])
        #expect(try owner.connection.execute("SELECT merge_commit_hash FROM worktrees WHERE id = $1", [id]).string(0, 0) == "feedface")
    }

    @Test("status --merged lists active merged worktrees oldest merge first, with host, staleness and uncommitted count")
    func listMerged() throws {
        let registry = try RegistrySeeder.freshRegistry()
        let writer = Registry(connection: registry.connection)
        let project = try registry.addProject("p")
        let host = try writer.registerHost(named: "desk", agentVersion: nil)
        let newer = try registry.addWorktree(project: project, name: "newer", path: "/srv/p/newer", branch: "feat/newer")
        let older = try registry.addWorktree(project: project, name: "older", path: "/srv/p/older")
        let gone = try registry.addWorktree(project: project, name: "gone", path: "/srv/p/gone")
        let open = try registry.addWorktree(project: project, name: "open", path: "/srv/p/open")
        try registry.connection.execute("UPDATE worktrees SET host_id = $1 WHERE id = $2", [host, newer])
        var late = Self.state(newer, files: 4, merged: true)
        late.mergedAt = Self.mergedAt.addingTimeInterval(3600)
        try writer.write([late, Self.state(older, merged: true), Self.state(gone, merged: true), Self.state(open, merged: false)])
        try registry.connection.execute("UPDATE worktrees SET active = false WHERE id = $1", [gone])
        let merged = try writer.mergedWorktrees()
        #expect(merged.map(\.id) == [older, newer])
        let first = try #require(merged.last)
        #expect(first.projectName == "p" && first.worktreeName == "newer" && first.branchName == "feat/newer")
        #expect(first.path == "/srv/p/newer" && first.host == "desk" && first.hostID == host && first.stale == false)
        #expect(first.mergedAt == late.mergedAt && first.mergedBy == late.mergedBy && first.mergeCommitHash == "feedface")
        #expect(first.uncommittedFilesCount == 4)
        #expect(merged.first?.host == nil && merged.first?.stale == nil, "a row no host has adopted")
        #expect(try writer.mergedWorktrees(host: "desk").map(\.id) == [newer])
        #expect(try writer.mergedWorktrees(project: "other").isEmpty)
    }
}
