import ArgumentParser
import Foundation
import GitProbe
import PostgresClient
import RegistryClient
import SystemPackage
import RegistryDocuments

/// `imi-sync doctor`: checks everything imi-sync depends on and says what to fix.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check configuration, database, schema, integrity, inotify limits and the service.",
        discussion: "Exits 1 when any check fails; warnings alone exit 0.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print one JSON document instead of text.")
    var json = false

    struct Check: Encodable, Equatable {
        enum Outcome: String, Encodable { case ok, warning, failure }
        var name: String
        var outcome: Outcome
        var detail: String
        /// The exit code a failure of this check means (README's table), when not 1.
        var exitCode: Int32? = nil

        enum CodingKeys: String, CodingKey { case name, outcome, detail }
    }

    /// 0 without failures; else the first failure's own code (78 configuration or schema,
    /// 69 database unreachable), or 1.
    static func exitCode(for checks: [Check]) -> Int32 {
        guard let failure = checks.first(where: { $0.outcome == .failure }) else { return 0 }
        return failure.exitCode ?? 1
    }

    func run() throws {
        GitLibrary.initialize()
        let checks = DoctorChecks(global: global).run()
        if json {
            print(JSONOutput.render(["checks": checks]))
        } else {
            for check in checks {
                let mark = switch check.outcome {
                case .ok: "ok  "
                case .warning: "WARN"
                case .failure: "FAIL"
                }
                print("\(mark)  \(check.name): \(check.detail)")
            }
        }
        let code = Self.exitCode(for: checks)
        if code != 0 { throw ExitCode(code) }
    }
}
