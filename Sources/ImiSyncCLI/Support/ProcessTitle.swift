#if canImport(Glibc)
import Glibc
#endif
import PostgresClient
import RegistryClient

/// Hides passwords given on the command line from `ps` and `/proc/<pid>/cmdline`.
package enum ProcessTitle {
    /// Copies the arguments for the parser first, then overwrites, in the process's own argv
    /// memory, every argument that carries a password with its masked form (never longer).
    package static func hidePasswords() {
        let arguments = CommandLine.arguments
        for (index, argument) in arguments.enumerated() {
            let masked = masked(argument)
            guard masked != argument, let pointer = CommandLine.unsafeArgv[index] else { continue }
            let original = strlen(pointer)
            let bytes = Array(masked.utf8.prefix(original))
            for (offset, byte) in bytes.enumerated() { pointer[offset] = CChar(bitPattern: byte) }
            for offset in bytes.count..<original { pointer[offset] = 0 }
        }
    }

    /// The argument with any password masked: a whole conninfo, or `--database-url=…`.
    /// Arguments that carry no password (subcommands, paths, other flags) stay as they are.
    package static func masked(_ argument: String) -> String {
        if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
            let value = String(argument[argument.index(after: equals)...])
            return String(argument[...equals]) + masked(value)
        }
        let settings = ConnectionSettings(conninfo: argument, origin: "the command line")
        if settings.containsPassword { return settings.maskedConninfo }
        // libpq cannot read it, yet it may hold a secret: show none of it.
        if ConnectionSettingsProbe.mayHoldPassword(argument) { return "****" }
        return argument
    }
}

/// Tells whether an argument libpq cannot parse might still be a connection string with a
/// password in it (a quote left open, a URL with credentials).
package enum ConnectionSettingsProbe {
    package static func mayHoldPassword(_ argument: String) -> Bool {
        let lowered = argument.lowercased()
        let looksLikeURL = lowered.hasPrefix("postgresql://") || lowered.hasPrefix("postgres://")
        return (looksLikeURL && argument.contains("@")) || lowered.contains("password")
    }
}
