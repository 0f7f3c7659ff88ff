import Foundation
import GRDB

/// An online copy of a SQLite store (`abm backup`): SQLite's backup API through GRDB, from a read
/// transaction on the source, so that the copy is one consistent instant of the store even while a
/// server keeps committing to it (WAL: the server's writes go on meanwhile, the copy sees none of
/// those that committed after it started).
///
/// The copy is written to `<destination>.partial` (mode 0600: it holds personal data), checked with
/// `PRAGMA quick_check`, switched to a single self-contained file (`journal_mode=DELETE`; the server
/// puts it back to WAL when it opens it), synced, and only then renamed to `destination`: a failed or
/// interrupted backup leaves no file that could be mistaken for a good one.
public enum SQLiteBackup {
    /// What a backup holds.
    public struct Summary: Sendable, Equatable {
        public var path: String
        public var bytes: Int64
        /// The newest event's seq in the copy (0: none).
        public var lastSeq: Int64
        public var accounts: Int64
        /// The newest schema migration applied to the copy (`SQLiteStore.schemaVersion` of its writer).
        public var schema: String
    }

    /// Copies the store file `source` to the new file `destination`.
    /// - Throws: `store.backup_failed` naming the file: no store at `source`, `destination` exists, the
    ///   copy failed or did not check out.
    public static func run(source: String, destination: String) throws -> Summary {
        guard FileManager.default.fileExists(atPath: source) else {
            throw failed("no store at \(source) (give the server's --data-dir)")
        }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw failed("\(destination) exists; not overwriting it")
        }
        let partial = destination + ".partial"
        let fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw failed("cannot create \(partial): \(String(cString: strerror(errno)))")
        }
        // The umask may have cleared bits, never added any; the copy is readable by its owner only.
        fchmod(fd, 0o600)
        close(fd)
        var keep = false
        defer {
            if !keep {
                for suffix in ["", "-journal", "-wal", "-shm"] { unlink(partial + suffix) }
            }
        }
        do {
            var sourceConfig = Configuration()
            sourceConfig.readonly = true
            // The server's commit in progress holds the write lock only; a reader waits for nothing, but a
            // checkpoint may briefly need the lock the copy's read transaction takes.
            sourceConfig.busyMode = .timeout(10)
            sourceConfig.label = "abm.backup.source"
            let from = try DatabaseQueue(path: source, configuration: sourceConfig)
            var targetConfig = Configuration()
            targetConfig.label = "abm.backup.target"
            let to = try DatabaseQueue(path: partial, configuration: targetConfig)
            try from.backup(to: to)
            try from.close()
            let summary = try to.writeWithoutTransaction { db -> Summary in
                let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
                guard check == ["ok"] else { throw failed("the copy does not check out: \(check.prefix(3).joined(separator: "; "))") }
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
                let lastSeq = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM events") ?? 0
                let accounts = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM accounts") ?? 0
                let schema = try String.fetchOne(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid DESC LIMIT 1") ?? "none"
                return Summary(path: destination, bytes: 0, lastSeq: lastSeq, accounts: accounts, schema: schema)
            }
            try to.close()
            try sync(partial)
            guard rename(partial, destination) == 0 else {
                throw failed("cannot rename \(partial) to \(destination): \(String(cString: strerror(errno)))")
            }
            keep = true
            try? sync(URL(fileURLWithPath: destination).deletingLastPathComponent().path)
            var result = summary
            let size = (try? FileManager.default.attributesOfItem(atPath: destination)[.size] as? NSNumber)?.int64Value
            result.bytes = size ?? 0
            return result
        } catch let error as StoreError {
            throw error
        } catch {
            throw failed("copying \(source) failed: \(error)")
        }
    }

    /// fsync of a file or directory.
    private static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failed("cannot open \(path) to sync it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failed("cannot sync \(path): \(String(cString: strerror(errno)))") }
    }

    static func failed(_ message: String) -> StoreError {
        StoreError(code: "store.backup_failed", message: message)
    }
}
