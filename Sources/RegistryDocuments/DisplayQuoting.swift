/// Names from a repository or the registry (file names, worktree, project, branch and host
/// names, paths, commit subjects, agent ids) made safe to print for people, the way git's
/// `core.quotePath` quotes paths.
///
/// A name that needs it is wrapped in double quotes, with `\a \b \t \n \v \f \r \" \\` and
/// `\ooo` (octal) for every other byte that must not reach a terminal. Quoted are: control
/// characters (C0, DEL and the C1 range U+0080–U+009F, which some terminals obey like ESC),
/// the bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the line and
/// paragraph separators (U+2028, U+2029), which make a line read as something else, `"` and
/// `\`, and bytes that are not UTF-8. Other non-ASCII text stays readable, as git shows it with
/// `core.quotePath=false` (`café.txt`, not `"caf\303\251.txt"`). A name that needs none of
/// this is printed as it is, so a printed name starting with `"` is always a quoted one.
///
/// `--json` output never goes through here: JSON strings carry the exact value.
package enum DisplayQuoting {
    /// `text` as it may be printed: itself, or quoted.
    package static func quoted(_ text: String) -> String {
        quoted(bytes: Array(text.utf8))
    }

    /// Bytes (a file name as git stores it, say) as they may be printed.
    package static func quoted(bytes: [UInt8]) -> String {
        var output: [UInt8] = [UInt8(ascii: "\"")]
        var needsQuotes = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x80 {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                    output += [UInt8(ascii: "\\"), byte]
                    needsQuotes = true
                case 0x20..<0x7F:
                    output.append(byte)
                default:
                    output += escaped(byte)
                    needsQuotes = true
                }
                index += 1
                continue
            }
            guard let (scalar, length) = decodeUTF8(bytes, at: index) else {
                output += escaped(byte)
                needsQuotes = true
                index += 1
                continue
            }
            let sequence = bytes[index..<(index + length)]
            if isUnsafe(scalar) {
                for part in sequence { output += escaped(part) }
                needsQuotes = true
            } else {
                output += sequence
            }
            index += length
        }
        guard needsQuotes else { return String(decoding: bytes, as: UTF8.self) }
        output.append(UInt8(ascii: "\""))
        return String(decoding: output, as: UTF8.self)
    }

    /// `text` itself when nothing in it can move the cursor, end the line or change the
    /// terminal; else quoted whole. For text composed around names (a table cell, an error
    /// from a library) as a last guard: a name already quoted passes unchanged.
    package static func terminalSafe(_ text: String) -> String {
        let unsafe = text.unicodeScalars.contains { scalar in
            scalar.value < 0x20 || scalar.value == 0x7F || isUnsafe(scalar.value)
        }
        return unsafe ? quoted(text) : text
    }

    /// Non-ASCII code points quoted although they are valid UTF-8.
    private static func isUnsafe(_ scalar: UInt32) -> Bool {
        (0x80...0x9F).contains(scalar) || (0x202A...0x202E).contains(scalar) || (0x2066...0x2069).contains(scalar)
            || scalar == 0x2028 || scalar == 0x2029
    }

    private static let cEscapes: [UInt8: Unicode.Scalar] = [
        0x07: "a", 0x08: "b", 0x09: "t", 0x0A: "n", 0x0B: "v", 0x0C: "f", 0x0D: "r",
    ]

    private static func escaped(_ byte: UInt8) -> [UInt8] {
        if let letter = cEscapes[byte] { return [UInt8(ascii: "\\"), UInt8(ascii: letter)] }
        let digits = [byte >> 6, (byte >> 3) & 7, byte & 7].map { UInt8(ascii: "0") + $0 }
        return [UInt8(ascii: "\\")] + digits
    }

    /// The code point starting at `index` and its length in bytes, when the bytes there are
    /// well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
    private static func decodeUTF8(_ bytes: [UInt8], at index: Int) -> (UInt32, Int)? {
        let lead = bytes[index]
        let length: Int
        var scalar: UInt32
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: (length, scalar) = (2, UInt32(lead & 0x1F))
        case 0xE0...0xEF:
            (length, scalar) = (3, UInt32(lead & 0x0F))
            if lead == 0xE0 { low = 0xA0 }
            if lead == 0xED { high = 0x9F }
        case 0xF0...0xF4:
            (length, scalar) = (4, UInt32(lead & 0x07))
            if lead == 0xF0 { low = 0x90 }
            if lead == 0xF4 { high = 0x8F }
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        for offset in 1..<length {
            let byte = bytes[index + offset]
            let range = offset == 1 ? low...high : 0x80...0xBF
            guard range.contains(byte) else { return nil }
            scalar = scalar << 6 | UInt32(byte & 0x3F)
        }
        return (scalar, length)
    }
}

extension String {
    /// This name as it may be printed for people (``DisplayQuoting/quoted(_:)``).
    package var displayQuoted: String { DisplayQuoting.quoted(self) }
}
