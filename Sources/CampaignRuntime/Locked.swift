import AbmWire
import Foundation

/// A value guarded by a lock, for state that synchronous code on several threads reads and writes
/// briefly (the registry, the timer index, the suppression set). Critical sections never `await`.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    @inline(__always)
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
