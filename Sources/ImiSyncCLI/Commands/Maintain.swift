import ArgumentParser
import LinuxPlatform
import PostgresClient
import RegistryClient
import RegistryDocuments
import SyncConfiguration

/// `imi-sync maintain`: retention, pruning and VACUUM ANALYZE, as the plan's cron job did.
struct Maintain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maintain",
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

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Deactivate this host's merged worktrees merged over N days ago whose directory is gone.",
            discussion: "Rows are deactivated, never deleted; nothing on disk is touched.",
            valueName: "days"))
    var pruneMergedDays: Int?

    @Flag(name: .long, help: "Print one JSON document instead of text.")
    var json = false

    /// Retention in days: at least one day, at most a century (larger values overflow the
    /// server's interval arithmetic and mean "forever" anyway).
    static let days = 1...36_500

    func validate() throws {
        if let pruneMergedDays, !(0...Self.days.upperBound).contains(pruneMergedDays) {
            throw ValidationError("--prune-merged-days must be between 0 and \(Self.days.upperBound) days, got \(pruneMergedDays)")
        }
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
        /// With `--prune-merged-days`: the merged rows deactivated, and those kept because
        /// their directory is still there.
        @NullWhenAbsent var mergedPruned: Int?
        @NullWhenAbsent var mergedKept: Int?
    }

    func run() throws {
        _ = global.makeLogger()
        let document: Document
        let config = try global.resolvedConfig()
        let activityDays = try activityDays ?? Self.checked(config.activityRetentionDays, "maintenance.activity_retention_days")
        let inactiveDays = try inactiveDays ?? Self.checked(config.inactiveWorktreeDays, "maintenance.inactive_worktree_days")
        let registry = try Registry.open(config.connectionSettings)
        let merged = try pruneMergedDays.map { try pruneMerged(olderThan: $0, host: config.hostName.value, on: registry) }
        let report = try registry.maintain(activityRetentionDays: activityDays, inactiveWorktreeDays: inactiveDays)
        document = Document(
            activitiesRemoved: report.activitiesRemoved, worktreesPruned: report.worktreesPruned,
            activityRetentionDays: activityDays, inactiveWorktreeDays: inactiveDays, vacuumed: true,
            mergedPruned: merged?.pruned, mergedKept: merged?.kept)
        if json {
            print(JSONOutput.render(document))
        } else {
            print("removed \(document.activitiesRemoved) activities older than \(document.activityRetentionDays) days")
            print("pruned \(document.worktreesPruned) worktrees inactive for over \(document.inactiveWorktreeDays) days")
            if let merged, let days = pruneMergedDays {
                print("deactivated \(merged.pruned) merged worktrees (merged over \(days) days ago, directory gone); \(merged.kept) kept: their directory is still there")
            }
            print("VACUUM ANALYZE done")
        }
    }

    /// This host's merged rows older than `days` whose directory is gone, deactivated (the
    /// registry re-checks each row, so one edited meanwhile stays); a directory that cannot be
    /// looked at is not gone.
    private func pruneMerged(olderThan days: Int, host: String, on registry: Registry) throws -> (pruned: Int, kept: Int) {
        guard let hostID = try registry.hostID(named: host) else { return (0, 0) }
        let candidates = try registry.pruneCandidates(host: hostID, mergedMoreThanDays: days)
        let gone = candidates.filter { FileKind.isGone($0.path) }
        let pruned = try registry.deactivateMerged(gone.map(\.id), host: hostID, mergedMoreThanDays: days)
        return (pruned.count, candidates.count - gone.count)
    }
}
