import PostgresClient

/// What `scan` compares the disk with: the projects, this host's worktree rows (inactive ones
/// too, so a worktree that comes back gets its old row) and the rows no host has adopted yet.
public struct MembershipSnapshot: Sendable, Equatable {
    public struct Project: Sendable, Equatable {
        public var id: String
        public var name: String
        public var remoteOrigin: String
        public var defaultBranch: String
        public var trunkPath: String
        /// `trunk_path` is an active worktree of another host: it is not this host's to move.
        public var trunkIsAnotherHosts: Bool

        public init(
            id: String, name: String, remoteOrigin: String, defaultBranch: String, trunkPath: String,
            trunkIsAnotherHosts: Bool = false
        ) {
            self.id = id
            self.name = name
            self.remoteOrigin = remoteOrigin
            self.defaultBranch = defaultBranch
            self.trunkPath = trunkPath
            self.trunkIsAnotherHosts = trunkIsAnotherHosts
        }
    }

    public struct Worktree: Sendable, Equatable {
        public var id: String
        public var projectID: String
        public var name: String
        public var path: String
        public var gitDirectory: String?
        public var branchName: String
        public var typeID: Int
        public var active: Bool
        /// `nil` for a row from before hosts existed.
        public var hostID: String?
        /// Deactivated by imi-sync because its worktree was gone (`gone_at` set).
        public var deactivatedAsGone: Bool

        public init(
            id: String, projectID: String, name: String, path: String, gitDirectory: String?,
            branchName: String, typeID: Int, active: Bool, hostID: String?, deactivatedAsGone: Bool = false
        ) {
            self.deactivatedAsGone = deactivatedAsGone
            self.id = id
            self.projectID = projectID
            self.name = name
            self.path = path
            self.gitDirectory = gitDirectory
            self.branchName = branchName
            self.typeID = typeID
            self.active = active
            self.hostID = hostID
        }
    }

    public struct WorktreeType: Sendable, Equatable {
        public var id: Int
        public var name: String
        public var worktreePrefix: String

        public init(id: Int, name: String, worktreePrefix: String) {
            self.id = id
            self.name = name
            self.worktreePrefix = worktreePrefix
        }
    }

    /// Active projects.
    public var projects: [Project]
    /// This host's rows and the active rows without a host.
    public var worktrees: [Worktree]
    public var types: [WorktreeType]
    /// Names of active projects, for choosing a new project's name.
    public var projectNames: Set<String> { Set(projects.map(\.name)) }

    public init(projects: [Project], worktrees: [Worktree], types: [WorktreeType]) {
        self.projects = projects
        self.worktrees = worktrees
        self.types = types
    }
}

/// The writes that make the registry match the disk, applied in one transaction.
public struct MembershipChanges: Sendable, Equatable {
    /// A project a worktree belongs to: one already registered, or one of ``newProjects``.
    public enum ProjectReference: Sendable, Equatable, Hashable {
        case existing(id: String)
        case new(index: Int)
    }

    public struct NewProject: Sendable, Equatable {
        public var name: String
        public var remoteOrigin: String
        public var defaultBranch: String
        public var trunkPath: String

        public init(name: String, remoteOrigin: String, defaultBranch: String, trunkPath: String) {
            self.name = name
            self.remoteOrigin = remoteOrigin
            self.defaultBranch = defaultBranch
            self.trunkPath = trunkPath
        }
    }

    /// Facts from git about a registered project (the columns a person sets stay).
    public struct ProjectUpdate: Sendable, Equatable {
        public var id: String
        public var remoteOrigin: String
        public var defaultBranch: String
        public var trunkPath: String

        public init(id: String, remoteOrigin: String, defaultBranch: String, trunkPath: String) {
            self.id = id
            self.remoteOrigin = remoteOrigin
            self.defaultBranch = defaultBranch
            self.trunkPath = trunkPath
        }
    }

    public struct NewWorktree: Sendable, Equatable {
        public var project: ProjectReference
        public var typeID: Int
        public var name: String
        public var branchName: String
        public var path: String
        public var gitDirectory: String

        public init(
            project: ProjectReference, typeID: Int, name: String, branchName: String, path: String, gitDirectory: String
        ) {
            self.project = project
            self.typeID = typeID
            self.name = name
            self.branchName = branchName
            self.path = path
            self.gitDirectory = gitDirectory
        }
    }

    /// Facts from git about a registered worktree: where it is, its git directory, its branch.
    /// The row becomes this host's and active; id, agent, type, name and metadata stay.
    public struct WorktreeUpdate: Sendable, Equatable {
        public var id: String
        public var path: String
        public var gitDirectory: String
        public var branchName: String

        public init(id: String, path: String, gitDirectory: String, branchName: String) {
            self.id = id
            self.path = path
            self.gitDirectory = gitDirectory
            self.branchName = branchName
        }
    }

    public var newProjects: [NewProject] = []
    public var projectUpdates: [ProjectUpdate] = []
    public var newWorktrees: [NewWorktree] = []
    public var worktreeUpdates: [WorktreeUpdate] = []
    /// Rows of this host whose worktree is gone from disk and from git (`gone_at` is set).
    public var deactivations: [String] = []

    public init() {}

    public var isEmpty: Bool {
        newProjects.isEmpty && projectUpdates.isEmpty && newWorktrees.isEmpty && worktreeUpdates.isEmpty
            && deactivations.isEmpty
    }
}

extension Registry {
    /// Runs `body` in one transaction holding the registry's membership lock, so scans and
    /// agents' membership passes (of any host: two hosts may find the same new project)
    /// never interleave their reads and writes. Passes are short; they queue.
    public func withMembershipLock<T>(_ body: () throws -> T) throws -> T {
        try connection.transaction {
            try connection.execute("SELECT pg_advisory_xact_lock(hashtext('imi-sync membership'))")
            return try body()
        }
    }

    /// The projects, this host's rows and the host-less rows, as ``MembershipSnapshot``.
    public func membershipSnapshot(host hostID: String) throws -> MembershipSnapshot {
        let projects = try connection.execute(
            """
            SELECT p.id, p.name, p.remote_origin, p.default_branch, p.trunk_path,
                   EXISTS (SELECT FROM worktrees w WHERE w.project_id = p.id AND w.active AND w.path = p.trunk_path
                           AND w.host_id IS DISTINCT FROM $1::uuid AND w.host_id IS NOT NULL)
            FROM projects p WHERE p.active ORDER BY p.name
            """, [hostID])
        let worktrees = try connection.execute(
            """
            SELECT id, project_id, name, path, git_dir, branch_name, type_id, active, host_id, gone_at IS NOT NULL
            FROM worktrees
            WHERE host_id = $1::uuid OR (host_id IS NULL AND active)
            ORDER BY active DESC, updated_at DESC, id
            """, [hostID])
        let types = try connection.execute("SELECT id, name, worktree_prefix FROM worktree_types ORDER BY id")
        return MembershipSnapshot(
            projects: try (0..<projects.count).map { row in
                .init(
                    id: try projects.decode(row, 0), name: try projects.decode(row, 1),
                    remoteOrigin: try projects.decode(row, 2), defaultBranch: try projects.decode(row, 3),
                    trunkPath: try projects.decode(row, 4), trunkIsAnotherHosts: try projects.decode(row, 5))
            },
            worktrees: try (0..<worktrees.count).map { row in
                .init(
                    id: try worktrees.decode(row, 0), projectID: try worktrees.decode(row, 1),
                    name: try worktrees.decode(row, 2), path: try worktrees.decode(row, 3),
                    gitDirectory: try worktrees.decode(row, 4, as: String?.self),
                    branchName: try worktrees.decode(row, 5), typeID: try worktrees.decode(row, 6),
                    active: try worktrees.decode(row, 7), hostID: try worktrees.decode(row, 8, as: String?.self),
                    deactivatedAsGone: try worktrees.decode(row, 9))
            },
            types: try (0..<types.count).map { row in
                .init(id: try types.decode(row, 0), name: try types.decode(row, 1), worktreePrefix: try types.decode(row, 2))
            })
    }

    /// Writes `changes` for `hostID`: deactivations first (freeing paths and names), then
    /// updates, then new projects and worktrees. Returns the ids of the new worktree rows.
    /// Call inside ``withMembershipLock(_:)``.
    @discardableResult
    public func apply(_ changes: MembershipChanges, host hostID: String) throws -> [String] {
        if !changes.deactivations.isEmpty {
            try connection.execute(
                "UPDATE worktrees SET active = false, gone_at = now() WHERE id = ANY($1::uuid[]) AND host_id = $2::uuid",
                [changes.deactivations, hostID])
        }
        for update in changes.projectUpdates {
            try connection.execute(
                """
                UPDATE projects SET remote_origin = $2, default_branch = $3, trunk_path = $4
                WHERE id = $1::uuid AND (remote_origin, default_branch, trunk_path) IS DISTINCT FROM ($2, $3, $4)
                """, [update.id, update.remoteOrigin, update.defaultBranch, update.trunkPath])
        }
        if !changes.worktreeUpdates.isEmpty {
            try connection.execute(
                """
                UPDATE worktrees w
                SET path = u.path, git_dir = u.git_dir, branch_name = u.branch_name, host_id = $5::uuid, active = true,
                    gone_at = NULL
                FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS u (id, path, git_dir, branch_name)
                WHERE w.id = u.id
                """,
                [
                    changes.worktreeUpdates.map(\.id), changes.worktreeUpdates.map(\.path),
                    changes.worktreeUpdates.map(\.gitDirectory), changes.worktreeUpdates.map(\.branchName), hostID,
                ])
        }
        var projectIDs: [String] = []
        if !changes.newProjects.isEmpty {
            // One statement; the ids come back in the order of the arrays.
            let inserted = try connection.execute(
                """
                WITH n AS (
                    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY
                        AS n (name, remote_origin, default_branch, trunk_path, position)),
                i AS (
                    INSERT INTO projects (name, remote_origin, default_branch, trunk_path)
                    SELECT name, remote_origin, default_branch, trunk_path FROM n ORDER BY position
                    RETURNING id, name)
                SELECT i.id FROM i JOIN n USING (name) ORDER BY n.position
                """,
                [
                    changes.newProjects.map(\.name), changes.newProjects.map(\.remoteOrigin),
                    changes.newProjects.map(\.defaultBranch), changes.newProjects.map(\.trunkPath),
                ])
            projectIDs = try (0..<inserted.count).map { try inserted.decode($0, 0) }
        }
        guard !changes.newWorktrees.isEmpty else { return [] }
        let projectColumn: [String] = changes.newWorktrees.map { worktree in
            switch worktree.project {
            case .existing(let id): id
            case .new(let index): projectIDs[index]
            }
        }
        let inserted = try connection.execute(
            """
            INSERT INTO worktrees (project_id, type_id, name, branch_name, path, git_dir, host_id)
            SELECT project_id, type_id, name, branch_name, path, git_dir, $7::uuid
            FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::text[], $5::text[], $6::text[])
                AS n (project_id, type_id, name, branch_name, path, git_dir)
            RETURNING id
            """,
            [
                projectColumn, changes.newWorktrees.map(\.typeID), changes.newWorktrees.map(\.name),
                changes.newWorktrees.map(\.branchName), changes.newWorktrees.map(\.path),
                changes.newWorktrees.map(\.gitDirectory), hostID,
            ])
        return try (0..<inserted.count).map { try inserted.decode($0, 0) }
    }
}
