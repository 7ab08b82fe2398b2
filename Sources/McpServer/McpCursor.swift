import Foundation
import RegistryClient

/// The opaque `cursor` of a list tool's page: the query it pages (tool, filters, preferred
/// project) and the sort key of the page's last row, as base64url JSON. It holds no state on
/// the server, so it outlives a restart; a cursor of another tool or other filters is refused.
package struct McpCursor: Codable, Equatable, Sendable {
    package var version = 1
    package var tool: String
    package var project: String?
    package var host: String?
    package var status: String?
    package var includeInactive: Bool
    package var preferredProject: String?
    /// The last row shown (list tools), or the (worktree, path) of the last overlap shown.
    package var key: WorktreePageKey?
    package var overlapKey: [String]?

    package init(
        tool: String, project: String?, host: String?, status: String?, includeInactive: Bool,
        preferredProject: String?, key: WorktreePageKey? = nil, overlapKey: [String]? = nil
    ) {
        self.tool = tool
        self.project = project
        self.host = host
        self.status = status
        self.includeInactive = includeInactive
        self.preferredProject = preferredProject
        self.key = key
        self.overlapKey = overlapKey
    }

    private enum CodingKeys: String, CodingKey {
        case version = "v", tool = "t", project = "p", host = "h", status = "s", includeInactive = "i"
        case preferredProject = "o", key = "k", overlapKey = "x"
    }

    /// The string the agent passes back.
    package var text: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(self)) ?? Data()
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The cursor `text` spells, or a tool error saying to start again.
    package static func parse(_ text: String, tool: String) throws -> McpCursor {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let cursor = try? JSONDecoder().decode(McpCursor.self, from: data),
            cursor.version == 1, cursor.key.map({ McpArguments.isUUID($0.id) && (0...1).contains($0.rank) }) ?? true
        else {
            throw McpToolError("\(tool): 'cursor' is not a cursor this server gave; call again without it to start over")
        }
        guard cursor.tool == tool else {
            throw McpToolError("\(tool): 'cursor' belongs to \(cursor.tool); call again without it to start over")
        }
        return cursor
    }

    /// Refuses a filter given with the cursor that differs from the one the cursor pages.
    package func requireSame(_ name: String, _ given: String?, _ paged: String?) throws {
        guard let given, given != paged else { return }
        throw McpToolError("\(tool): '\(name)' differs from the query the cursor pages; give the same filters or none")
    }
}
