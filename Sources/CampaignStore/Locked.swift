import Foundation

/// A value behind a lock, for the few bits of mutable state a `Sendable` class keeps.
/// (`Synchronization.Mutex` would need macOS 15; the package targets macOS 14.)
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
