import struct Foundation.Date
import struct Foundation.UUID

/// One statement parameter as libpq sends it: its type's OID and its text form (`nil` is
/// NULL). Values only ever travel this way, never inside the SQL text.
public struct PostgresBind: Sendable, Equatable {
    /// The parameter's type; 0 lets the server infer it from the statement (as for text).
    public var oid: UInt32
    public var text: String?

    public init(oid: UInt32, text: String?) {
        self.oid = oid
        self.text = text
    }
}

/// A Swift value that can be a statement parameter: integers, booleans, floating point,
/// text, timestamps, UUIDs, optionals of those (NULL) and arrays of them.
public protocol PostgresBindable {
    /// The type PostgreSQL gets for values of this Swift type.
    static var postgresType: UInt32 { get }
    /// The value in PostgreSQL's text input form.
    var postgresText: String { get }
    /// The parameter as sent (optionals override it to send NULL).
    var postgresBind: PostgresBind { get }
}

extension PostgresBindable {
    public var postgresBind: PostgresBind { PostgresBind(oid: Self.postgresType, text: postgresText) }
}

/// The OIDs of the built-in types the client binds (`pg_type.oid`).
public enum PostgresType {
    public static let unknown: UInt32 = 0
    public static let bool: UInt32 = 16
    public static let int8: UInt32 = 20
    public static let int4: UInt32 = 23
    public static let text: UInt32 = 25
    public static let float8: UInt32 = 701
    public static let timestamptz: UInt32 = 1184
    public static let uuid: UInt32 = 2950
    public static let boolArray: UInt32 = 1000
    public static let int4Array: UInt32 = 1007
    public static let textArray: UInt32 = 1009
    public static let int8Array: UInt32 = 1016
    public static let float8Array: UInt32 = 1022
    public static let timestamptzArray: UInt32 = 1185
    public static let uuidArray: UInt32 = 2951

    /// The array type of an element type, for `[T]` parameters.
    static func array(of element: UInt32) -> UInt32 {
        switch element {
        case bool: boolArray
        case int4: int4Array
        case int8: int8Array
        case float8: float8Array
        case timestamptz: timestamptzArray
        case uuid: uuidArray
        default: textArray
        }
    }
}

extension String: PostgresBindable {
    // Unknown rather than text: `WHERE id = $1` against a uuid column must still work.
    public static var postgresType: UInt32 { PostgresType.unknown }
    public var postgresText: String { self }
}

extension Int: PostgresBindable {
    public static var postgresType: UInt32 { PostgresType.int8 }
    public var postgresText: String { String(self) }
}

extension Int32: PostgresBindable {
    public static var postgresType: UInt32 { PostgresType.int4 }
    public var postgresText: String { String(self) }
}

extension Int64: PostgresBindable {
    public static var postgresType: UInt32 { PostgresType.int8 }
    public var postgresText: String { String(self) }
}

extension Bool: PostgresBindable {
    public static var postgresType: UInt32 { PostgresType.bool }
    public var postgresText: String { self ? "t" : "f" }
}

extension Double: PostgresBindable {
    public static var postgresType: UInt32 { PostgresType.float8 }
    // Shortest text that reads back as the same double.
    public var postgresText: String { "\(self)" }
}

extension UUID: PostgresBindable {
    public static var postgresType: UInt32 { PostgresType.uuid }
    public var postgresText: String { uuidString.lowercased() }
}

extension Date: PostgresBindable {
    public static var postgresType: UInt32 { PostgresType.timestamptz }
    /// ISO 8601 in UTC with microseconds, which PostgreSQL reads whatever its DateStyle.
    public var postgresText: String { PostgresTimestamp.text(self) }
}

extension Optional: PostgresBindable where Wrapped: PostgresBindable {
    public static var postgresType: UInt32 { Wrapped.postgresType }
    /// Never read for `nil`: ``postgresBind`` sends NULL.
    public var postgresText: String { self?.postgresText ?? "" }
    public var postgresBind: PostgresBind { PostgresBind(oid: Self.postgresType, text: self?.postgresText) }
}

extension Array: PostgresBindable where Element: PostgresBindable {
    public static var postgresType: UInt32 {
        PostgresType.array(of: Element.postgresType == PostgresType.unknown ? PostgresType.text : Element.postgresType)
    }

    /// `{"a","b\"c",NULL}`: every element quoted, `"` and `\` escaped. One place in the
    /// program writes array literals, so no call site escapes anything by hand.
    public var postgresText: String {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, element) in enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            guard let text = element.postgresBind.text else {
                out += "NULL".utf8
                continue
            }
            // Byte by byte: both escaped characters are ASCII, which UTF-8 never uses inside
            // another character's bytes.
            out.append(quote)
            for byte in text.utf8 {
                if byte == quote || byte == backslash { out.append(backslash) }
                out.append(byte)
            }
            out.append(quote)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}

/// Timestamps in the text form PostgreSQL writes (`DateStyle = ISO`) and reads.
public enum PostgresTimestamp {
    /// `2026-12-01 21:12:21.123456+00`, from whole microseconds since 1970 in UTC.
    static func text(_ date: Date) -> String {
        let totalMicroseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        let seconds = totalMicroseconds.floorDivided(by: 1_000_000)
        return text(seconds: seconds, microseconds: totalMicroseconds - seconds * 1_000_000)
    }

    /// `YYYY-MM-DD HH:MM:SS.ffffff+00` for `seconds` since 1970 (UTC) and `microseconds`
    /// (0 to 999,999) into the second.
    public static func text(seconds totalSeconds: Int64, microseconds: Int64) -> String {
        var seconds = totalSeconds
        let days = seconds.floorDivided(by: 86_400)
        seconds -= days * 86_400
        let (year, month, day) = civil(fromDays: days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)) \(pad(seconds / 3600, 2)):"
            + "\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(microseconds, 6))+00"
    }

    /// Reads `YYYY-MM-DD HH:MM:SS[.ffffff][+-HH[:MM[:SS]]]` (ISO DateStyle, any zone).
    static func date(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        var position = 0
        func number(_ width: Int) -> Int64? {
            guard position + width <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[position..<position + width] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            position += width
            return value
        }
        func expect(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }
        guard let year = number(4), expect(0x2D), let month = number(2), expect(0x2D), let day = number(2),
            expect(0x20) || expect(0x54), let hour = number(2), expect(0x3A), let minute = number(2),
            expect(0x3A), let second = number(2)
        else { return nil }
        var microseconds: Int64 = 0
        if expect(0x2E) {
            var digits = 0
            while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
                if digits < 6 { microseconds = microseconds * 10 + Int64(bytes[position] - 0x30) }
                digits += 1
                position += 1
            }
            for _ in digits..<max(digits, 6) { microseconds *= 10 }
        }
        var offset: Int64 = 0
        if position < bytes.count {
            let sign: Int64 = bytes[position] == 0x2D ? -1 : 1
            guard bytes[position] == 0x2B || bytes[position] == 0x2D else { return nil }
            position += 1
            guard let hours = number(2) else { return nil }
            offset = hours * 3600
            if expect(0x3A), let minutes = number(2) { offset += minutes * 60 }
            if expect(0x3A), let extra = number(2) { offset += extra }
            offset *= sign
        }
        guard position == bytes.count else { return nil }
        let days = days(fromCivil: year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + Double(microseconds) / 1_000_000)
    }

    /// Howard Hinnant's days-from-civil (proleptic Gregorian), day 0 = 1970-01-01.
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = y.floorDivided(by: 400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = shifted.floorDivided(by: 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
