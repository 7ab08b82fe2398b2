import PostgresClient

/// Lenient readers for assertions: a test compares the value it gets with the one it expects,
/// so NULL or a wrong type fails the assertion. Product code decodes by type instead.
extension PostgresRows {
    public var rowCount: Int { count }
    public var rows: [[String?]] { textRows }

    public func string(_ row: Int, _ column: Int) -> String? { text(row, column) }
    public func int(_ row: Int, _ column: Int) -> Int? { text(row, column).flatMap { Int($0) } }
    public func bool(_ row: Int, _ column: Int) -> Bool? { text(row, column).flatMap { Bool(postgresText: $0) } }
}
