import LinuxPlatform
import ArgumentParser
import GitProbe
import LegacyMigration
import PostgresClient
import RegistryClient
import RegistryDocuments
import SyncConfiguration

/// The exit codes documented in `imi-sync --help` (sysexits.h numbers where one fits), and
/// the one place an error becomes one: commands throw, `main` reports.
enum ExitStatus {
    static let problemsReported = ExitCode(1)
    static let usage = ExitCode(64)
    static let dataError = ExitCode(65)
    static let noInput = ExitCode(66)
    static let unavailable = ExitCode(69)
    static let internalError = ExitCode(70)
    static let ioError = ExitCode(74)
    static let noPermission = ExitCode(77)
    static let configuration = ExitCode(78)

    /// The exit code `error` means.
    static func code(for error: any Error) -> ExitCode {
        switch error {
        case let error as PostgresError:
            switch error.code {
            case .connection: unavailable
            case .invalidInput: dataError
            case .query: problemsReported
            case .decode: internalError
            }
        case let error as RegistryError:
            switch error.code {
            case .schema: configuration
            case .invalid, .duplicate, .inUse, .builtIn: dataError
            case .notFound: noInput
            case .permission: noPermission
            }
        case is ConfigError: configuration
        case let error as LegacyError:
            switch error.code {
            case .source, .strict, .invalidInput: dataError
            case .io: ioError
            }
        case is GitProbeError: dataError
        default: internalError
        }
    }

    /// Prints one line for `error` on standard error and returns the exit code it maps to.
    /// The message may carry a path or a name from a repository: quoted whole if it holds a
    /// control character, so it stays one line and nothing in it reaches the terminal.
    static func report(_ error: any Error) -> ExitCode {
        printError("imi-sync: " + DisplayQuoting.terminalSafe("\(error)"))
        return code(for: error)
    }

    /// Whether ArgumentParser formats and exits for `error` itself (usage, help, `ExitCode`).
    static func isParserOwned(_ error: any Error) -> Bool {
        error is ExitCode || error is ValidationError || error is CleanExit
            || String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
    }
}
