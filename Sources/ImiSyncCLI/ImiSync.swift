import ArgumentParser
import GitProbe
import SyncConfiguration

/// `imi-sync`: keeps the iMi registry in PostgreSQL in step with the worktrees on disk.
@main
struct ImiSync: AsyncParsableCommand {
    /// This build's version, also recorded as the agent version of its host.
    static let version = BuildVersion.current

    static let configuration = CommandConfiguration(
        commandName: "imi-sync",
        abstract: "Keep the iMi worktree registry in PostgreSQL in step with git.",
        discussion: """
            The database is taken from --database-url, else IMI_DATABASE_URL, else libpq's \
            defaults (PGHOST, PGDATABASE, PGUSER…, the local socket and ~/.pgpass). Both \
            postgresql:// URLs and key=value strings are accepted.

            Exit codes: 0 success; 1 finished but something was wrong; 64 bad usage; \
            65 bad input data or a change the registry refuses; 66 no such row; 69 database \
            unreachable; 70 internal error; 74 I/O error; 77 this role may not make the \
            change; 78 schema or configuration missing.
            """,
        version: version,
        subcommands: [
            Once.self, Run.self, Scan.self, Probe.self, Migrate.self, Status.self, Stats.self, Doctor.self,
            Maintain.self, Config.self, Hosts.self, Types.self, Conflicts.self, Check.self, Mcp.self, Serve.self,
        ]
    )

    static func main() async {
        ProcessTitle.hidePasswords()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch where ExitStatus.isParserOwned(error) {
            exit(withError: error)
        } catch {
            exit(withError: ExitStatus.report(error))
        }
    }
}
