#if canImport(Glibc)
import Glibc
#endif

/// A write to a pipe or socket whose reader is gone (a child process that exited, a peer that
/// shut its socket down) must fail that write, not end the whole test process with SIGPIPE:
/// the support code that starts processes and servers calls this first.
public enum BrokenPipes {
    private static let ignored: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()

    public static func ignore() { _ = ignored }
}
