import Foundation
import SystemPackage
import Testing

@testable import SyncAgent

#if canImport(Glibc)
import Glibc
import TestSupport
@testable import LinuxPlatform
#endif

@Suite("Directory listing reads each readdir record within its own length", .ownThreads)
struct DirectoryListingTests {
    /// A `readdir` record is only as long as its name needs; the last one in glibc's buffer
    /// can end right before an unmapped page. Reading `struct dirent`'s fixed 256-byte name
    /// (or the whole struct) from it faults; reading within `d_reclen` does not.
    @Test("a short record right before an unmapped page is read without touching that page")
    func recordBeforeGuardPage() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard let memory = mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            memory != MAP_FAILED
        else {
            Issue.record("mmap failed: \(Errno(rawValue: errno))")
            return
        }
        defer { munmap(memory, 2 * page) }
        #expect(mprotect(memory.advanced(by: page), page, PROT_NONE) == 0)

        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        let length = (nameOffset + 3 + 7) / 8 * 8  // "ab" + NUL, 8-byte aligned as the kernel does
        let record = memory.advanced(by: page - length)
        record.initializeMemory(as: UInt8.self, repeating: 0, count: length)
        record.storeBytes(of: UInt16(length), toByteOffset: MemoryLayout<dirent>.offset(of: \dirent.d_reclen)!, as: UInt16.self)
        record.storeBytes(of: UInt8(DT_DIR), toByteOffset: MemoryLayout<dirent>.offset(of: \dirent.d_type)!, as: UInt8.self)
        record.storeBytes(of: UInt8(ascii: "a"), toByteOffset: nameOffset, as: UInt8.self)
        record.storeBytes(of: UInt8(ascii: "b"), toByteOffset: nameOffset + 1, as: UInt8.self)

        #expect(DirectoryListing.name(ofRecord: UnsafeRawPointer(record)) == "ab")
        #expect(DirectoryListing.kind(ofRecord: UnsafeRawPointer(record)) == .directory)
    }

    /// Thousands of short names fill glibc's 32 KiB buffer to its end, where the old copy of
    /// `d_name` read past the allocation (AddressSanitizer reports it; without it, a crash
    /// when the next page is unmapped). Names that are not UTF-8 come back byte for byte.
    @Test("a directory of 3,000 entries, some named with bytes that are not UTF-8, is listed exactly")
    func largeDirectory() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("listing-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        var expected: Set<[UInt8]> = []
        for index in 0..<3000 {
            var name = Array(String(index, radix: 36).utf8)
            if index % 100 == 0 { name.append(0xFF) }
            expected.insert(name)
            let path = Array(root.path.utf8) + [UInt8(ascii: "/")] + name
            if index % 2 == 0 {
                #expect(RawPath.mkdir(path) == 0)
            } else {
                #expect(RawPath.write(path, ""))
            }
        }
        let entries = try DirectoryListing.entries(of: FilePath(root.path))
        #expect(Set(entries.map(\.name.bytes)) == expected)
        #expect(entries.filter { $0.kind == .directory }.count == 1500)
    }

    @Test("a symbolic link to a directory is listed as a link, never as a directory")
    func symbolicLinks() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("listing-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("real"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("to-root").path, withDestinationPath: "/")
        let entries = try DirectoryListing.entries(of: FilePath(root.path)).sorted { $0.name.string < $1.name.string }
        #expect(entries == [
            DirectoryEntry(name: "real", kind: .directory),
            DirectoryEntry(name: "to-root", kind: .symbolicLink),
        ])
    }
}
