import Foundation
import Testing
import TestSupport

@testable import SyncAgent
@testable import RegistryDocuments

/// Names printed for people are quoted the way git's core.quotePath quotes paths, except that
/// valid non-control UTF-8 stays readable (as with core.quotePath=false).
@Suite("Quoting names for display", .ownThreads)
struct DisplayQuotingTests {
    static let cases: [(name: String, bytes: [UInt8], shown: String)] = [
        ("plain", Array("src/app.c".utf8), "src/app.c"),
        ("spaces stay", Array("my file.txt".utf8), "my file.txt"),
        ("UTF-8 é stays readable", Array("café.txt".utf8), "café.txt"),
        ("empty", [], ""),
        ("ESC colour", Array("\u{1B}[31mred".utf8), #""\033[31mred""#),
        ("OSC 8 hyperlink", Array("\u{1B}]8;;http://evil\u{07}link\u{1B}]8;;\u{07}".utf8), #""\033]8;;http://evil\alink\033]8;;\a""#),
        ("newline", Array("x\nfake yes".utf8), #""x\nfake yes""#),
        ("carriage return", Array("x\rfake".utf8), #""x\rfake""#),
        ("tab", Array("a\tb".utf8), #""a\tb""#),
        ("backspace, vertical tab, form feed", [0x08, 0x0B, 0x0C], #""\b\v\f""#),
        ("other C0 control", [0x61, 0x01], #""a\001""#),
        ("DEL", [0x7F], #""\177""#),
        ("double quote", Array(#"say "hi""#.utf8), #""say \"hi\"""#),
        ("backslash", Array(#"back\slash"#.utf8), #""back\\slash""#),
        ("invalid UTF-8", [0x64, 0xFF], #""d\377""#),
        ("truncated UTF-8", [0x61, 0xC3], #""a\303""#),
        ("overlong UTF-8", [0xC0, 0xAF], #""\300\257""#),
        ("UTF-16 surrogate", [0xED, 0xA0, 0x80], #""\355\240\200""#),
        ("C1 CSI U+009B", Array("\u{9B}31m".utf8), #""\302\23331m""#),
        ("right-to-left override", Array("\u{202E}txt.exe".utf8), #""\342\200\256txt.exe""#),
        ("emoji stays", Array("🙂.md".utf8), "🙂.md"),
    ]

    @Test("each name against its quoted form", arguments: cases)
    func quoted(_ name: String, _ bytes: [UInt8], _ shown: String) {
        #expect(DisplayQuoting.quoted(bytes: bytes) == shown, "\(name)")
        if let text = String(validating: bytes, as: UTF8.self) {
            #expect(text.displayQuoted == shown, "\(name)")
        }
    }

    @Test("nothing a terminal obeys survives quoting, and the result is one line", arguments: cases)
    func terminalInert(_ name: String, _ bytes: [UInt8], _ shown: String) {
        let quoted = DisplayQuoting.quoted(bytes: bytes)
        #expect(!quoted.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }, "\(name)")
    }

    @Test("a table row holding an unquoted newline or ESC stays one row")
    func tableGuard() {
        var table = TextTable(headers: ["PATH", "CONFLICT"])
        table.rows = [["x\nfake  yes", "no"], ["\u{1B}[2J", "no"]]
        let lines = table.render().split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 4, "\(lines)")
        #expect(lines[2].hasPrefix(#""x\nfake  yes""#))
        #expect(!table.render().contains("\u{1B}"))
    }

    @Test("terminalSafe leaves quoted names and plain text alone")
    func terminalSafeIdempotent() {
        let quoted = DisplayQuoting.quoted("a\nb")
        #expect(DisplayQuoting.terminalSafe(quoted) == quoted)
        #expect(DisplayQuoting.terminalSafe("repaired (was /x/y)") == "repaired (was /x/y)")
        #expect(DisplayQuoting.terminalSafe("bad\u{1B}]0;title\u{07}") == #""bad\033]0;title\a""#)
    }
}
