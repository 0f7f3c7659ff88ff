import AbmWire
import NIOConcurrencyHelpers

/// Runs `operation` in a task of its own and returns true when it finished before `deadline`, false
/// (leaving it running) otherwise. For waits that cannot be cancelled (continuation-based drains), which
/// a task group would wait for anyway.
func untilDeadline(_ deadline: ContinuousClock.Instant, _ operation: @escaping @Sendable () async -> Void) async -> Bool {
    let once = NIOLockedValueBox<CheckedContinuation<Bool, Never>?>(nil)
    let finish: @Sendable (Bool) -> Void = { value in
        once.withLockedValue { c in defer { c = nil }; return c }?.resume(returning: value)
    }
    var timer: Task<Void, Never>?
    let result = await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
        // Installed before either task starts, so that the first to finish always finds it.
        once.withLockedValue { $0 = c }
        Task { await operation(); finish(true) }
        timer = Task {
            try? await Task.sleep(until: deadline, clock: .continuous)
            finish(false)
        }
    }
    timer?.cancel()
    return result
}
