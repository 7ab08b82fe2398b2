import Foundation
import LegacyMigration
import Logging
import PostgresClient
import SystemPackage
import LinuxPlatform

/// The dual-run period (the plan's Phase 6): with `[database.fallback] enabled = true` the old
/// iMi CLI may still write the legacy SQLite file, and `run` imports what it adds, with
/// `migrate`'s rules (rows imported before are never overwritten; a row that cannot be
/// imported as it is goes to legacy_quarantine), a moment after each write.
package final class LegacyFollower {
    package let path: String
    private let logger: Logger
    private var due: Duration?
    /// The file (and its WAL) as of the last import: an event that changed neither (our own
    /// read opening the WAL) imports nothing.
    private var stamps: [FileStamp?]?
    package private(set) var imports = 0
    package private(set) var importedRows = 0
    /// Quiet time after the last write before the file is read.
    package var settle: Duration = .milliseconds(200)

    package init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    /// The directory watched for the file's writes, and the names in it that matter.
    package var watch: (directory: FilePath, names: Set<[UInt8]>) {
        let file = FilePath(path)
        let name = Array((file.lastComponent?.string ?? "").utf8)
        return (file.removingLastComponent(), [name, name + Array("-wal".utf8), name + Array("-journal".utf8)])
    }

    package var nextDeadline: Duration? { due }

    package func schedule(at now: Duration) {
        due = min(due ?? now + settle, now + settle)
    }

    /// Imports the file when it changed since the last import; returns whether rows arrived.
    package func runDue(at now: Duration, connection: PostgresConnection, hostID: String) throws -> Bool {
        guard let due, now >= due else { return false }
        self.due = nil
        let current = [FileStamp.of(path), FileStamp.of(path + "-wal").flatMap { $0.size == 0 ? nil : $0 }]
        guard current != stamps, current[0] != nil else { return false }
        let legacy: LegacyRegistry
        do {
            legacy = try LegacyRegistry(path: path)
        } catch {
            logger.warning(
                "cannot read the legacy registry for the dual-run import; trying again at its next change",
                metadata: ["legacy.path": "\(path)", "error": "\(error)"])
            return false
        }
        let report: LegacyImportReport
        do {
            report = try LegacyImporter(connection: connection, legacy: legacy).run(.init(hostID: hostID))
        } catch let error as LegacyError {
            logger.warning(
                "the dual-run import of the legacy registry failed; trying again at its next change",
                metadata: ["legacy.path": "\(path)", "error": "\(error)"])
            return false
        }
        stamps = current
        imports += 1
        let imported = report.tables.map(\.imported).reduce(0, +)
        importedRows += imported
        if imported > 0 || report.quarantined > 0 {
            logger.notice(
                "imported what the old iMi CLI added to the legacy registry",
                metadata: [
                    "legacy.path": "\(path)", "rows.imported": "\(imported)", "rows.quarantined": "\(report.quarantined)",
                ])
        }
        return imported > 0
    }
}
