import Foundation
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#endif

/// One writer per store: an exclusive lock on a data directory, held for as long as a server uses the
/// store in it.
///
/// `flock(2)` on `<directory>/abm.lock`: the kernel drops the lock when the process ends, however it ends
/// (`kill -9` included), so a lock can never outlive its holder and there is nothing stale to clean up.
/// The holder's pid is written into the file only to name it in the error a second process gets.
public final class StoreLock: Sendable {
    /// The lock file's name inside the data directory.
    public static let fileName = "abm.lock"

    public let path: String
    private let descriptor: NIOLockedValueBox<Int32?>

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = NIOLockedValueBox(descriptor)
    }

    /// Takes the lock without waiting. Throws `store.locked` (naming the holder's pid when it can be read)
    /// when another process holds it, `store.lock_failed` when the file cannot be opened or locked.
    public static func acquire(directory: String) throws -> StoreLock {
        let path = URL(fileURLWithPath: directory, isDirectory: true).appendingPathComponent(fileName).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StoreError(code: "store.lock_failed",
                             message: "cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let err = errno
            let holder = Self.readPid(fd)
            close(fd)
            if err == EWOULDBLOCK {
                throw locked(directory: directory, holder: holder)
            }
            throw StoreError(code: "store.lock_failed",
                             message: "cannot lock \(path): \(String(cString: strerror(err)))")
        }
        // Best effort: the pid only makes the other process's error message more useful.
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 {
            _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        return StoreLock(path: path, descriptor: fd)
    }

    /// The error of a second process on a store in use.
    public static func locked(directory: String, holder: Int32?) -> StoreError {
        let who = holder.map { "another process (pid \($0))" } ?? "another process"
        return StoreError(code: "store.locked",
                          message: "the store in \(directory) is in use by \(who); stop it first or use another data directory")
    }

    /// Releases the lock (the file stays; its presence means nothing). Idempotent.
    public func release() {
        descriptor.withLockedValue { fd in
            guard let d = fd else { return }
            close(d)  // closing the descriptor drops the flock
            fd = nil
        }
    }

    deinit { release() }

    private static func readPid(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Int32(text)
    }
}
