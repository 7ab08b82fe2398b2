import ArgumentParser
import GitProbe
import RegistryClient

/// The exit codes documented in `imi-sync --help` (sysexits.h numbers where one fits).
enum ExitStatus {
    static let problemsReported = ExitCode(1)
    static let dataError = ExitCode(65)
    static let unavailable = ExitCode(69)
    static let internalError = ExitCode(70)
    static let ioError = ExitCode(74)
    static let configuration = ExitCode(78)

    /// Prints one line for `error` on standard error and returns the exit code it maps to.
    static func report(_ error: any Error) -> ExitCode {
        switch error {
        case let error as RegistryError:
            printError("imi-sync: \(error.description)")
            switch error.code {
            case .connection: return unavailable
            case .schema: return configuration
            case .legacySource, .invalidInput: return dataError
            case .io: return ioError
            case .query: return problemsReported
            }
        case let error as ConfigError:
            printError("imi-sync: \(error.description)")
            return configuration
        case let error as GitProbeError:
            printError("imi-sync: \(error.description)")
            return dataError
        default:
            printError("imi-sync: \(error)")
            return internalError
        }
    }
}
