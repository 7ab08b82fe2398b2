/// Absolute paths as text, joined and compared in one place: the root `/` and a root given
/// with a trailing `/` must give the same paths libgit2 reports (`/home/me/code/api`, never
/// `//home/me/code/api` or `/home/me/code//api`), or every worktree under them looks unlisted.
package enum PathText {
    /// `path` without trailing `/` (the root stays `/`).
    package static func trimmed(_ path: String) -> String {
        var text = Substring(path)
        while text.count > 1, text.hasSuffix("/") { text.removeLast() }
        return String(text)
    }

    /// `name` inside `directory`.
    package static func joined(_ directory: String, _ name: String) -> String {
        let parent = trimmed(directory)
        return parent == "/" ? "/" + name : parent + "/" + name
    }

    /// Whether `path` is `root` or lies below it.
    package static func isWithin(_ path: String, root: String) -> Bool {
        relative(path, to: root) != nil
    }

    /// The part of `path` below `root` (empty for `root` itself); `nil` when it is not within.
    package static func relative(_ path: String, to root: String) -> Substring? {
        let path = trimmed(path)
        let root = trimmed(root)
        if path == root { return "" }
        let prefix = root == "/" ? "/" : root + "/"
        return path.hasPrefix(prefix) ? path.dropFirst(prefix.count) : nil
    }
}
