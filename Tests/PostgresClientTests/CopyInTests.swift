import Foundation
import PostgresClient
import TestSupport
import Testing

@Suite("COPY FROM STDIN through CopyInWriter", .ownThreads)
struct CopyInTests {
    /// Values the text format must escape or repair, each with what PostgreSQL stores.
    static let tricky: [(bytes: [UInt8]?, stored: String?, clean: Bool)] = [
        (nil, nil, true),
        (Array("".utf8), "", true),
        (Array("tab\there".utf8), "tab\there", true),
        (Array("line\nbreak\r\nend".utf8), "line\nbreak\r\nend", true),
        (Array("back\\slash \\N \\t".utf8), "back\\slash \\N \\t", true),
        (Array("\\N".utf8), "\\N", true),
        (Array("héllo ✓ 🦀".utf8), "héllo ✓ 🦀", true),
        ([0x61, 0xFF, 0x62], "a\u{FFFD}b", false),
        ([0x61, 0x00, 0x62], "ab", false),
        ([0xC3], "\u{FFFD}", false),
    ]

    @Test("text values arrive as stored: escapes, NULL, invalid UTF-8 and NUL repaired and reported")
    func trickyTextValues() throws {
        let connection = try PostgresConnection(settings: try PostgresCluster.shared().createDatabase())
        try connection.execute("CREATE TABLE t (n bigint, v text)")
        var reported: [Bool] = []
        let rows = try connection.copyIn("COPY t FROM STDIN") { writer in
            for (index, value) in Self.tricky.enumerated() {
                try writer.appendInteger(Int64(index))
                if let bytes = value.bytes {
                    reported.append(try bytes.withUnsafeBufferPointer { try writer.appendText($0) })
                } else {
                    reported.append(try writer.appendText(nil as UnsafeBufferPointer<UInt8>?))
                }
                try writer.endRow()
            }
        }
        #expect(rows == Self.tricky.count)
        #expect(reported == Self.tricky.map(\.clean))
        let stored = try connection.execute("SELECT v FROM t ORDER BY n")
        for (index, value) in Self.tricky.enumerated() {
            let text: String? = try stored.decode(index, 0, as: String?.self)
            #expect(text == value.stored, "value \(index)")
        }
    }

    /// Many chunks, each handed to libpq while the next is built, and values larger than the
    /// buffer (sent on their own): every byte arrives, in order.
    @Test("a stream of many chunks and oversized values arrives whole and in order",
          arguments: [false, true])
    func manyChunks(binary: Bool) throws {
        let connection = try PostgresConnection(settings: try PostgresCluster.shared().createDatabase())
        try connection.execute("CREATE TABLE t (n bigint, v text)")
        let count = 120_000
        let big = [UInt8](repeating: 0x5C, count: 700_000)  // escapes to 1.4 MB in text format
        func value(_ n: Int) -> [UInt8] {
            n % 40_000 == 7 ? big : Array("row \(n)\twith\\tab".utf8)
        }
        let rows = try connection.copyIn(
            binary ? "COPY t FROM STDIN WITH (FORMAT binary)" : "COPY t FROM STDIN"
        ) { writer in
            if binary { try writer.appendBinaryHeader() }
            for n in 0..<count {
                if binary {
                    try writer.appendBigEndian(Int16(2))
                    try writer.appendBigEndian(Int32(8))
                    try writer.appendBigEndian(Int64(n))
                    try writer.appendBinaryField(value(n))
                } else {
                    try writer.appendInteger(Int64(n))
                    try value(n).withUnsafeBufferPointer { _ = try writer.appendText($0) }
                    try writer.endRow()
                }
            }
            if binary { try writer.appendBigEndian(Int16(-1)) }
        }
        #expect(rows == count)
        let expected = (0..<count).reduce(0) { $0 + value($1).count }
        let summary = try connection.execute(
            "SELECT count(*), sum(octet_length(v)), bool_and(v = CASE WHEN n % 40000 = 7 THEN repeat(E'\\\\', 700000) ELSE format(E'row %s\\twith\\\\tab', n) END) FROM t")
        #expect(try summary.decode(0, 0, as: Int.self) == count)
        #expect(try summary.decode(0, 1, as: Int.self) == expected)
        #expect(try summary.decode(0, 2, as: Bool.self))
    }
}
