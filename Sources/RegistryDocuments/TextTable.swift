/// Renders rows as aligned columns for people; numbers are right-aligned.
///
/// Callers quote the names they put in cells (``DisplayQuoting/quoted(_:)``); as a last guard
/// every cell still holding a control character is quoted whole, so no cell can end its row,
/// add one, or reach the terminal as an escape sequence.
package struct TextTable {
    package var headers: [String]
    package var rightAligned: Set<Int> = []
    package var rows: [[String]] = []

    package init(headers: [String], rightAligned: Set<Int> = [], rows: [[String]] = []) {
        self.headers = headers
        self.rightAligned = rightAligned
        self.rows = rows
    }

    package func render() -> String {
        let headers = headers.map(DisplayQuoting.terminalSafe)
        let rows = rows.map { $0.map(DisplayQuoting.terminalSafe) }
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (index, cell) in cells.enumerated() {
                if index > 0 { text += "  " }
                let padding = String(repeating: " ", count: max(0, widths[index] - cell.count))
                text += rightAligned.contains(index) ? padding + cell : cell + padding
            }
            while text.last == " " { text.removeLast() }
            return text
        }
        var out = [line(headers), line(widths.map { String(repeating: "-", count: $0) })]
        out += rows.map(line)
        return out.joined(separator: "\n")
    }
}
