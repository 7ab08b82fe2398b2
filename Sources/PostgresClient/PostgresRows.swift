internal import CLibPQ
import struct Foundation.Date
import struct Foundation.UUID

/// The rows of one statement. Owns the `PGresult`.
///
/// Values are read by type: ``decode(_:_:as:)`` throws when a required value is NULL or
/// does not read as the type asked for, instead of defaulting; asking for an optional type
/// turns NULL into `nil`.
public final class PostgresRows {
    private let result: OpaquePointer
    /// The statement's opening words and target, for decode errors.
    private let origin: String

    init(_ result: OpaquePointer, origin: String) {
        self.result = result
        self.origin = origin
    }

    deinit {
        PQclear(result)
    }

    public var count: Int { Int(PQntuples(result)) }
    public var columnCount: Int { Int(PQnfields(result)) }

    /// Rows changed by an INSERT/UPDATE/DELETE.
    public var affectedRows: Int { Int(String(cString: PQcmdTuples(result))) ?? 0 }

    public var columnNames: [String] {
        (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
    }

    /// The value at (row, column) as `type`; throws on NULL or a value of another type.
    public func decode<T: PostgresDecodable>(_ row: Int, _ column: Int, as type: T.Type = T.self) throws -> T {
        guard let text = text(row, column) else {
            throw PostgresError(.decode, "\(origin): row \(row) column \(columnName(column)) is NULL, expected \(T.self)")
        }
        guard let value = T(postgresText: text) else {
            throw PostgresError(.decode, "\(origin): row \(row) column \(columnName(column)) does not read as \(T.self)")
        }
        return value
    }

    /// The value at (row, column) as `type`, `nil` for NULL; throws on a value of another type.
    public func decode<T: PostgresDecodable>(_ row: Int, _ column: Int, as type: T?.Type) throws -> T? {
        guard text(row, column) != nil else { return nil }
        return try decode(row, column, as: T.self)
    }

    /// Every value of one column, decoded as `type` (see ``decode(_:_:as:)``).
    public func column<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws -> [T] {
        try (0..<count).map { try decode($0, column, as: T.self) }
    }

    /// Every value of one column, `nil` for NULL.
    public func column<T: PostgresDecodable>(_ column: Int, as type: T?.Type) throws -> [T?] {
        try (0..<count).map { try decode($0, column, as: T?.self) }
    }

    /// The value's text as the server sent it; `nil` for NULL. For logs and tests that look
    /// at raw values; everything else decodes by type.
    public func text(_ row: Int, _ column: Int) -> String? {
        guard row < count, column < columnCount else { return nil }
        if PQgetisnull(result, Int32(row), Int32(column)) != 0 { return nil }
        return String(cString: PQgetvalue(result, Int32(row), Int32(column)))
    }

    /// Every row as raw text values, for small results in diagnostics and tests.
    public var textRows: [[String?]] {
        (0..<count).map { row in (0..<columnCount).map { text(row, $0) } }
    }

    private func columnName(_ column: Int) -> String {
        column < columnCount ? String(cString: PQfname(result, Int32(column))) : "#\(column)"
    }
}

/// A Swift value a column can be read as, from PostgreSQL's text output.
public protocol PostgresDecodable {
    /// `nil` when the text is not a value of this type.
    init?(postgresText: String)
}

extension String: PostgresDecodable {
    public init?(postgresText: String) { self = postgresText }
}

extension Int: PostgresDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Int64: PostgresDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Int32: PostgresDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Double: PostgresDecodable {
    public init?(postgresText: String) {
        switch postgresText {
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        case "NaN": self = .nan
        default: self.init(postgresText)
        }
    }
}

extension Bool: PostgresDecodable {
    /// PostgreSQL writes booleans as `t` and `f`.
    public init?(postgresText: String) {
        switch postgresText {
        case "t": self = true
        case "f": self = false
        default: return nil
        }
    }
}

extension UUID: PostgresDecodable {
    public init?(postgresText: String) { self.init(uuidString: postgresText) }
}

extension Date: PostgresDecodable {
    /// A `timestamptz` as written with `DateStyle = ISO` (the client sets it on connect).
    public init?(postgresText: String) {
        guard let date = PostgresTimestamp.date(postgresText) else { return nil }
        self = date
    }
}
