import AbmWire
import CampaignStore
import Foundation

/// The server's data directory, created when missing, made owner-only (0700) and locked for this process
/// (`StoreLock`, whose file is 0600 like the database files).
///
/// `abandon()` undoes a start that failed later on (a port in use): it drops the lock and removes the
/// directory when this start created it and nothing but the lock file is in it, so a failed start leaves
/// nothing behind.
struct LockedDataDirectory: Sendable {
    let url: URL
    private let lock: StoreLock
    private let created: Bool

    init(_ path: String) throws {
        let url = URL(fileURLWithPath: path, isDirectory: true)
        var isDirectory: ObjCBool = false
        let existed = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        if existed && !isDirectory.boolValue {
            throw StoreError(code: "store.not_a_directory", message: "the data directory \(path) is a file")
        }
        if !existed {
            do {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw StoreError(code: "store.lock_failed", message: "cannot create the data directory \(path): \(error.localizedDescription)")
            }
        }
        // Personal data is inside: owner only, also for a directory made beforehand with the usual 0755.
        do {
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: url.path)
        } catch {
            throw StoreError(code: "store.lock_failed", message: "cannot make the data directory \(path) 0700: \(error.localizedDescription)")
        }
        do {
            lock = try StoreLock.acquire(directory: path)
        } catch {
            if !existed { try? FileManager.default.removeItem(at: url) }
            throw error
        }
        self.url = url
        self.created = !existed
    }

    /// Releases the lock (the store is no longer used by this process).
    func release() { lock.release() }

    /// Releases the lock and removes what this start created.
    func abandon() {
        lock.release()
        guard created else { return }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        if contents.allSatisfy({ $0 == StoreLock.fileName }) {
            try? FileManager.default.removeItem(at: url)
        }
    }
}
