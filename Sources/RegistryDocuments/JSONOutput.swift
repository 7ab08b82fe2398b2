import Foundation

/// One JSON document on standard output: snake_case keys, stable order, dates as ISO 8601.
package enum JSONOutput {
    /// `keysAreSnakeCase`: the coding keys are spelled in snake_case already (fast for
    /// large documents); otherwise camelCase keys are converted. `compact`: on one line, as
    /// `serve` sends a document in an event stream (a line break ends a `data:` line; JSON
    /// escapes those inside strings).
    package static func render<Value: Encodable>(_ value: Value, keysAreSnakeCase: Bool = false, compact: Bool = false) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = compact ? [.sortedKeys, .withoutEscapingSlashes] : [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        if !keysAreSnakeCase { encoder.keyEncodingStrategy = .convertToSnakeCase }
        encoder.dateEncodingStrategy = .iso8601
        // Every value here is a plain struct of strings and numbers; encoding cannot fail.
        return String(decoding: try! encoder.encode(value), as: UTF8.self)
    }
}

/// "3 s ago", "5 min ago", "2 h ago", "4 d ago", or "never".
package func age(sinceEpoch seconds: Double?, now: Date = Date()) -> String {
    guard let seconds else { return "never" }
    let elapsed = max(0, Int(now.timeIntervalSince1970 - seconds))
    switch elapsed {
    case ..<60: return "\(elapsed) s ago"
    case ..<3600: return "\(elapsed / 60) min ago"
    case ..<86400: return "\(elapsed / 3600) h ago"
    default: return "\(elapsed / 86400) d ago"
    }
}

/// An optional that is written as `null` when absent instead of being left out (synthesized
/// `Encodable` skips nil values), so consumers always see every key.
@propertyWrapper
package struct NullWhenAbsent<Value: Encodable>: Encodable {
    package var wrappedValue: Value?

    package init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue {
            try container.encode(wrappedValue)
        } else {
            try container.encodeNil()
        }
    }
}
extension NullWhenAbsent: Sendable where Value: Sendable {}
extension NullWhenAbsent: Equatable where Value: Equatable {}
