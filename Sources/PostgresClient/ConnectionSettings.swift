import Foundation
internal import CLibPQ

/// Where the registry lives: a libpq connection string (URL or `key=value`), or libpq's own
/// defaults (`PG*` variables, the local socket, `~/.pgpass`) when none is given.
///
/// Everything shown of a connection string is rebuilt from what libpq's own parser
/// (`PQconninfoParse`) read, never by editing the text: percent-encoded keys
/// (`?%70assword=`), quotes and backslashes inside values and every other spelling libpq
/// accepts are seen exactly as libpq sees them, and the password is left out.
public struct ConnectionSettings: Sendable, Equatable {
    /// The libpq connection string; empty means "libpq defaults".
    public var conninfo: String
    /// Where the string came from (a flag, a variable, a file), for error messages.
    public var origin: String
    /// Seconds libpq waits for the server before giving up (`connect_timeout`).
    public var connectTimeout: Int
    /// How long statements may wait, and the keepalives; see ``ConnectionTimeouts``.
    public var timeouts: ConnectionTimeouts

    public init(
        conninfo: String, origin: String, connectTimeout: Int = 10, timeouts: ConnectionTimeouts = ConnectionTimeouts()
    ) {
        self.conninfo = conninfo
        self.origin = origin
        self.connectTimeout = connectTimeout
        self.timeouts = timeouts
    }

    /// These settings with the bounds of a background connection (agent, listener, mcp):
    /// bounds already set (by a test) are kept.
    public var boundedForBackground: ConnectionSettings {
        var bounded = self
        bounded.timeouts = timeouts.boundedForBackground
        return bounded
    }

    /// The connection string for display: rebuilt from libpq's parse, the password as
    /// `****`; a URL keeps its URL form. Unreadable strings are never echoed.
    public var maskedConninfo: String {
        if conninfo.isEmpty { return "" }
        if urlCredentialProblem != nil { return (urlScheme ?? "postgresql://") + "****" }
        guard let options = Self.parse(conninfo) else { return Self.unparsable }
        return urlScheme.map { Self.url(scheme: $0, options) } ?? Self.keywordValue(options)
    }

    /// The target as `user@host:port/dbname`, never with the password. Falls back to a fixed
    /// text when libpq cannot parse the string, so a malformed URL is never echoed.
    public var redactedDescription: String {
        if conninfo.isEmpty { return "libpq defaults (PG* variables, local socket)" }
        if urlCredentialProblem != nil { return Self.unparsable }
        guard let parsed = Self.parse(conninfo) else { return Self.unparsable }
        let options = Dictionary(parsed.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        let host = options["host"] ?? options["hostaddr"] ?? "local socket"
        let port = options["port"].map { ":\($0)" } ?? ""
        let user = options["user"].map { "\($0)@" } ?? ""
        let dbname = options["dbname"].map { "/\($0)" } ?? ""
        return "\(user)\(host)\(port)\(dbname)"
    }

    /// Whether the string itself carries a password (it then belongs in ~/.pgpass instead).
    /// A URL whose credentials libpq would misread counts as carrying one.
    public var containsPassword: Bool {
        if urlCredentialProblem != nil { return true }
        return Self.parse(conninfo)?.contains { $0.key == "password" && !$0.value.isEmpty } ?? false
    }

    /// Why a `postgresql://` URL cannot be read safely, or `nil`.
    ///
    /// libpq takes the user info up to the first `@` (unless a `/` comes first), so a password
    /// holding an unencoded `@` or `/` is split into the host, port or database name, and
    /// from there into every connection error. Such a URL is refused before connecting, with
    /// a message that quotes none of it.
    public var urlCredentialProblem: String? {
        guard let scheme = urlScheme else { return nil }
        let rest = conninfo.dropFirst(scheme.count)
        let firstAt = rest.firstIndex(of: "@")
        let firstSlash = rest.firstIndex(of: "/")
        guard let firstAt else { return nil }
        let problem = """
            the connection URL has an unencoded '@' or '/' in its user name, password or \
            database name; percent-encode them (%40, %2F) or move the password to ~/.pgpass
            """
        if let firstSlash, firstSlash < firstAt { return problem }
        let afterCredentials = rest[rest.index(after: firstAt)...]
        let beforeQuery = afterCredentials.prefix { $0 != "?" }
        return beforeQuery.contains("@") ? problem : nil
    }

    /// `postgresql://` or `postgres://` when the string is a URL.
    private var urlScheme: String? {
        ["postgresql://", "postgres://"].first { conninfo.hasPrefix($0) }
    }

    private static let unparsable = "(an unparsable connection string)"

    /// libpq's parse as (keyword, value) pairs in libpq's order, only the options the string
    /// sets; `nil` when the string is malformed.
    package static func parse(_ conninfo: String) -> [(key: String, value: String)]? {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            // The message may quote the string (and its password): it is never shown.
            if let errorMessage { PQfreemem(errorMessage) }
            return nil
        }
        defer { PQconninfoFree(options) }
        var result: [(key: String, value: String)] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                result.append((String(cString: keyword), String(cString: value)))
            }
            option += 1
        }
        return result
    }

    /// `key=value` pairs, values quoted as libpq reads them, the password as `****`.
    private static func keywordValue(_ options: [(key: String, value: String)]) -> String {
        options.map { option in
            option.key == "password" ? "password=****" : "\(option.key)=\(quoted(option.value))"
        }.joined(separator: " ")
    }

    /// A libpq `key=value` value: bare when it can be, else single-quoted with `\` escapes.
    private static func quoted(_ value: String) -> String {
        let plain = !value.isEmpty && !value.contains { $0.isWhitespace || $0 == "'" || $0 == "\\" }
        if plain { return value }
        var text = "'"
        for character in value {
            if character == "'" || character == "\\" { text.append("\\") }
            text.append(character)
        }
        return text + "'"
    }

    /// The URL form: user, password as `****`, a plain host and port in the authority, the
    /// database as the path, everything else (socket directories, host lists) as parameters.
    private static func url(scheme: String, _ options: [(key: String, value: String)]) -> String {
        let values = Dictionary(options.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        var query: [(String, String)] = []
        var authority = ""
        if let user = values["user"] {
            authority = encoded(user) + (values["password"] != nil ? ":****" : "") + "@"
        } else if values["password"] != nil {
            query.append(("password", "****"))
        }
        let host = values["host"]
        let hostInAuthority = host.map { !$0.isEmpty && !$0.contains("/") && !$0.contains(",") } ?? false
        if let host, hostInAuthority {
            authority += host.contains(":") ? "[\(host)]" : encoded(host)
            if let port = values["port"], !port.contains(",") { authority += ":" + encoded(port) }
        }
        for (key, value) in options where !["user", "password", "dbname"].contains(key) {
            if key == "host", hostInAuthority { continue }
            if key == "port", hostInAuthority, !value.contains(",") { continue }
            query.append((key, key == "password" ? "****" : value))
        }
        var text = scheme + authority
        if let dbname = values["dbname"] { text += "/" + encoded(dbname) }
        if !query.isEmpty {
            if values["dbname"] == nil { text += "/" }
            text += "?" + query.map { "\(encoded($0.0))=\($0.1 == "****" ? "****" : encoded($0.1))" }
                .joined(separator: "&")
        }
        return text
    }

    private static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    private static let unreserved: CharacterSet = {
        var set = CharacterSet(charactersIn: "-._~")
        set.formUnion(CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
        return set
    }()
}
