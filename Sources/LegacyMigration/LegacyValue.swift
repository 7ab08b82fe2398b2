import PostgresClient
import RegistryClient
/// How a legacy value is carried into PostgreSQL: unchanged, converted to a form PostgreSQL
/// reads (the original kept beside it), or not understood (the original kept, no value).
enum LegacyValue: Equatable {
    case unchanged
    case converted(String)
    case invalid
}

/// Legacy timestamps: RFC 3339 (any number of fraction digits, `Z` or an offset), SQLite's
/// `YYYY-MM-DD HH:MM:SS[.fff]` (UTC), a bare date, and epoch numbers (seconds; milli-, micro-
/// or nanoseconds when too large to be seconds).
///
/// Text PostgreSQL reads exactly as meant (the importer sets `TimeZone` to UTC) passes
/// `unchanged`; every field is range-checked here so a cast can never fail later.
enum LegacyTimestamp {
    static func classify(_ bytes: UnsafeBufferPointer<UInt8>) -> LegacyValue {
        var start = 0
        var end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        guard start < end else { return .invalid }
        let trimmed = UnsafeBufferPointer(rebasing: bytes[start..<end])
        if let epoch = epochText(trimmed) { return .converted(epoch) }
        guard isCalendarText(trimmed) else { return .invalid }
        if start == 0 && end == bytes.count { return .unchanged }
        return .converted(String(decoding: trimmed, as: UTF8.self))
    }

    static func classify(_ text: String) -> LegacyValue {
        var text = text
        return text.withUTF8 { classify($0) }
    }

    // MARK: Epoch numbers

    private static func epochText(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        epochParts(b).map { canonical(seconds: $0.seconds, nanoseconds: $0.nanos) }
    }

    private static func epochParts(_ b: UnsafeBufferPointer<UInt8>) -> (seconds: Int64, nanos: Int64)? {
        var integer: Int64 = 0
        var digits = 0
        var index = 0
        while index < b.count, isDigit(b[index]) {
            let (shifted, overflow1) = integer.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.addingReportingOverflow(Int64(b[index] - 0x30))
            guard !overflow1, !overflow2 else { return nil }
            integer = next
            digits += 1
            index += 1
        }
        guard digits > 0 else { return nil }
        var fractionNanos: Int64 = 0
        if index < b.count {
            guard b[index] == 0x2E else { return nil }
            index += 1
            var scale: Int64 = 100_000_000
            var fractionDigits = 0
            while index < b.count, isDigit(b[index]) {
                fractionNanos += Int64(b[index] - 0x30) * scale
                scale /= 10
                fractionDigits += 1
                index += 1
            }
            guard index == b.count, fractionDigits > 0 else { return nil }
        }
        // Seconds until year 5138; larger numbers are ms, then µs, then ns since 1970.
        let seconds: Int64
        let nanos: Int64
        if integer < 100_000_000_000 {
            seconds = integer
            nanos = fractionNanos
        } else if integer < 100_000_000_000_000 {
            seconds = integer / 1000
            nanos = (integer % 1000) * 1_000_000 + fractionNanos / 1000
        } else if integer < 100_000_000_000_000_000 {
            seconds = integer / 1_000_000
            nanos = (integer % 1_000_000) * 1000
        } else {
            seconds = integer / 1_000_000_000
            nanos = integer % 1_000_000_000
        }
        return (seconds, nanos)
    }

    /// `YYYY-MM-DD HH:MM:SS.ffffff+00` for seconds since 1970 (UTC), microseconds rounded down.
    static func canonical(seconds: Int64, nanoseconds: Int64) -> String {
        PostgresTimestamp.text(seconds: seconds, microseconds: nanoseconds / 1000)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    // MARK: Calendar text

    private static func isCalendarText(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        calendarMicros(b) != nil
    }

    /// Microseconds since 1970 (UTC) of a calendar text, rounded as PostgreSQL rounds
    /// fractional seconds (to nearest, ties to even); `nil` when it is not one.
    private static func calendarMicros(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
        // A cursor struct instead of capturing closures: no allocation per value.
        var c = Cursor(b: b)
        var fractionMicros: Int64 = 0
        var second = 0
        var hour = 0
        var minute = 0
        var offsetSeconds = 0
        guard let year = c.number(4), year >= 1, c.expect(0x2D), let month = c.number(2), (1...12).contains(month),
            c.expect(0x2D), let day = c.number(2), day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        let days = daysFromCivil(Int64(year), Int64(month), Int64(day))
        if c.atEnd { return days * 86_400_000_000 }
        guard b[c.i] == 0x54 || b[c.i] == 0x74 || b[c.i] == 0x20 else { return nil }
        c.i += 1
        guard let h = c.number(2), h <= 23, c.expect(0x3A), let m = c.number(2), m <= 59 else { return nil }
        hour = h
        minute = m
        if !c.atEnd, b[c.i] == 0x3A {
            c.i += 1
            guard let s = c.number(2), s <= 60 else { return nil }
            second = s
            if !c.atEnd, b[c.i] == 0x2E {
                let fractionStart = c.i
                c.i += 1
                while !c.atEnd, isDigit(b[c.i]) { c.i += 1 }
                guard c.i > fractionStart + 1, c.i - fractionStart <= 31 else { return nil }
                fractionMicros = roundedMicros(UnsafeBufferPointer(rebasing: b[(fractionStart + 1)..<c.i]))
            }
        }
        if !c.atEnd, b[c.i] == 0x20 { c.i += 1 }
        if !c.atEnd {
            if b[c.i] == 0x5A || b[c.i] == 0x7A {
                guard c.i + 1 == b.count else { return nil }
            } else {
                guard b[c.i] == 0x2B || b[c.i] == 0x2D else { return nil }
                let sign = b[c.i] == 0x2D ? -1 : 1
                c.i += 1
                guard let offsetHours = c.number(2), offsetHours <= 15 else { return nil }
                var offsetMinutes = 0
                if !c.atEnd {
                    if b[c.i] == 0x3A { c.i += 1 }
                    guard let minutes = c.number(2), minutes <= 59, c.atEnd else { return nil }
                    offsetMinutes = minutes
                }
                offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
            }
        }
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        return seconds * 1_000_000 + fractionMicros
    }

    private struct Cursor {
        let b: UnsafeBufferPointer<UInt8>
        var i = 0

        var atEnd: Bool { i >= b.count }

        mutating func number(_ width: Int) -> Int? {
            guard i + width <= b.count else { return nil }
            var value = 0
            for k in i..<(i + width) {
                guard b[k] >= 0x30 && b[k] <= 0x39 else { return nil }
                value = value * 10 + Int(b[k] - 0x30)
            }
            i += width
            return value
        }

        mutating func expect(_ byte: UInt8) -> Bool {
            guard i < b.count, b[i] == byte else { return false }
            i += 1
            return true
        }
    }

    /// Fraction digits to microseconds as PostgreSQL rounds them (`rint(frac * 1e6)` on a
    /// double). Integer arithmetic where the 7th digit is far from a tie; the double otherwise.
    private static func roundedMicros(_ digits: UnsafeBufferPointer<UInt8>) -> Int64 {
        var micros: Int64 = 0
        for index in 0..<6 {
            micros = micros * 10 + (index < digits.count ? Int64(digits[index] - 0x30) : 0)
        }
        guard digits.count > 6 else { return micros }
        switch digits[6] {
        case 0x30...0x33: return micros
        case 0x36...0x39: return micros + 1
        default:
            let text = "0." + String(decoding: digits, as: UTF8.self)
            return Int64(((Double(text) ?? 0) * 1_000_000).rounded(.toNearestOrEven))
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Microseconds since 1970 (UTC) of any accepted timestamp, equal to what PostgreSQL
    /// stores for the text ``classify(_:)`` passes on; `nil` when it is not a timestamp.
    static func micros(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var start = 0
        var end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        guard start < end else { return nil }
        let trimmed = UnsafeBufferPointer(rebasing: bytes[start..<end])
        if let (seconds, nanos) = epochParts(trimmed) {
            return seconds * 1_000_000 + nanos / 1000
        }
        return calendarMicros(trimmed)
    }

    static func micros(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { micros($0) }
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2:
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            return leap ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    @inline(__always)
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
}

/// Legacy ids: a UUID in any form PostgreSQL reads (any case, with or without hyphens or
/// braces) becomes its canonical lowercase text; anything else is not a UUID.
enum LegacyUUID {
    static func canonical(_ b: UnsafeBufferPointer<UInt8>) -> LegacyValue {
        guard let (key, canonical) = UUIDKey.parse(b) else { return .invalid }
        return canonical ? .unchanged : .converted(key.text)
    }

    static func canonical(_ text: String) -> LegacyValue {
        var text = text
        return text.withUTF8 { canonical($0) }
    }
}
