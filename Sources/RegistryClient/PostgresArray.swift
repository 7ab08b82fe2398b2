/// Encodes Swift values as PostgreSQL array literals, passed as one parameter each
/// (`$1::uuid[]`), so a batch of rows is one statement and no value touches the SQL text.
enum PostgresArray {
    /// `{"a","b\"c",NULL}`: every element quoted, `"` and `\` escaped.
    static func literal(_ elements: [String?]) -> String {
        var out = "{"
        for (index, element) in elements.enumerated() {
            if index > 0 { out += "," }
            guard let element else {
                out += "NULL"
                continue
            }
            out += "\""
            for character in element.unicodeScalars {
                if character == "\"" || character == "\\" { out += "\\" }
                out.unicodeScalars.append(character)
            }
            out += "\""
        }
        return out + "}"
    }

    static func literal(_ elements: [Int?]) -> String {
        literal(elements.map { $0.map(String.init) })
    }

    static func literal(_ elements: [Bool?]) -> String {
        literal(elements.map { $0.map { $0 ? "t" : "f" } })
    }
}
