#if canImport(Glibc)
import Glibc
#endif
import RegistryClient

/// Hides passwords given on the command line from `ps` and `/proc/<pid>/cmdline`.
enum ProcessTitle {
    /// Copies the arguments for the parser first, then overwrites, in the process's own argv
    /// memory, every argument that carries a password with its masked form (never longer).
    static func hidePasswords() {
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
    static func masked(_ argument: String) -> String {
        if let equals = argument.firstIndex(of: "="), argument.hasPrefix("--") {
            let value = String(argument[argument.index(after: equals)...])
            let maskedValue = ConnectionSettings(conninfo: value, source: .flag).maskedConninfo
            return String(argument[...equals]) + maskedValue
        }
        return ConnectionSettings(conninfo: argument, source: .flag).maskedConninfo
    }
}
