internal import CLibPQ

/// Where the registry lives: a libpq connection string (URL or `key=value`), or libpq's own
/// defaults (`PG*` variables, the local socket, `~/.pgpass`) when none is given.
public struct ConnectionSettings: Sendable, Equatable {
    /// Where the connection string came from, for `config` output and error messages.
    public enum Source: String, Sendable {
        case flag = "--database-url"
        case environment = "IMI_DATABASE_URL"
        case configFile = "config file"
        case libpqDefaults = "libpq defaults"
    }

    /// The libpq connection string; empty means "libpq defaults".
    public var conninfo: String
    public var source: Source
    /// Seconds libpq waits for the server before giving up (`connect_timeout`).
    public var connectTimeout: Int

    public init(conninfo: String, source: Source, connectTimeout: Int = 10) {
        self.conninfo = conninfo
        self.source = source
        self.connectTimeout = connectTimeout
    }

    /// The connection string with any password replaced by `****`, for display.
    public var maskedConninfo: String {
        var masked = conninfo
        if conninfo.hasPrefix("postgresql://") || conninfo.hasPrefix("postgres://") {
            // User info (postgresql://user:secret@host) and the query parameter (?password=…).
            masked = masked.replacing(/^(postgres(?:ql)?:\/\/[^:@\/?]*:)[^@\/?]*@/) { "\($0.output.1)****@" }
            masked = masked.replacing(/([?&]password=)[^&]*/) { "\($0.output.1)****" }
        } else {
            // key=value form: password=secret or password = 'se cret'
            masked = masked.replacing(/(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']+)/) { "\($0.output.1)****" }
        }
        return masked
    }

    /// The target as `user@host:port/dbname`, never with the password. Falls back to a fixed
    /// text when libpq cannot parse the string, so a malformed URL is never echoed.
    public var redactedDescription: String {
        if conninfo.isEmpty { return "libpq defaults (PG* variables, local socket)" }
        guard let options = Self.parse(conninfo) else { return "an unparsable connection string" }
        let host = options["host"] ?? options["hostaddr"] ?? "local socket"
        let port = options["port"].map { ":\($0)" } ?? ""
        let user = options["user"].map { "\($0)@" } ?? ""
        let dbname = options["dbname"].map { "/\($0)" } ?? ""
        return "\(user)\(host)\(port)\(dbname)"
    }

    /// Whether the string itself carries a password (it then belongs in ~/.pgpass instead).
    public var containsPassword: Bool {
        guard let options = Self.parse(conninfo) else { return false }
        return options["password"].map { !$0.isEmpty } ?? false
    }

    /// libpq's own parser; `nil` when the string is malformed.
    static func parse(_ conninfo: String) -> [String: String]? {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            if let errorMessage { PQfreemem(errorMessage) }
            return nil
        }
        defer { PQconninfoFree(options) }
        var result: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                result[String(cString: keyword)] = String(cString: value)
            }
            option += 1
        }
        return result
    }
}
