import Foundation
@testable import LegacyMigration
import TestSupport
import Testing

/// The per-activity checks of the fast loader, pinned against plain byte-by-byte references.
@Suite("Legacy fast-load checks", .ownThreads)
struct LegacyHotPathTests {
    @Test("UUID text: the forms PostgreSQL reads parse to the same key; canonical only lowercase and hyphenated",
          arguments: [
            ("aaaaaaaa-0000-4000-8000-00000000000f", true, true),
            ("AAAAAAAA-0000-4000-8000-00000000000F", true, false),
            ("aaaaaaaa-0000-4000-8000-00000000000F", true, false),
            ("{aaaaaaaa-0000-4000-8000-00000000000f}", true, false),
            ("aaaaaaaa000040008000000000000000f", false, false),
            ("aaaaaaaa00004000800000000000000f", true, false),
            ("{aaaaaaaa00004000800000000000000f}", true, false),
            ("aaaaaaaa-0000-4000-8000-00000000000g", false, false),
            ("aaaaaaaa-0000-4000-8000-00000000000G", false, false),
            ("aaaaaaaa-0000-4000-8000-00000000000/", false, false),
            ("aaaaaaaa-0000-4000-8000-00000000000:", false, false),
            ("aaaaaaaa-0000-4000-8000-00000000000@", false, false),
            ("aaaaaaaa-0000-4000-8000-00000000000`", false, false),
            ("aaaaaaaa0-000-4000-8000-00000000000f", false, false),
            ("aaaaaaaa-0000-4000-8000-00000000000", false, false),
            ("{aaaaaaaa-0000-4000-8000-00000000000f", false, false),
            ("", false, false),
            ("{}", false, false),
          ])
    func uuidParse(text: String, parses: Bool, canonical: Bool) {
        var text = text
        let parsed = text.withUTF8 { UUIDKey.parse($0) }
        #expect((parsed != nil) == parses)
        guard let parsed else { return }
        #expect(parsed.canonical == canonical)
        #expect(parsed.key.text == "aaaaaaaa-0000-4000-8000-00000000000f")
    }

    @Test("clean text: ASCII without NUL at every length and position, as the byte-by-byte check says")
    func plainASCII() {
        for length in 0...20 {
            let base = [UInt8](repeating: 0x61, count: length)
            #expect(PostgresText.isPlainASCII(base))
            for position in 0..<length {
                for byte: UInt8 in [0x00, 0x80, 0xC3, 0xFF, 0x01, 0x7F] {
                    var bytes = base
                    bytes[position] = byte
                    let expected = byte != 0 && byte < 0x80
                    #expect(PostgresText.isPlainASCII(bytes) == expected, "length \(length) at \(position): \(byte)")
                }
            }
        }
        let valid = Array("héllo wörld ✓".utf8)
        #expect(!PostgresText.isPlainASCII(valid))
        #expect(valid.withUnsafeBufferPointer { PostgresText.isClean($0) })
        #expect(![0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0xC3].withUnsafeBufferPointer { PostgresText.isClean($0) })
        #expect(![0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x00].withUnsafeBufferPointer { PostgresText.isClean($0) })
    }
}

extension LegacyHotPathTests {
    @Test("SQLite values read as bytes: NULL is nil; empty text and an empty blob are empty; numbers as text")
    func sqliteBytes() throws {
        let fixture = try LegacyFixture()
        try fixture.run("CREATE TABLE probe (v); INSERT INTO probe VALUES (NULL), (''), (X''), (42), (1.5), ('a\tb'), (X'61FF62');")
        let legacy = try LegacyRegistry(path: fixture.path)
        let statement = try legacy.connection.prepare("SELECT v FROM probe ORDER BY rowid")
        var values: [[UInt8]?] = []
        while try statement.step() { values.append(statement.bytes(0).map { Array($0) }) }
        #expect(values == [nil, [], [], Array("42".utf8), Array("1.5".utf8), Array("a\tb".utf8), [0x61, 0xFF, 0x62]])
    }
}

extension PostgresText {
    static func isPlainASCII(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { isPlainASCII($0) }
    }
}
