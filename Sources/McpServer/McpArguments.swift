import MCP

/// A tool's arguments, read with one clear line for whatever is missing or mistyped.
package struct McpArguments {
    package let tool: String
    package let values: [String: Value]

    /// The most UTF-8 bytes a string argument may hold: an id or a name fits a table column,
    /// a path fits PATH_MAX. Checked before anything reaches the registry, whose index rows
    /// refuse long values with an error the agent need not see.
    package static let maximumBytes: [String: Int] = [
        "agent_id": 200, "worktree_id": 36, "project": 255, "host": 255, "path": 4096, "file": 4096,
        "prefer_project": 255, "status": 32, "cursor": 2048,
    ]
    package static let defaultMaximumBytes = 4096

    /// Every string argument is read here: refused when it holds NUL (PostgreSQL text ends at
    /// NUL, so `alice\0mallory` would be stored as `alice`, and a path `W\0/etc` resolve to
    /// `W`) or is longer than its limit.
    package func string(_ name: String) throws -> String? {
        guard let value = values[name], value != .null else { return nil }
        guard let text = value.stringValue else { throw McpToolError("\(tool): argument '\(name)' must be a string") }
        if text.utf8.contains(0) { throw McpToolError("\(tool): argument '\(name)' must not contain NUL (\\u0000)") }
        let limit = Self.maximumBytes[name] ?? Self.defaultMaximumBytes
        if text.utf8.count > limit { throw McpToolError("\(tool): argument '\(name)' is longer than \(limit) bytes") }
        return text
    }

    package func requiredString(_ name: String) throws -> String {
        guard let text = try string(name), !text.isEmpty else {
            throw McpToolError("\(tool): argument '\(name)' is required")
        }
        return text
    }

    package func bool(_ name: String) throws -> Bool? {
        guard let value = values[name], value != .null else { return nil }
        guard let flag = value.boolValue else { throw McpToolError("\(tool): argument '\(name)' must be a boolean") }
        return flag
    }

    package func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = values[name], value != .null else { return nil }
        let number = value.intValue ?? value.doubleValue.flatMap { $0 == $0.rounded() ? Int(exactly: $0) : nil }
        guard let number else { throw McpToolError("\(tool): argument '\(name)' must be an integer") }
        guard range.contains(number) else {
            throw McpToolError("\(tool): argument '\(name)' must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return number
    }

    /// The worktree named by `worktree_id` or `path` (exactly one of them).
    package func worktreeReference() throws -> (id: String?, path: String?) {
        let id = try string("worktree_id")
        let path = try string("path")
        switch (id, path) {
        case (nil, nil): throw McpToolError("\(tool): give 'path' or 'worktree_id'")
        case (.some, .some): throw McpToolError("\(tool): give 'path' or 'worktree_id', not both")
        default: break
        }
        if let id, !McpArguments.isUUID(id) { throw McpToolError("\(tool): 'worktree_id' must be a UUID, not \(id.debugDescription)") }
        return (id, path.map(McpArguments.normalized))
    }

    /// A name the client sent (a tool's, an argument's) as an error shows it: in quotes with
    /// escapes, at most 64 characters, so a megabyte of name is not sent back.
    package static func echoed(_ text: String) -> String {
        (text.count > 64 ? String(text.prefix(64)) + "…" : text).debugDescription
    }

    package static func isUUID(_ text: String) -> Bool {
        let hex = Set("0123456789abcdefABCDEF")
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12] && groups.allSatisfy { $0.allSatisfy(hex.contains) }
    }

    /// A path without a trailing `/` and without `.` components, as the registry stores paths.
    package static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == "..", !parts.isEmpty { parts.removeLast() } else if part != ".." { parts.append(part) }
        }
        return path.hasPrefix("/") ? "/" + parts.joined(separator: "/") : parts.joined(separator: "/")
    }
}

/// A tool call that cannot be answered: one line for the agent, the server keeps serving.
package struct McpToolError: Error, CustomStringConvertible {
    package let description: String

    package init(_ description: String) {
        self.description = description
    }
}
