import Foundation
import PostgresClient
import RegistryClient
import Testing
import TestSupport

@testable import ImiSyncCLI
@testable import SyncAgent
@testable import SyncConfiguration

@Suite("Configuration", .ownThreads)
struct ConfigTests {
    /// Writes `text` as a config file with `mode` in a fresh directory; returns its path.
    func configFile(_ text: String, mode: mode_t = 0o600) throws -> String {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("imi-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("config.toml").path
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode)
        return path
    }

    static let fileText = """
        [database]
        type = "postgresql"
        url = "postgresql://imi_app@filehost/imi_registry"
        pool_size = 4
        connection_timeout = 7

        [database.fallback]
        enabled = true
        type = "sqlite"
        path = "~/legacy/database.db"
        """

    @Test(
        "flags override environment override the file override defaults",
        arguments: [
            ("postgresql://flag@h/db", "postgresql://env@h/db", "postgresql://flag@h/db", "--database-url"),
            (nil, "postgresql://env@h/db", "postgresql://env@h/db", "IMI_DATABASE_URL"),
            (nil, nil, "postgresql://imi_app@filehost/imi_registry", "config file"),
        ] as [(String?, String?, String, String)])
    func precedence(flag: String?, env: String?, expected: String, source: String) throws {
        let path = try configFile(Self.fileText)
        var environment = ["HOME": "/home/tester"]
        environment["IMI_DATABASE_URL"] = env
        let config = try ResolvedConfig.resolve(
            databaseURLFlag: flag, environment: environment, configPathOverride: path)
        #expect(config.databaseURL.value == expected)
        #expect(config.databaseURL.source.hasPrefix(source))
        #expect(config.connectionSettings.conninfo == expected)
        #expect(config.connectionTimeout.value == 7)
        #expect(config.connectionSettings.connectTimeout == 7)
        #expect(config.poolSize.value == 4)
        #expect(config.legacyPath.value == "/home/tester/legacy/database.db")
        #expect(config.fallbackEnabled.value == true)
    }

    /// What an explicitly named config path is: missing or not a file is an error (78) that
    /// says so up front; a FIFO is refused before anything reads (and blocks on) it.
    @Test("an explicit --config that is missing, a directory or a FIFO is refused in one line")
    func explicitConfigPaths() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("imi-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let cases = [
            (directory.appendingPathComponent("missing.toml").path, "does not exist"),
            (directory.path, "is a directory, not a file"),
            (fifo, "is a FIFO (named pipe), not a file"),
        ]
        for (path, words) in cases {
            let error = #expect(throws: ConfigError.self) {
                try ResolvedConfig.resolve(databaseURLFlag: nil, environment: ["HOME": "/h"], configPathOverride: path)
            }
            #expect(error?.description.contains(words) == true, "\(path): \(error?.description ?? "")")
            #expect(error?.description.contains(path) == true)
            #expect(error.map { ExitStatus.report($0) } == ExitStatus.configuration)
        }
        let viaEnvironment = #expect(throws: ConfigError.self) {
            try ResolvedConfig.resolve(databaseURLFlag: nil, environment: ["HOME": "/h", "IMI_CONFIG": cases[0].0])
        }
        #expect(viaEnvironment?.description.contains("from IMI_CONFIG") == true)
    }

    @Test("--config /dev/null means no file, and says so")
    func devNull() throws {
        let config = try ResolvedConfig.resolve(databaseURLFlag: nil, environment: ["HOME": "/h"], configPathOverride: "/dev/null")
        #expect(config.configFileFound == false)
        #expect(config.configFileNote == "a character device, read as empty")
        #expect(config.databaseURL.value == nil)
    }

    @Test("without file or environment: libpq defaults and XDG paths")
    func defaults() throws {
        let config = try ResolvedConfig.resolve(
            databaseURLFlag: nil,
            environment: ["HOME": "/home/t", "XDG_DATA_HOME": "/data", "XDG_CONFIG_HOME": "/nonexistent-cfg"])
        #expect(config.configPath == "/nonexistent-cfg/imi/config.toml")
        #expect(config.configFileFound == false)
        #expect(config.databaseURL.value == nil)
        #expect(config.connectionSettings.conninfo == "")
        #expect(config.connectionSettings.origin.hasPrefix("libpq defaults"))
        #expect(config.legacyPath.value == "/data/imi/database.db")
        #expect(config.activityRetentionDays.value == 90)
        #expect(config.inactiveWorktreeDays.value == 30)
    }

    @Test("a password in a file others can read is refused with the chmod to run")
    func refusesReadablePassword() throws {
        let text = "[database]\nurl = \"postgresql://imi_app:s3cret@localhost/imi_registry\"\n"
        let open = try configFile(text, mode: 0o644)
        let error = #expect(throws: ConfigError.self) {
            try ResolvedConfig.resolve(databaseURLFlag: nil, environment: [:], configPathOverride: open)
        }
        #expect(error?.description.contains("chmod 600 \(open)") == true)
        #expect(error?.description.contains("s3cret") == false)
        let closed = try configFile(text, mode: 0o600)
        let config = try ResolvedConfig.resolve(databaseURLFlag: nil, environment: [:], configPathOverride: closed)
        #expect(config.connectionSettings.maskedConninfo == "postgresql://imi_app:****@localhost/imi_registry")
    }

    @Test("a world-readable file without a password is fine")
    func readableWithoutPassword() throws {
        let path = try configFile(Self.fileText, mode: 0o644)
        let config = try ResolvedConfig.resolve(databaseURLFlag: nil, environment: [:], configPathOverride: path)
        #expect(config.configFileFound)
    }

    @Test("IMI_DATABASE_TYPE=sqlite is refused: imi-sync serves PostgreSQL")
    func refusesSQLiteType() throws {
        let error = #expect(throws: ConfigError.self) {
            try ResolvedConfig.resolve(
                databaseURLFlag: nil, environment: ["IMI_DATABASE_TYPE": "sqlite"],
                configPathOverride: "/dev/null")
        }
        #expect(error?.description.contains("IMI_DATABASE_TYPE") == true)
    }

    @Test("invalid TOML names the file and line")
    func invalidTOML() throws {
        let path = try configFile("[database]\nurl = \"unterminated\n")
        let error = #expect(throws: ConfigError.self) {
            try ResolvedConfig.resolve(databaseURLFlag: nil, environment: [:], configPathOverride: path)
        }
        #expect(error?.description.hasPrefix("\(path):2:") == true)
    }

    @Test(
        "passwords are masked in every connection-string form libpq reads",
        arguments: [
            ("postgresql://u:pw@h:5432/db", "postgresql://u:****@h:5432/db"),
            ("postgres://u:p%40ss@h/db?sslmode=require", "postgres://u:****@h/db?sslmode=require"),
            ("postgresql://u@h/db?password=pw&sslmode=require", "postgresql://u:****@h/db?sslmode=require"),
            // A percent-encoded key is still the password to libpq.
            ("postgresql://u@host/db?%70assword=S3cret", "postgresql://u:****@host/db"),
            ("postgresql://h/db?password=S3cret", "postgresql://h/db?password=****"),
            ("host=h user=u password=pw dbname=db", "user=u password=**** dbname=db host=h"),
            ("host=h password = 'p w\\'x' dbname=db", "password=**** dbname=db host=h"),
            // A quote inside a bare value, an escaped space: one value each to libpq.
            ("password=WR'ONG_secret host=h", "password=**** host=h"),
            ("password=WRONG\\ secret host=h", "password=**** host=h"),
            // An unencoded '@' or '/' in the password: libpq would read a piece of it as the
            // host, port or database, so nothing after the scheme is shown.
            ("postgresql://u:p@Zq9Xk@host/db", "postgresql://****"),
            ("postgresql://u:p/Zq9Xk@host/db", "postgresql://****"),
            ("postgresql://u@h/db", "postgresql://u@h/db"),
            ("host=/run/postgresql dbname=imi_registry", "dbname=imi_registry host=/run/postgresql"),
            ("postgresql:///imi?host=/tmp/pg%20dir", "postgresql:///imi?host=%2Ftmp%2Fpg%20dir"),
            ("host='unterminated password=x", "(an unparsable connection string)"),
        ])
    func masking(conninfo: String, masked: String) {
        let settings = ConnectionSettings(conninfo: conninfo, origin: "test")
        #expect(settings.maskedConninfo == masked)
        for secret in ["pw", "S3cret", "ONG_secret", "secret", "Zq9Xk"] where conninfo.contains(secret) {
            #expect(!settings.maskedConninfo.contains(secret))
            #expect(!settings.redactedDescription.contains(secret))
            #expect(!ProcessTitle.masked(conninfo).contains(secret))
            #expect(!ProcessTitle.masked("--database-url=" + conninfo).contains(secret))
        }
    }

    @Test("a URL whose password libpq would misread is refused before connecting, quoting none of it")
    func misreadPasswordRefused() {
        for url in ["postgresql://u:p@Zq9Xk@127.0.0.1:1/db", "postgresql://u:p/Zq9Xk@127.0.0.1:1/db"] {
            let error = #expect(throws: PostgresError.self) {
                try PostgresConnection(settings: ConnectionSettings(conninfo: url, origin: "test"))
            }
            #expect(error?.code == .invalidInput)
            #expect(error?.description.contains("percent-encode") == true)
            #expect(error?.description.contains("Zq9Xk") == false)
        }
    }

    @Test("arguments without a password keep their text in the process title")
    func plainArguments() {
        for argument in ["run", "--log-level=debug", "/home/me/code", "--settle-ms", "60"] {
            #expect(ProcessTitle.masked(argument) == argument)
        }
    }
}
