import ArgumentParser
import PostgresClient
import RegistryClient
import RegistryDocuments
import SyncConfiguration

/// `imi-sync maintain`: retention, pruning and VACUUM ANALYZE, as the plan's cron job did.
struct Maintain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove old activities and long-inactive worktrees, then VACUUM ANALYZE.",
        discussion: """
            Runs cleanup_old_activities(days) and prune_inactive_worktrees(days), then \
            VACUUM ANALYZE outside any transaction. Days come from the flags, else \
            [maintenance] in config.toml, else 90 and 30. deploy/imi-sync-maintain.timer runs \
            this daily.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Delete agent activities older than this many days.")
    var activityDays: Int?

    @Option(name: .long, help: "Delete worktrees inactive for more than this many days.")
    var inactiveDays: Int?

    @Flag(name: .long, help: "Print one JSON document instead of text.")
    var json = false

    /// Retention in days: at least one day, at most a century (larger values overflow the
    /// server's interval arithmetic and mean "forever" anyway).
    static let days = 1...36_500

    func validate() throws {
        for (name, value) in [("--activity-days", activityDays), ("--inactive-days", inactiveDays)] {
            if let value, !Self.days.contains(value) {
                throw ValidationError("\(name) must be between \(Self.days.lowerBound) and \(Self.days.upperBound) days, got \(value)")
            }
        }
    }

    /// A day count from the config file, refused (78) outside ``days``.
    static func checked(_ setting: ResolvedConfig.Setting<Int>, _ key: String) throws -> Int {
        guard days.contains(setting.value) else {
            throw ConfigError("\(setting.source): \(key) must be between \(days.lowerBound) and \(days.upperBound) days, got \(setting.value)")
        }
        return setting.value
    }

    struct Document: Encodable {
        var activitiesRemoved: Int
        var worktreesPruned: Int
        var activityRetentionDays: Int
        var inactiveWorktreeDays: Int
        var vacuumed: Bool
    }

    func run() throws {
        _ = global.makeLogger()
        let document: Document
        let config = try global.resolvedConfig()
        let activityDays = try activityDays ?? Self.checked(config.activityRetentionDays, "maintenance.activity_retention_days")
        let inactiveDays = try inactiveDays ?? Self.checked(config.inactiveWorktreeDays, "maintenance.inactive_worktree_days")
        let report = try Registry.open(config.connectionSettings).maintain(
            activityRetentionDays: activityDays, inactiveWorktreeDays: inactiveDays)
        document = Document(
            activitiesRemoved: report.activitiesRemoved, worktreesPruned: report.worktreesPruned,
            activityRetentionDays: activityDays, inactiveWorktreeDays: inactiveDays, vacuumed: true)
        if json {
            print(JSONOutput.render(document))
        } else {
            print("removed \(document.activitiesRemoved) activities older than \(document.activityRetentionDays) days")
            print("pruned \(document.worktreesPruned) worktrees inactive for over \(document.inactiveWorktreeDays) days")
            print("VACUUM ANALYZE done")
        }
    }
}
