import Logging

/// Bootstraps swift-log once per process: human-readable lines on standard error.
enum LogSetup {
    private static let bootstrapped: Void = {
        LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
    }()

    static func bootstrapOnce() {
        _ = bootstrapped
    }
}
