import Foundation
import RegistryClient
import Testing

@testable import SyncAgent

@Suite("Configuration")
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
        #expect(config.connectionSettings.source == .libpqDefaults)
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
        "passwords are masked in every connection-string form",
        arguments: [
            ("postgresql://u:pw@h:5432/db", "postgresql://u:****@h:5432/db"),
            ("postgres://u:p%40ss@h/db?sslmode=require", "postgres://u:****@h/db?sslmode=require"),
            ("postgresql://u@h/db?password=pw&sslmode=require", "postgresql://u@h/db?password=****&sslmode=require"),
            ("host=h user=u password=pw dbname=db", "host=h user=u password=**** dbname=db"),
            ("host=h password = 'p w\\'x' dbname=db", "host=h password = **** dbname=db"),
            ("postgresql://u@h/db", "postgresql://u@h/db"),
        ])
    func masking(conninfo: String, masked: String) {
        #expect(ConnectionSettings(conninfo: conninfo, source: .flag).maskedConninfo == masked)
    }
}
