#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SystemPackage

/// One event read from an inotify descriptor.
package struct InotifyEvent: Equatable, Sendable {
    package var watch: Int32
    package var mask: UInt32
    /// The entry's name inside the watched directory, byte for byte as the kernel gave it
    /// (names need not be UTF-8); `nil` for events on the directory itself.
    package var name: [UInt8]?

    /// The name as a path component, to extend a watched directory's path.
    package var component: FilePath.Component? {
        name.flatMap { FilePath.Component(platformString: $0.map { CChar(bitPattern: $0) } + [0]) }
    }

    package var isDirectory: Bool { mask & UInt32(IN_ISDIR) != 0 }
    package var isOverflow: Bool { mask & UInt32(IN_Q_OVERFLOW) != 0 }
    /// The kernel dropped this watch (directory deleted or unmounted, or `inotify_rm_watch`).
    package var isWatchRemoved: Bool { mask & UInt32(IN_IGNORED) != 0 }
    package var isSelfGone: Bool { mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF) != 0 }
    package var isCreated: Bool { mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 }
    package var isMovedAway: Bool { mask & UInt32(IN_MOVED_FROM) != 0 }
    package var isDeleted: Bool { mask & UInt32(IN_DELETE) != 0 }
}

/// An inotify instance: owns the descriptor, closes it in one place.
package final class Inotify {
    /// Changes to entries of a directory in a worktree, and the directory itself going away.
    package static let treeMask = UInt32(
        IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO
            | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)

    package let descriptor: Int32

    package init() throws(SystemCallError) {
        descriptor = try SystemCall.inotifyInit(flags: Int32(IN_NONBLOCK | IN_CLOEXEC))
    }

    deinit {
        SystemCall.close(descriptor)
    }

    /// Adds (or updates) a watch; the kernel returns the same number for the same inode.
    /// `IN_DONT_FOLLOW`: a directory replaced by a symbolic link is not followed out.
    package func addWatch(_ path: FilePath, mask: UInt32 = treeMask) throws(SystemCallError) -> Int32 {
        try SystemCall.inotifyAddWatch(descriptor, path: path, mask: mask)
    }

    /// Removes a watch; one the kernel already dropped (EINVAL) is not an error.
    package func removeWatch(_ watch: Int32) {
        do {
            try SystemCall.inotifyRemoveWatch(descriptor, watch)
        } catch {
            // EINVAL: already gone because the directory was deleted. Nothing else can fail.
        }
    }

    /// Reads every queued event without blocking; empty when there is none.
    package func readEvents() throws(SystemCallError) -> [InotifyEvent] {
        var events: [InotifyEvent] = []
        // Big enough for many events per read; each is 16 bytes plus a padded name.
        let capacity = 64 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let count = try SystemCall.read(descriptor, into: buffer)
            if count <= 0 { return events }
            var offset = 0
            let headerSize = MemoryLayout<inotify_event>.size
            while offset + headerSize <= count {
                let header = buffer.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                // The name is NUL-padded to `len` bytes; never read past this record.
                let nameLength = min(Int(header.len), count - offset - headerSize)
                var name: [UInt8]?
                if nameLength > 0 {
                    let start = buffer.baseAddress!.advanced(by: offset + headerSize)
                        .assumingMemoryBound(to: UInt8.self)
                    name = Array(UnsafeBufferPointer(start: start, count: nameLength).prefix { $0 != 0 })
                }
                events.append(InotifyEvent(watch: header.wd, mask: header.mask, name: name))
                offset += headerSize + Int(header.len)
            }
        }
    }

    /// `fs.inotify.max_user_watches`, or `nil` when it cannot be read.
    package static func watchLimit() -> Int? {
        readProcNumber("/proc/sys/fs/inotify/max_user_watches")
    }

    package static func instanceLimit() -> Int? {
        readProcNumber("/proc/sys/fs/inotify/max_user_instances")
    }

    private static func readProcNumber(_ path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// A pipe that wakes a thread blocked in `poll`, e.g. to stop it.
package final class WakeSignal: @unchecked Sendable {
    /// The end to poll for readability.
    package let descriptor: Int32
    private let writeEnd: Int32

    package init() throws(SystemCallError) {
        (descriptor, writeEnd) = try SystemCall.nonBlockingPipe()
    }

    deinit {
        SystemCall.close(descriptor)
        SystemCall.close(writeEnd)
    }

    package func wake() {
        var one: UInt8 = 1
        // A full pipe (EAGAIN) already holds a pending wake-up.
        _ = try? withUnsafeBytes(of: &one) { bytes throws(SystemCallError) in
            try SystemCall.write(writeEnd, bytes)
        }
    }

    /// Empties the pipe after a wake-up was seen.
    package func drain() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while (try? bytes.withUnsafeMutableBytes { buffer throws(SystemCallError) in
            try SystemCall.read(descriptor, into: buffer)
        }) ?? 0 > 0 {}
    }
}
