import Foundation
import LegacyMigration

/// A legacy iMi SQLite registry built for a test with the `sqlite3` CLI (tests may run
/// programs; the product never does). Removed when released.
public final class LegacyFixture: @unchecked Sendable {
    /// The legacy table layouts seen in the wild.
    public enum Layout: Sendable {
        /// The tables as the Rust CLI creates them today (REGISTRY.md).
        case current
        /// Before `worktree_types` and `worktrees.agent_id` existed.
        case beforeWorktreeTypes
        /// No tables at all.
        case empty
    }

    public let directory: URL
    /// `<directory>/database.db`
    public let path: String

    public init(layout: Layout = .current, journalMode: String = "delete") throws {
        BrokenPipes.ignore()
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("legacy-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("database.db").path
        var script = "PRAGMA journal_mode=\(journalMode);\n"
        switch layout {
        case .current: script += Self.currentSchema
        case .beforeWorktreeTypes: script += Self.oldSchema
        case .empty: script += "CREATE TABLE unrelated (x);\nDROP TABLE unrelated;\n"
        }
        try run(script)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs an SQL script against the file (through a file: no argument-length limit).
    public func run(_ sql: String) throws {
        let scriptURL = directory.appendingPathComponent("script-\(UUID().uuidString).sql")
        try Data(sql.utf8).write(to: scriptURL)
        defer { try? FileManager.default.removeItem(at: scriptURL) }
        try capture(Self.sqlite3, ["-bail", path, ".read \(scriptURL.path)"])
    }

    /// One query's output (`sqlite3 -separator |`).
    public func query(_ sql: String) throws -> String {
        try capture(Self.sqlite3, [path, sql]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// sha256 of the database file and of every companion file present (`-wal`, `-journal`).
    public func checksum() throws -> String {
        try capture("/usr/bin/sha256sum", [path]).split(separator: " ").first.map(String.init) ?? ""
    }

    /// An SQL string literal for a fixture script; `nil` is NULL.
    public static func literal(_ value: String?) -> String {
        guard let value else { return "NULL" }
        // The CLI's .read drops CR before LF, so CR goes in as char(13).
        let quoted = value.replacingOccurrences(of: "'", with: "''")
            .replacingOccurrences(of: "\r", with: "' || char(13) || '")
        return "('" + quoted + "')"
    }

    public static let sqlite3 = "/usr/bin/sqlite3"

    /// The tables as the Rust CLI creates them today, with its built-in types.
    public static let currentSchema = LegacySchema.tables + LegacySchema.builtInTypes

    /// Files from before `worktree_types`, `worktrees.agent_id` and `agent_activities`.
    public static let oldSchema = LegacySchema.tables + """
        DROP TABLE worktree_types;
        DROP TABLE agent_activities;
        ALTER TABLE worktrees DROP COLUMN agent_id;

        """
}

/// A `sqlite3` CLI process that keeps the file open (and optionally a lock) until stopped:
/// "the old iMi CLI holds it open".
public final class SQLiteHolder: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()

    /// Opens `path` and runs `setup` (e.g. `BEGIN; SELECT count(*) FROM repositories;`), then
    /// waits until the CLI has answered, so the lock is held when this returns.
    public init(path: String, setup: String) throws {
        process.executableURL = URL(fileURLWithPath: LegacyFixture.sqlite3)
        process.arguments = [path]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        try send(setup + "\nSELECT 'ready';\n")
        var received = Data()
        while !String(decoding: received, as: UTF8.self).contains("ready") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { throw TestSupportError("sqlite3 holder exited before it was ready") }
            received.append(chunk)
        }
    }

    public func send(_ sql: String) throws {
        try input.fileHandleForWriting.write(contentsOf: Data(sql.utf8))
    }

    /// Ends the CLI (rolling back anything it left open).
    public func stop() {
        try? send("ROLLBACK;\n.quit\n")
        try? input.fileHandleForWriting.close()
        // Poll with a deadline rather than waitUntilExit(), which was seen spinning forever.
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    deinit {
        if process.isRunning { stop() }
    }
}

extension LegacyFixture {
    /// Ids of the rows ``insertMessyRows()`` writes.
    public enum Messy {
        public static let alpha = "aaaaaaaa-0000-4000-8000-000000000001"
        public static let betaLegacyID = "beta-legacy-id"
        public static let gammaUpper = "AAAAAAAA-0000-4000-8000-000000000003"
        public static let delta = "aaaaaaaa-0000-4000-8000-000000000004"
        public static let epsilon = "aaaaaaaa-0000-4000-8000-000000000005"
        public static let zeta = "aaaaaaaa-0000-4000-8000-000000000006"
        public static func worktree(_ n: Int) -> String { "bbbbbbbb-0000-4000-8000-00000000000\(n)" }
        public static let worktree3LegacyID = "wt-3"
        public static func activity(_ n: Int) -> String {
            "cccccccc-0000-4000-8000-0000000000" + (n < 10 ? "0\(n)" : "\(n)")
        }
        public static let activity6LegacyID = "act-6"
        /// Quotes, backslash, tab, newline, CR and non-ASCII in one value.
        public static let awkwardText = "it's \"quoted\"\\ back\tslash\nnew line\r\nünïcødé 🚀 終わり"
        public static let longDescription = String(repeating: "long-value ", count: 20_000)
    }

    /// Messy but realistic rows: every case REGISTRY.md and issue 3 list. What each row
    /// becomes is pinned by LegacyImporterTests.
    public func insertMessyRows() throws {
        typealias M = Messy
        let l = Self.literal
        try run("""
            INSERT INTO repositories VALUES
              (\(l(M.alpha)), 'alpha', '/code/alpha', 'git@github.com:me/alpha.git', 'main',
               '2025-10-27T22:20:01.123456789+00:00', '2025-10-28T08:00:00+02:00', 1),
              ('beta-legacy-id', 'beta', '/code/beta/trunk-develop', 'https://gitlab.example.com/me/beta.git',
               'develop', '2024-01-02 03:04:05', 1700000000, 'true'),
              (\(l(M.gammaUpper)), 'gamma', '/code/gamma/', '', '', 'garbage', '2025-01-01T00:00:00Z', 0),
              (\(l(M.delta)), 'delta', '/code/delta', 'git@github.com:me/alpha.git', 'main',
               '2025-02-01T00:00:00Z', '2025-02-01T00:00:00Z', 1),
              (\(l(M.epsilon)), 'épsilon ☃', '/srv/code/eps', '/srv/git/eps.git', 'trunk',
               '2025-03-01T00:00:00.5Z', '2025-03-01T00:00:00.5Z', 'yes'),
              (\(l(M.zeta)), 'zeta', '/code/zeta', '', 'main', '2025-13-40 99:00:00', 'never', 1);
            INSERT INTO worktree_types (name, branch_prefix, worktree_prefix, description, is_builtin, created_at) VALUES
              ('spike', 'spike/', 'spike-', 'Experiments', 0, '2025-05-05 05:05:05'),
              ('hotfix', 'hotfix/', 'hotfix-', NULL, 'false', 'not a date');
            INSERT INTO worktrees VALUES
              (\(l(M.worktree(1))), 'alpha', 'trunk-main', 'main', 'trunk', '/code/alpha/trunk-main',
               '2025-10-27T22:20:01Z', '2025-10-27T22:20:01Z', 1, NULL),
              (\(l(M.worktree(2))), 'alpha', 'feat-login', 'feat/login', 'feat', '/code/alpha/feat-login',
               '2025-10-27T22:21:00Z', '2025-10-27T22:21:00Z', 1, 'claude-1'),
              ('wt-3', 'beta', 'spike-x', 'spike/x', 'spike', '/code/beta/spike-x',
               1700000001, 1700000001, 'TRUE', NULL),
              (\(l(M.worktree(4))), 'ghost', 'feat-orphan', 'feat/orphan', 'feat', '/code/ghost/feat-orphan',
               '2025-10-27T22:21:00Z', '2025-10-27T22:21:00Z', 1, NULL),
              (\(l(M.worktree(5))), 'delta', 'fix-dup', 'fix/dup', 'fix', '/code/delta/fix-dup',
               '2025-10-27T22:21:00Z', '2025-10-27T22:21:00Z', 1, NULL),
              (\(l(M.worktree(6))), 'alpha', 'experiment-a', 'experiment/a', 'experiment', '/code/alpha/experiment-a',
               '2025-10-27T22:21:00Z', '2025-10-27T22:21:00Z', 1, NULL),
              (\(l(M.worktree(7))), 'alpha', 'feat-login-again', 'feat/login', 'feat', '/code/alpha/feat-login',
               '2025-10-27T22:22:00Z', '2025-10-27T22:22:00Z', 1, NULL),
              (\(l(M.worktree(8))), 'gamma', 'fix-awkward', \(l(M.awkwardText)), 'fix', '/code/gamma/fix-awkward',
               '2025-10-27 22:23:00.25', '2025-10-27 22:23:00.25', 'f', 'agent|with|pipes');
            INSERT INTO agent_activities VALUES
              (\(l(M.activity(1))), 'claude-1', \(l(M.worktree(2))), 'created', 'src/a.swift', \(l(M.awkwardText)),
               '2025-10-27T22:30:00.123456789+00:00'),
              (\(l(M.activity(2))), 'claude-1', \(l(M.worktree(2))), 'claimed', NULL, 'took it', '2025-10-27T22:31:00Z'),
              (\(l(M.activity(3))), 'claude-1', 'dddddddd-0000-4000-8000-000000000099', 'modified', NULL, 'orphan',
               '2025-10-27T22:32:00Z'),
              (\(l(M.activity(4))), 'claude-1', \(l(M.worktree(4))), 'modified', NULL, 'on orphan worktree',
               '2025-10-27T22:33:00Z'),
              (\(l(M.activity(5))), 'claude-1', \(l(M.worktree(2))), 'modified', NULL, 'bad time', 'yesterday'),
              ('act-6', 'codex', 'wt-3', 'committed', 'x.txt', 'non-uuid ids', '2025-10-27 22:35:00'),
              (\(l(M.activity(7))), 'claude-1', \(l(M.worktree(1))), 'synced', NULL, \(l(M.longDescription)),
               '2025-10-27T22:36:00Z'),
              (\(l(M.activity(8))), 'claude-1', \(l(M.worktree(1))), 'pushed', NULL, 'epoch ms', 1700000000123),
              (\(l(M.activity(9))), 'claude-1', \(l(M.worktree(1))), 'released', NULL, CAST(X'61FF62' AS TEXT),
               '2025-10-27T22:38:00Z');
            """)
    }

    /// `count` activities on `Messy.worktree(2)` (ids `eeeeeeee-…` numbered from 1, one second
    /// apart from 2023-11-14): beside the messy rows, a load large enough for the bulk path.
    public func insertBulkActivities(_ count: Int) throws {
        try run("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(count))
            INSERT INTO agent_activities SELECT printf('eeeeeeee-0000-4000-8000-%012x', i), 'bulk',
                'bbbbbbbb-0000-4000-8000-000000000002', 'modified', NULL, 'row ' || i,
                strftime('%Y-%m-%dT%H:%M:%fZ', 1700000000 + i, 'unixepoch') FROM n;
            """)
    }
}
