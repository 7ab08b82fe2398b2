import Foundation
import PostgresClient
import TestSupport
import Testing

@Suite("Array parameters", .ownThreads)
struct ArrayParameterTests {
    @Test("a text[] parameter arrives element for element: quotes, backslashes, braces, commas, NULL, the word NULL, UTF-8")
    func textArrayRoundTrip() throws {
        let connection = try PostgresConnection(settings: try PostgresCluster.shared().createDatabase())
        let values: [String?] = [
            "plain", "", "say \"hi\"", "back\\slash", "\\\"", "{braces}", "a,b", " padded ", "NULL", nil,
            "héllo ✓ 🦀", "line\nbreak",
        ]
        let result = try connection.execute(
            "SELECT v, v IS NULL FROM unnest($1::text[]) WITH ORDINALITY AS u(v, n) ORDER BY n", [values])
        #expect(result.count == values.count)
        for (row, value) in values.enumerated() {
            let isNull: Bool = try result.decode(row, 1)
            #expect(isNull == (value == nil), "row \(row)")
            if let value { #expect(try result.decode(row, 0) as String == value, "row \(row)") }
        }
    }
}
