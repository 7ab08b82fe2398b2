import Foundation
import MCP
import RegistryClient

/// The list tools, a page at a time: `list_inflight_work`, `list_worktrees`, `find_overlaps`.
extension McpTools {
    /// A page of `list_inflight_work` or `list_worktrees`: filters and preferred project from
    /// the arguments on the first page, from the cursor on the next ones.
    func listPage(_ tool: String, _ arguments: McpArguments) async throws -> String {
        let limit = try arguments.integer("limit", in: 1...Self.maximumLimit) ?? Self.defaultLimit
        let project = try arguments.string("project")
        let host = try arguments.string("host")
        let status = try arguments.string("status")
        let preferred = try arguments.string("prefer_project")
        let includeInactive = try arguments.bool("include_inactive") ?? false
        let statuses = tool == "list_inflight_work" ? Self.inflightStatuses : Self.inflightStatuses + ["clean", "unknown"]
        if let status, !statuses.contains(status) {
            throw McpToolError("\(tool): 'status' must be one of \(statuses.joined(separator: ", "))")
        }
        var parsedCursor: McpCursor?
        if let text = try arguments.string("cursor") {
            let parsed = try McpCursor.parse(text, tool: tool)
            try parsed.requireSame("project", project, parsed.project)
            try parsed.requireSame("host", host, parsed.host)
            try parsed.requireSame("status", status, parsed.status)
            try parsed.requireSame("prefer_project", preferred, parsed.preferredProject)
            if arguments.values["include_inactive"] != nil, includeInactive != parsed.includeInactive {
                throw McpToolError("\(tool): 'include_inactive' differs from the query the cursor pages; give the same filters or none")
            }
            guard parsed.key != nil else { throw McpToolError("\(tool): 'cursor' is not a cursor this server gave; call again without it to start over") }
            parsedCursor = parsed
        }
        let cursor = parsedCursor
        let hostName = self.hostName
        let resolvePreferred = cursor == nil && preferred == nil
        let ancestors = resolvePreferred ? Self.ancestors(of: workingDirectory) : []
        let firstQuery = WorktreePageQuery(
            project: cursor?.project ?? project, host: cursor?.host ?? host, status: cursor?.status ?? status,
            preferredProject: cursor?.preferredProject ?? preferred,
            includeInactive: cursor?.includeInactive ?? includeInactive, limit: limit, after: cursor?.key)
        let (page, preferredProject): (Page, String?) = try await worker.run { registry in
            var query = firstQuery
            if resolvePreferred {
                query.preferredProject = try registry.projectOfWorktree(atAnyOf: ancestors, host: hostName)
            }
            if tool == "list_inflight_work" {
                let page = try registry.inflightPage(query)
                return (Page(rows: .inflight(page.rows.map(McpDocuments.Worktree.init)), total: page.total, next: page.next, query: query),
                        query.preferredProject)
            }
            let page = try registry.worktreeRecordPage(query)
            return (Page(rows: .listed(page.rows.map(McpDocuments.ListedWorktree.init)), total: page.total, next: page.next, query: query),
                    query.preferredProject)
        }
        let next = page.next.map { key in
            McpCursor(
                tool: tool, project: page.query.project, host: page.query.host, status: page.query.status,
                includeInactive: page.query.includeInactive, preferredProject: page.query.preferredProject, key: key
            ).text
        }
        switch page.rows {
        case .inflight(let rows):
            return McpDocuments.render(McpDocuments.Page(
                rows: rows, rowsKey: "worktrees", total: page.total, nextCursor: next, preferredProject: preferredProject))
        case .listed(let rows):
            return McpDocuments.render(McpDocuments.Page(
                rows: rows, rowsKey: "worktrees", total: page.total, nextCursor: next, preferredProject: preferredProject))
        }
    }

    /// What the registry thread hands back for a list page.
    struct Page: Sendable {
        enum Rows: Sendable {
            case inflight([McpDocuments.Worktree])
            case listed([McpDocuments.ListedWorktree])
        }
        var rows: Rows
        var total: Int
        var next: WorktreePageKey?
        var query: WorktreePageQuery
    }

    /// A page of `find_overlaps`: the other worktrees' overlapping paths ordered by worktree
    /// name, worktree id and path; the cursor names the last (name, worktree id, path) shown.
    func overlapPage(_ arguments: McpArguments) async throws -> String {
        let tool = "find_overlaps"
        let reference = try arguments.worktreeReference()
        let file = try arguments.string("file")
        let limit = try arguments.integer("limit", in: 1...Self.maximumLimit) ?? Self.defaultLimit
        var parsedAfter: [String]?
        if let text = try arguments.string("cursor") {
            let cursor = try McpCursor.parse(text, tool: tool)
            // The cursor pages one worktree's overlaps (and one file's, if given).
            let paged = [reference.id ?? reference.path ?? "", file ?? ""]
            guard let key = cursor.overlapKey, key.count == 5, Array(key[0...1]) == paged else {
                throw McpToolError("\(tool): 'cursor' belongs to another worktree or file; call again without it to start over")
            }
            parsedAfter = Array(key[2...4])
        }
        let after = parsedAfter
        let (overlaps, total) = try await worker.run { registry in
            let record = try Self.resolve(reference, tool: tool, registry: registry)
            let all = try registry.overlaps(of: record.id, paths: file.map { [$0] }).map { row in
                McpDocuments.Overlap(
                    worktreeId: row.otherID, worktree: row.otherName, project: row.project, host: row.otherHost,
                    path: row.path, conflict: row.conflict)
            }.sorted { ($0.worktree, $0.worktreeId, $0.path) < ($1.worktree, $1.worktreeId, $1.path) }
            guard let after else { return (all, all.count) }
            let start = all.firstIndex { ($0.worktree, $0.worktreeId, $0.path) > (after[0], after[1], after[2]) } ?? all.count
            return (Array(all[start...]), all.count)
        }
        let shown = Array(overlaps.prefix(limit))
        let next = overlaps.count > limit ? shown.last.map { last in
            McpCursor(
                tool: tool, project: nil, host: nil, status: nil, includeInactive: false, preferredProject: nil,
                overlapKey: [reference.id ?? reference.path ?? "", file ?? "", last.worktree, last.worktreeId, last.path]
            ).text
        } : nil
        return McpDocuments.render(McpDocuments.Page(
            rows: shown, rowsKey: "overlaps", total: total, nextCursor: next, preferredProject: nil))
    }

    /// A directory and its ancestors, deepest first: where the server's own worktree may be.
    static func ancestors(of directory: String?) -> [String] {
        guard let directory, directory.hasPrefix("/") else { return [] }
        var path = McpArguments.normalized(directory)
        var paths: [String] = []
        while path != "/" && !path.isEmpty {
            paths.append(path)
            path = (path as NSString).deletingLastPathComponent
        }
        return paths
    }
}
