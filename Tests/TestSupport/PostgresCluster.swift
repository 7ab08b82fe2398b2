import Foundation
import PostgresClient
import RegistryClient

/// A throwaway PostgreSQL cluster for tests: initdb + pg_ctl in a temporary directory,
/// listening on a Unix socket and on 127.0.0.1 (where every login needs a scram-sha-256
/// password), removed when the test process exits.
///
/// initdb refuses to run as root, so as root the cluster is owned by and run as the
/// `postgres` system user. A missing PostgreSQL is an error, never a skip.
public final class PostgresCluster: Sendable {
    public let directory: URL
    public let socketDirectory: String
    public let superuser = "postgres"
    /// The TCP port on 127.0.0.1 (also the number in the socket's name).
    public let port: Int
    /// The one role that logs in with a password (`passwordUserSecret`); see ``start()``.
    public static let passwordUser = "imi_password_user"
    public static let passwordUserSecret = "right-horse-battery"
    private let binDirectory: URL
    private let runAs: String?

    /// The cluster shared by every test in this process, started on first use.
    public static func shared() throws -> PostgresCluster {
        BrokenPipes.ignore()
        return try sharedCluster.get()
    }

    private static let sharedCluster: Result<PostgresCluster, Error> = Result {
        let cluster = try PostgresCluster.start()
        atexit { try? PostgresCluster.sharedCluster.get().stop() }
        return cluster
    }

    /// libpq settings for `database` on this cluster.
    public func settings(database: String = "postgres", user: String? = nil) -> ConnectionSettings {
        ConnectionSettings(
            conninfo: "host=\(socketDirectory) port=\(port) user=\(user ?? superuser) dbname=\(database)",
            origin: "test")
    }

    /// Creates the password role (once per cluster) and returns settings that log in as it
    /// with `password`.
    public func passwordSettings(password: String) throws -> ConnectionSettings {
        let admin = try PostgresConnection(settings: settings())
        try admin.executeScript(StaticScript("""
            DO $$ BEGIN
                CREATE ROLE \(Self.passwordUser) LOGIN PASSWORD '\(Self.passwordUserSecret)';
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END $$
            """))
        return ConnectionSettings(
            conninfo: "postgresql://\(Self.passwordUser):\(password)@/postgres?host=\(socketDirectory)&port=\(port)",
            origin: "test")
    }

    /// A new, empty database with a unique name; returns its settings.
    public func createDatabase(prefix: String = "t") throws -> ConnectionSettings {
        let name = "\(prefix)_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        let admin = try PostgresConnection(settings: settings())
        try admin.execute("SELECT 1")
        // CREATE DATABASE takes an identifier, not a parameter; the name is generated above.
        try admin.executeScript(StaticScript("CREATE DATABASE \(name)"))
        let created = settings(database: name)
        // Twice in about a dozen full runs, the first connection to a database just created
        // was closed by the server during start-up ("server closed the connection
        // unexpectedly", nothing in the server's log at its default level); not understood yet.
        // The database is opened once here, a second time if that happens, and the test starts
        // from a database that has accepted a connection. Said on standard error, not hidden.
        do {
            _ = try PostgresConnection(settings: created)
        } catch {
            FileHandle.standardError.write(Data("note: first connection to test database \(name) failed (\(error)); retrying once\n".utf8))
            _ = try PostgresConnection(settings: created)
        }
        return created
    }

    /// Starts a new cluster (tests normally use ``shared()``).
    public static func start() throws -> PostgresCluster {
        let bin = try locateBinaries()
        let runAs: String? = geteuid() == 0 ? "postgres" : nil
        let directory = URL(fileURLWithPath: "/tmp")
            .appendingPathComponent("imi-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let runAs {
            try run("/bin/chown", [runAs, directory.path])
        }
        let data = directory.appendingPathComponent("data").path
        try run(
            bin.appendingPathComponent("initdb").path,
            ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions"],
            as: runAs)
        // One role must prove its password on the socket; on TCP every role must.
        let hba = URL(fileURLWithPath: data).appendingPathComponent("pg_hba.conf")
        let rules = try String(contentsOf: hba, encoding: .utf8)
        try ("local all \(Self.passwordUser) scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n" + rules)
            .write(to: hba, atomically: false, encoding: .utf8)
        var lastError: Error?
        for _ in 0..<5 {
            // A port another cluster (or anything) holds makes the start fail: try another.
            let port = Int.random(in: 20_000..<60_000)
            do {
                try run(bin.appendingPathComponent("pg_ctl").path, startArguments(data: data, directory: directory, port: port), as: runAs)
                return PostgresCluster(directory: directory, bin: bin, runAs: runAs, port: port)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? TestSupportError("cannot start PostgreSQL")
    }

    private static func startArguments(data: String, directory: URL, port: Int) -> [String] {
        [
            "-D", data, "-l", directory.appendingPathComponent("server.log").path, "-w", "-t", "60",
            "-o", "-k \(directory.path) -p \(port) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                + "-c full_page_writes=off -c max_connections=200",
            "start",
        ]
    }

    private init(directory: URL, bin: URL, runAs: String?, port: Int) {
        self.port = port
        self.directory = directory
        self.socketDirectory = directory.path
        self.binDirectory = bin
        self.runAs = runAs
    }

    /// Stops the server (`mode`: smart, fast, immediate) and optionally deletes everything.
    public func stop(mode: String = "immediate", remove: Bool = true) throws {
        _ = try? Self.run(
            binDirectory.appendingPathComponent("pg_ctl").path,
            ["-D", directory.appendingPathComponent("data").path, "-m", mode, "-w", "stop"],
            as: runAs)
        if remove { try? FileManager.default.removeItem(at: directory) }
    }

    /// Starts a server stopped with `stop(remove: false)` again, on the same socket and port.
    public func restart() throws {
        try Self.run(
            binDirectory.appendingPathComponent("pg_ctl").path,
            Self.startArguments(data: directory.appendingPathComponent("data").path, directory: directory, port: port),
            as: runAs)
    }

    /// The server binaries: `IMI_TEST_PG_BIN`, then `pg_config --bindir`, then Debian's layout.
    private static func locateBinaries() throws -> URL {
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["IMI_TEST_PG_BIN"] {
            candidates.append(explicit)
        }
        if let bindir = try? capture("/usr/bin/pg_config", ["--bindir"]) {
            candidates.append(bindir.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let debian = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: debian.path)) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            candidates.append(debian.appendingPathComponent(version).appendingPathComponent("bin").path)
        }
        for candidate in candidates
        where FileManager.default.isExecutableFile(atPath: candidate + "/initdb") {
            return URL(fileURLWithPath: candidate)
        }
        throw TestSupportError(
            "PostgreSQL server binaries (initdb, pg_ctl) not found; install them with "
                + "`apt-get install postgresql` or set IMI_TEST_PG_BIN (looked in \(candidates))")
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], as user: String? = nil) throws -> String {
        if let user {
            return try capture("/usr/sbin/runuser", ["-u", user, "--", executable] + arguments)
        }
        return try capture(executable, arguments)
    }
}

/// Runs a program with an argument array (never a shell) and returns its standard output.
/// Output goes through temporary files, so a daemon the program starts (pg_ctl's postmaster)
/// cannot hold a pipe open and keep the caller waiting.
@discardableResult
public func capture(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil
) throws -> String {
    let scratch = FileManager.default.temporaryDirectory
        .appendingPathComponent("imi-capture-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outPath = scratch.appendingPathComponent("out").path
    let errPath = scratch.appendingPathComponent("err").path
    let process = try ChildProcess(
        URL(fileURLWithPath: executable), arguments,
        environment: environment ?? ProcessInfo.processInfo.environment,
        standardOutput: outPath, standardError: errPath)
    let status = process.waitForExit(timeout: 300)
    guard status == 0 else {
        let errors = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        throw TestSupportError(
            "\(executable) \(arguments.joined(separator: " ")) failed (exit \(status.map(String.init) ?? "none")): \(errors)")
    }
    return (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
}

/// A failure in test set-up, with what was tried.
public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
