import Foundation
import TestSupport
import Testing

@testable import ImiSyncCLI
@testable import SyncAgent

@Suite("Passwords never show in the process title", .ownThreads)
struct ProcessTitleTests {
    @Test(
        "arguments carrying a password are masked, others are untouched",
        arguments: [
            ("postgresql://u:s3cret@h/db", "postgresql://u:****@h/db"),
            ("--database-url=postgresql://u:s3cret@h/db", "--database-url=postgresql://u:****@h/db"),
            ("host=h password=s3cret", "password=**** host=h"),
            ("once", "once"),
            ("--json", "--json"),
        ])
    func masking(argument: String, expected: String) {
        #expect(ProcessTitle.masked(argument) == expected)
    }

    /// Starts imi-sync against a server that accepts the TCP connection but never answers, so
    /// the process stays alive while its /proc/<pid>/cmdline is read.
    @Test(
        "a running imi-sync's /proc cmdline holds no password",
        arguments: [
            ("postgresql://imi_app:s3cret-pw@127.0.0.1:PORT/imi?connect_timeout=3", "postgresql://imi_app:****@127.0.0.1:PORT/imi"),
            ("postgresql://imi_app@127.0.0.1:PORT/imi?%70assword=s3cret-pw&connect_timeout=3", "postgresql://imi_app:****@127.0.0.1:PORT/imi"),
            ("host=127.0.0.1 port=PORT password=s3cret-pw connect_timeout=3", "password=**** connect_timeout=3 host=127.0.0.1"),
        ])
    func procCmdline(url: String, shown: String) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(bound == 0)
        #expect(listen(listener, 8) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port = UInt16(bigEndian: address.sin_port)

        let process = try ChildProcess(
            try imiSyncBinary(),
            ["once", "--database-url", url.replacingOccurrences(of: "PORT", with: String(port))],
            environment: ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()])
        defer {
            process.signal(SIGKILL)
            process.waitForExit(timeout: 5)
        }
        var cmdline = ""
        for _ in 0..<50 where !cmdline.contains("****") {
            Thread.sleep(forTimeInterval: 0.05)
            let data = FileManager.default.contents(atPath: "/proc/\(process.pid)/cmdline") ?? Data()
            cmdline = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        }
        #expect(process.isRunning)
        #expect(cmdline.contains(shown.replacingOccurrences(of: "PORT", with: String(port))), "\(cmdline)")
        #expect(!cmdline.contains("s3cret-pw"))
    }
}
