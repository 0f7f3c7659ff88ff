#if canImport(Glibc)
import AbmWire
import Glibc
#endif
import NIOConcurrencyHelpers
import Synchronization

/// Gives memory freed after a burst back to the OS once the server is idle.
///
/// Why: glibc's malloc keeps freed memory in its arenas (one per thread that allocated, and the
/// cooperative pool, poll threads and store queues all do), so after a 100k-lead burst RSS stayed at its
/// peak although the gateway's and runtime's buffers were empty again. `malloc_trim(0)` returns the free
/// pages of every arena (measured here: see `FaultEndToEndTests`). It costs a walk of the heap, so it
/// runs once per idle period: after a second with no request and no published event following activity.
final class IdleMemoryTrimmer: Sendable {
    /// glibc's `malloc_trim`, looked up at run time: the Glibc overlay does not declare it, and other C
    /// libraries (musl, macOS) have none.
    private static let trim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()

    /// glibc's `mallopt`, looked up like `trim`.
    private static let mallopt: (@convention(c) (Int32, Int32) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(nil, "mallopt") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
        #else
        return nil
        #endif
    }()

    /// Fixes glibc's mmap and trim thresholds at their initial values (process-wide, once).
    ///
    /// Why: by default glibc raises both thresholds when a large block (e.g. a 1,000-event replay reply of
    /// several MiB) is freed, up to 32 MiB / 64 MiB; from then on each thread's arena keeps that much
    /// free memory at its top, where `malloc_trim` does not reach (it trims only the main arena's top).
    /// Measured after a burst with replays: mallinfo2 said 6.7 MB in use and 183 MB free, RSS stayed
    /// 65 MB above its baseline even after `malloc_trim(0)`. Fixed thresholds turn the dynamic
    /// adjustment off: large blocks are mmapped and unmapped, arena tops above 1 MiB are released on free.
    private static let fixedThresholds: Void = {
        guard let mallopt else { return }
        let mmapThreshold: Int32 = -3, trimThreshold: Int32 = -1  // M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
        _ = mallopt(mmapThreshold, 128 * 1024)
        _ = mallopt(trimThreshold, 1024 * 1024)
    }()

    private let task: NIOLockedValueBox<Task<Void, Never>?> = NIOLockedValueBox(nil)
    private let trims = Atomic(0)

    /// How many times memory was trimmed (tests, diagnostics).
    var trimCount: Int { trims.load(ordering: .relaxed) }

    /// Starts watching `activity` (a counter that grows with work done) every `interval`.
    func start(interval: Duration = .seconds(1), activity: @escaping @Sendable () -> Int) {
        Self.fixedThresholds
        guard let trim = Self.trim else { return }
        let t = Task.detached(priority: .background) { [self] in
            var last = activity()
            var dirty = true
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                let now = activity()
                if now != last {
                    dirty = true
                    last = now
                } else if dirty {
                    _ = trim(0)
                    trims.add(1, ordering: .relaxed)
                    dirty = false
                }
            }
        }
        task.withLockedValue { $0 = t }
    }

    func stop() {
        task.withLockedValue { $0 }?.cancel()
    }
}
