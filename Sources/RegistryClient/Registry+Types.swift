import PostgresClient

/// One row of `worktree_types`: how worktrees of a kind are named on disk and in git.
public struct WorktreeTypeRecord: Sendable, Equatable {
    public var id: Int
    public var name: String
    /// What a worktree directory of this type starts with (`feat-`): scan infers the type from it.
    public var worktreePrefix: String
    /// What its branch starts with (`feat/`).
    public var branchPrefix: String
    public var description: String?
    /// Seeded by the schema (feat, fix, aiops, devops, review, trunk); kept whatever happens.
    public var builtIn: Bool
    /// Active worktrees of this type.
    public var activeWorktrees: Int
}

/// The worktree types. Reading them is every role's; adding and removing them is the registry
/// owner's (deploy/roles.sql grants the agent roles SELECT only), and a role without the
/// privilege gets a ``RegistryError`` with code `.permission`.
extension Registry {
    /// Every type, built-ins first, then by name.
    public func worktreeTypes() throws -> [WorktreeTypeRecord] {
        let result = try connection.execute("""
            SELECT t.id, t.name, t.worktree_prefix, t.branch_prefix, t.description, t.is_builtin,
                   count(w.id) FILTER (WHERE w.active)
            FROM worktree_types t LEFT JOIN worktrees w ON w.type_id = t.id
            GROUP BY t.id
            ORDER BY t.is_builtin DESC, t.name
            """)
        return try (0..<result.count).map { row in
            WorktreeTypeRecord(
                id: try result.decode(row, 0), name: try result.decode(row, 1), worktreePrefix: try result.decode(row, 2),
                branchPrefix: try result.decode(row, 3), description: try result.decode(row, 4, as: String?.self),
                builtIn: try result.decode(row, 5), activeWorktrees: try result.decode(row, 6))
        }
    }

    /// Adds a custom type. Refuses an empty name or worktree prefix (scan recognises a type by
    /// its worktree prefix), a name that is taken and a worktree prefix another type has.
    @discardableResult
    public func addWorktreeType(
        name: String, worktreePrefix: String, branchPrefix: String, description: String? = nil
    ) throws -> WorktreeTypeRecord {
        let place = connection.settings.redactedDescription
        guard !name.isEmpty, !name.contains(where: \.isWhitespace) else {
            throw RegistryError(.invalid, "worktree type '\(name)': a name is one word, not empty or spaced (\(place))")
        }
        guard !worktreePrefix.isEmpty else {
            throw RegistryError(.invalid, "worktree type '\(name)': its worktree prefix is empty, so scan could never recognise it (\(place))")
        }
        let clash = try connection.execute(
            "SELECT name, name = $1 FROM worktree_types WHERE name = $1 OR worktree_prefix = $2 ORDER BY name = $1 DESC LIMIT 1",
            [name, worktreePrefix])
        if clash.count > 0 {
            let other: String = try clash.decode(0, 0)
            let sameName: Bool = try clash.decode(0, 1)
            throw sameName
                ? RegistryError(.duplicate, "worktree type '\(name)' already exists in \(place)")
                : RegistryError(.duplicate, "worktree type '\(name)': type '\(other)' already has worktree prefix '\(worktreePrefix)' in \(place)")
        }
        let inserted: PostgresRows
        do {
            inserted = try connection.execute(
                """
                INSERT INTO worktree_types (name, worktree_prefix, branch_prefix, description)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (name) DO NOTHING
                RETURNING id
                """, [name, worktreePrefix, branchPrefix, description])
        } catch let error as PostgresError where error.sqlState == "42501" {
            throw Self.mayNotChangeTypes("add worktree type '\(name)'", place: place)
        }
        // Another session added the name between the check and the insert.
        guard inserted.count == 1 else { throw RegistryError(.duplicate, "worktree type '\(name)' already exists in \(place)") }
        return WorktreeTypeRecord(
            id: try inserted.decode(0, 0), name: name, worktreePrefix: worktreePrefix, branchPrefix: branchPrefix,
            description: description, builtIn: false, activeWorktrees: 0)
    }

    /// Removes a custom type no worktree row (active or not) uses. A built-in type, a type in
    /// use (the message says how many rows) and an unknown name are refused.
    public func removeWorktreeType(named name: String) throws {
        let place = connection.settings.redactedDescription
        do {
            let deleted = try connection.execute(
                """
                DELETE FROM worktree_types t
                WHERE t.name = $1 AND NOT t.is_builtin AND NOT EXISTS (SELECT 1 FROM worktrees w WHERE w.type_id = t.id)
                RETURNING t.id
                """, [name])
            if deleted.count == 1 { return }
        } catch let error as PostgresError where error.sqlState == "42501" {
            throw Self.mayNotChangeTypes("remove worktree type '\(name)'", place: place)
        } catch let error as PostgresError where error.sqlState == "23503" {
            // A worktree of this type was added while the DELETE ran: refused below with its count.
        }
        throw try whyTypeIsKept(name, place: place)
    }

    /// The refusal for a type the DELETE left in place.
    private func whyTypeIsKept(_ name: String, place: String) throws -> RegistryError {
        let result = try connection.execute(
            """
            SELECT t.is_builtin, count(w.id), count(w.id) FILTER (WHERE w.active)
            FROM worktree_types t LEFT JOIN worktrees w ON w.type_id = t.id
            WHERE t.name = $1 GROUP BY t.id
            """, [name])
        guard result.count == 1 else { return RegistryError(.notFound, "no worktree type '\(name)' in \(place)") }
        if try result.decode(0, 0) as Bool {
            return RegistryError(.builtIn, "worktree type '\(name)' is built in and cannot be removed (\(place))")
        }
        let rows: Int = try result.decode(0, 1)
        let active: Int = try result.decode(0, 2)
        return RegistryError(
            .inUse,
            "worktree type '\(name)' is used by \(rows) worktree row\(rows == 1 ? "" : "s") (\(active) active, "
                + "\(rows - active) inactive) in \(place); it is kept")
    }

    private static func mayNotChangeTypes(_ what: String, place: String) -> RegistryError {
        RegistryError(
            .permission,
            "cannot \(what) in \(place): this role may only read worktree types; run it as the registry owner")
    }
}
