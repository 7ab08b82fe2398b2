import Foundation

/// Files of the repository's `deploy/` directory, as tests apply them.
public enum DeployFiles {
    /// `deploy/roles.sql`; empty when it cannot be read (tests then fail on it).
    public static let rolesSQL: String = {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("deploy/roles.sql"), encoding: .utf8)) ?? ""
    }()
}
