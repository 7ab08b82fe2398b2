import Foundation

/// Cuts the bytes read from standard input into MCP messages, one per line, in linear time:
/// each byte is looked at once (only the bytes just read are searched for the newline), and a
/// line longer than ``maximumLength`` is dropped as it streams in instead of being kept.
package struct McpLineFramer {
    package enum Event: Equatable {
        /// One line without its newline (a JSON-RPC message, or something to answer with an error).
        case message(Data)
        /// A line longer than the limit was read and thrown away; it held this many bytes.
        case discarded(bytes: Int)
    }

    package let maximumLength: Int
    /// The current line so far; empty while discarding.
    private var pending: [UInt8] = []
    /// The length of the over-long line being skipped, or nil.
    private var discarding: Int?

    package init(maximumLength: Int) {
        self.maximumLength = maximumLength
    }

    /// The lines that `chunk` completes.
    package mutating func append(_ chunk: some Collection<UInt8>) -> [Event] {
        var events: [Event] = []
        var start = chunk.startIndex
        while start != chunk.endIndex {
            let newline = chunk[start...].firstIndex(of: UInt8(ascii: "\n"))
            let piece = chunk[start..<(newline ?? chunk.endIndex)]
            if let skipped = discarding {
                discarding = skipped + piece.count
            } else if pending.count + piece.count > maximumLength {
                discarding = pending.count + piece.count
                pending = []
            } else {
                pending.append(contentsOf: piece)
            }
            guard let newline else { break }
            events += endLine()
            start = chunk.index(after: newline)
        }
        return events
    }

    /// At the end of input: a last line that had no newline.
    package mutating func finish() -> [Event] {
        endLine()
    }

    private mutating func endLine() -> [Event] {
        defer {
            pending.removeAll(keepingCapacity: pending.count <= 65_536)
            discarding = nil
        }
        if let skipped = discarding { return [.discarded(bytes: skipped)] }
        let blank = pending.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
        return blank ? [] : [.message(Data(pending))]
    }
}
