import Foundation
import PostgresClient

/// A real PgBouncer (Debian's `pgbouncer`, 1.18) in front of a ``PostgresCluster``, for tests
/// of the registry through a transaction pooler: its own temporary directory, listening only
/// on a Unix socket there (no TCP port to collide with), stopped by ``stop()`` or when the
/// value goes away.
///
/// PgBouncer refuses to run as root, like initdb: as root it runs as the cluster's owner, the
/// `postgres` system user. Clients log in with `auth_type = trust`; any role of the cluster is
/// accepted because `auth_user` looks roles up in `pg_shadow` (the default `auth_query`), so
/// roles a test creates later (deploy/roles.sql, `imi_grant_host`) work without a restart.
/// PgBouncer logs in to the server over the cluster's socket, where every role but
/// ``PostgresCluster/passwordUser`` is trusted; a role the server asks a password of must be
/// given with its password in `passwords` (written to the auth_file in plain text).
///
/// The admin console (database `pgbouncer`, user `postgres`) answers only the simple query
/// protocol, which `PostgresConnection` does not speak for rows, so ``admin(_:)`` runs psql.
public final class PgBouncer: @unchecked Sendable {
    /// The cluster behind it.
    public let cluster: PostgresCluster
    /// The directory holding the config, the auth file, the log, the pid file and the socket.
    public let directory: URL
    /// The port in the socket's name (`.s.PGSQL.<port>`); nothing listens on TCP.
    public let port: Int
    /// `default_pool_size`: server connections per (database, user) pair.
    public let poolSize: Int
    public let poolMode: String
    private let runAs: String?
    private var stopped = false

    /// The pgbouncer binary: `IMI_TEST_PGBOUNCER`, then Debian's /usr/sbin/pgbouncer, then PATH.
    public static func locateBinary() throws -> URL {
        let environment = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let explicit = environment["IMI_TEST_PGBOUNCER"] { candidates.append(explicit) }
        candidates.append("/usr/sbin/pgbouncer")
        for directory in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            candidates.append("\(directory)/pgbouncer")
        }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            return URL(fileURLWithPath: candidate)
        }
        throw TestSupportError(
            "pgbouncer not found; install it with scripts/ensure-packages.sh (Debian's `pgbouncer`) "
                + "or set IMI_TEST_PGBOUNCER (looked in \(candidates))")
    }

    /// Whether a missing pgbouncer must fail the test (`CI=true`) rather than skip it.
    public static var isRequired: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Starts PgBouncer in front of `cluster` (every database, `*`), in `poolMode`
    /// (`transaction`, `session` or `statement`) with `poolSize` server connections per
    /// (database, user). Returns once the admin console answers.
    public static func start(
        in front: PostgresCluster, poolSize: Int = 2, poolMode: String = "transaction",
        passwords: [String: String] = [:]
    ) throws -> PgBouncer {
        let binary = try locateBinary()
        let runAs: String? = geteuid() == 0 ? "postgres" : nil
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("imi-pgb-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let port = 6432
        let config = directory.appendingPathComponent("pgbouncer.ini")
        let authFile = directory.appendingPathComponent("userlist.txt")
        // The auth_user itself must be in the auth_file; it logs in over the trusted socket.
        var users = ["\"\(front.superuser)\" \"\""]
        for (role, password) in passwords.sorted(by: { $0.key < $1.key }) {
            users.append("\"\(role)\" \"\(password.replacingOccurrences(of: "\"", with: "\"\""))\"")
        }
        try (users.joined(separator: "\n") + "\n").write(to: authFile, atomically: false, encoding: .utf8)
        try """
            [databases]
            * = host=\(front.socketDirectory) port=\(front.port)

            [pgbouncer]
            listen_addr =
            listen_port = \(port)
            unix_socket_dir = \(directory.path)
            auth_type = trust
            auth_file = \(authFile.path)
            auth_user = \(front.superuser)
            admin_users = \(front.superuser)
            stats_users = \(front.superuser)
            pool_mode = \(poolMode)
            default_pool_size = \(poolSize)
            min_pool_size = 0
            reserve_pool_size = 0
            max_client_conn = 1000
            log_connections = 1
            log_disconnections = 1
            logfile = \(directory.appendingPathComponent("pgbouncer.log").path)
            pidfile = \(directory.appendingPathComponent("pgbouncer.pid").path)

            """.write(to: config, atomically: false, encoding: .utf8)
        if let runAs {
            try capture("/bin/chown", ["-R", runAs, directory.path])
        }
        // -d: it forks once the socket listens and the pid file is written.
        try PostgresCluster.run(binary.path, ["-d", "-q", config.path], as: runAs)
        let bouncer = PgBouncer(
            cluster: front, directory: directory, port: port, poolSize: poolSize, poolMode: poolMode, runAs: runAs)
        var lastError: Error?
        for _ in 0..<100 {
            do {
                _ = try bouncer.admin("SHOW VERSION")
                return bouncer
            } catch {
                lastError = error
                usleep(50_000)
            }
        }
        try? bouncer.stop()
        throw TestSupportError("pgbouncer did not answer: \(lastError.map { "\($0)" } ?? "")\n\(bouncer.log())")
    }

    private init(cluster: PostgresCluster, directory: URL, port: Int, poolSize: Int, poolMode: String, runAs: String?) {
        self.cluster = cluster
        self.directory = directory
        self.port = port
        self.poolSize = poolSize
        self.poolMode = poolMode
        self.runAs = runAs
    }

    deinit { try? stop() }

    /// libpq settings for `database` as `user` through PgBouncer.
    public func settings(database: String, user: String? = nil) -> ConnectionSettings {
        ConnectionSettings(
            conninfo: "host=\(directory.path) port=\(port) user=\(user ?? cluster.superuser) dbname=\(database)",
            origin: "test")
    }

    /// Runs `command` (`SHOW POOLS`, `SHOW SERVERS`, …) on the admin console and returns the
    /// rows as a list of column → value dictionaries.
    public func admin(_ command: String) throws -> [[String: String]] {
        let output = try capture(
            "/usr/bin/psql",
            ["-X", "-q", "--csv", "-d", settings(database: "pgbouncer").conninfo, "-c", command],
            environment: ["PATH": "/usr/bin:/bin", "PGCONNECT_TIMEOUT": "5"])
        var lines = output.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard !lines.isEmpty else { return [] }
        let header = Self.csvFields(lines.removeFirst())
        return lines.map { Dictionary(zip(header, Self.csvFields($0)), uniquingKeysWith: { first, _ in first }) }
    }

    /// The server connections PgBouncer holds now for `database` as `user` (`SHOW SERVERS`).
    public func serverConnections(database: String, user: String) throws -> Int {
        try admin("SHOW SERVERS").filter { $0["database"] == database && $0["user"] == user }.count
    }

    /// The log so far (connections, logins, errors).
    public func log() -> String {
        (try? String(contentsOf: directory.appendingPathComponent("pgbouncer.log"), encoding: .utf8)) ?? ""
    }

    /// How many server connections PgBouncer ever opened for `database` as `user`, from its log
    /// (`log_connections`): the peak cannot exceed this, and it does not depend on sampling.
    public func serverLoginsLogged(database: String, user: String) -> Int {
        log().split(separator: "\n").filter {
            $0.contains(" S-") && $0.contains(" \(database)/\(user)@") && $0.hasSuffix("new connection to server")
        }.count
    }

    /// How many client logins PgBouncer accepted for `database` as `user`, from its log.
    public func clientLoginsLogged(database: String, user: String) -> Int {
        log().split(separator: "\n").filter {
            $0.contains(" C-") && $0.contains(" \(database)/\(user)@") && $0.contains("login attempt: db=\(database) user=\(user) ")
        }.count
    }

    /// Stops PgBouncer (the console's SHUTDOWN, then SIGKILL if it is still there) and
    /// removes its directory.
    ///
    /// Not SIGTERM: a process spawned from the test runner inherits its blocked-signal mask
    /// (posix_spawn keeps it), and PgBouncer never sees a SIGTERM that stays blocked.
    public func stop(remove: Bool = true) throws {
        guard !stopped else { return }
        stopped = true
        let pidFile = directory.appendingPathComponent("pgbouncer.pid")
        let pid = (try? String(contentsOf: pidFile, encoding: .utf8))
            .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        _ = try? admin("SHUTDOWN")  // psql reports the closed connection: expected
        if let pid {
            // Not our child (it daemonized): wait until the pid is gone, or a zombie where
            // nothing reaps orphans (a container whose pid 1 is not an init).
            var waited = 0
            while kill(pid, 0) == 0 && !Self.isZombie(pid) && waited < 200 {
                usleep(25_000)
                waited += 1
            }
            if kill(pid, 0) == 0 && !Self.isZombie(pid) { kill(pid, SIGKILL) }
        }
        if remove { try? FileManager.default.removeItem(at: directory) }
    }

    private static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return true }
        return stat[stat.index(after: end)...].split(separator: " ").first == "Z"
    }

    /// One CSV line into fields (psql --csv quotes fields with commas or quotes).
    static func csvFields(_ line: String) -> [String] {
        var fields: [String] = []
        var field = ""
        var quoted = false
        var iterator = Array(line).makeIterator()
        var pending: Character? = nil
        while let character = pending ?? iterator.next() {
            pending = nil
            switch (character, quoted) {
            case ("\"", true):
                if let next = iterator.next() {
                    if next == "\"" { field.append("\"") } else { quoted = false; pending = next }
                } else {
                    quoted = false
                }
            case ("\"", false): quoted = true
            case (",", false):
                fields.append(field)
                field = ""
            default: field.append(character)
            }
        }
        fields.append(field)
        return fields
    }
}
