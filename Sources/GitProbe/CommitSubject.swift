/// git's `%s` (the subject) computed from a raw commit message, byte for byte as git does it.
///
/// `git_commit_summary` is not used: it squashes a whitespace run that spans a line break to one
/// space (dropping the next line's indentation) and only skips leading `\n`, whereas git skips
/// whole blank lines (spaces, tabs, CR included), right-trims each line of the first paragraph
/// and joins those lines with a single space, keeping their indentation.
enum CommitSubject {
    /// The subject of a NUL-terminated raw message (the bytes after the commit headers).
    static func subject(ofRawMessage raw: UnsafePointer<CChar>) -> String {
        let length = strlenOf(raw)
        return raw.withMemoryRebound(to: UInt8.self, capacity: length) { start in
            subject(ofRawMessage: UnsafeBufferPointer(start: start, count: length))
        }
    }

    /// The subject of a raw message given as bytes.
    static func subject<Bytes: Collection<UInt8>>(ofRawMessage message: Bytes) -> String
    where Bytes.Index == Int {
        var subject: [UInt8] = []
        var position = message.startIndex

        // skip_blank_lines() in git's pretty.c: lines holding only whitespace before the subject.
        while position < message.endIndex {
            let line = lineRange(in: message, from: position)
            guard trimmedEnd(of: message, line) == line.lowerBound else { break }
            position = line.upperBound
        }

        // format_subject(): the first paragraph, each line right-trimmed, joined by one space.
        var isFirstLine = true
        while position < message.endIndex {
            let line = lineRange(in: message, from: position)
            let end = trimmedEnd(of: message, line)
            guard end > line.lowerBound else { break }  // blank line ends the paragraph
            if !isFirstLine { subject.append(UInt8(ascii: " ")) }
            subject.append(contentsOf: message[line.lowerBound..<end])
            isFirstLine = false
            position = line.upperBound
        }
        return String(decoding: subject, as: UTF8.self)
    }

    /// One line starting at `start`, including its `\n` if there is one.
    private static func lineRange<Bytes: Collection<UInt8>>(
        in message: Bytes, from start: Int
    ) -> Range<Int> where Bytes.Index == Int {
        var end = start
        while end < message.endIndex {
            let byte = message[end]
            end += 1
            if byte == UInt8(ascii: "\n") { break }
        }
        return start..<end
    }

    /// Where `line` ends once trailing whitespace is dropped; equal to the start when blank.
    private static func trimmedEnd<Bytes: Collection<UInt8>>(
        of message: Bytes, _ line: Range<Int>
    ) -> Int where Bytes.Index == Int {
        var end = line.upperBound
        while end > line.lowerBound, isGitSpace(message[end - 1]) { end -= 1 }
        return end
    }

    /// git's own isspace(): space, tab, LF and CR only (not VT or FF, unlike C's).
    private static func isGitSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private static func strlenOf(_ text: UnsafePointer<CChar>) -> Int {
        var count = 0
        while text[count] != 0 { count += 1 }
        return count
    }
}
