import AbmWire
import Foundation
import NIOConcurrencyHelpers

/// The runtime's source of time. Everything that waits asks the clock, so tests and `--virtual-clock`
/// mode can run weeks of campaign time in milliseconds.
public protocol RuntimeClock: Sendable {
    /// The current instant.
    var now: Date { get }
    /// Suspends until `now >= deadline`. Throws `CancellationError` when the task is cancelled first.
    func sleep(until deadline: Date) async throws
}

/// The wall clock: `Date()` and `Task.sleep`.
public struct WallClock: RuntimeClock {
    public init() {}

    public var now: Date { Date() }

    public func sleep(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSince(Date())
        if seconds > 0 {
            try await Task.sleep(nanoseconds: UInt64(min(seconds, 86_400 * 365) * 1e9))
        }
    }
}

/// Whoever runs the due work when a `ManualClock` is advanced (the runtime's scheduler).
public protocol ManualClockDriver: AnyObject, Sendable {
    /// Runs everything due up to `target` in due-time order, moving `clock` through each due time,
    /// and returns when it has happened (committed and published).
    func advance(_ clock: ManualClock, to target: Date) async
}

/// A clock that moves only when told to (tests, `--virtual-clock`). It never runs backwards.
///
/// `advance(to:)` hands the move to the attached driver (the running runtime), which steps the clock
/// through every due timer up to the target, in order, before returning. Without a driver it just moves.
public final class ManualClock: RuntimeClock, @unchecked Sendable {
    private struct Sleeper {
        var deadline: Date
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Date
        var sleepers: [UInt64: Sleeper] = [:]
        var nextSleeperId: UInt64 = 0
        weak var driver: (any ManualClockDriver)?
    }

    private let state: NIOLockedValueBox<State>

    public init(start: Date) {
        state = NIOLockedValueBox(State(now: start))
    }

    public var now: Date { state.withLockedValue { $0.now } }

    /// Moves the clock to `instant` when it is later than now (never backwards) and wakes the sleepers
    /// whose deadline has come. Runs nothing else; `advance(to:)` is the move that runs due work.
    public func move(to instant: Date) {
        let woken: [CheckedContinuation<Void, any Error>] = state.withLockedValue { s in
            guard instant > s.now else { return [] }
            s.now = instant
            var due: [CheckedContinuation<Void, any Error>] = []
            for (id, sleeper) in s.sleepers where sleeper.deadline <= instant {
                due.append(sleeper.continuation)
                s.sleepers[id] = nil
            }
            return due
        }
        for c in woken { c.resume() }
    }

    /// Runs everything due up to `target` (through the attached runtime) and moves the clock there.
    public func advance(to target: Date) async {
        if let driver = state.withLockedValue({ $0.driver }) {
            await driver.advance(self, to: target)
        } else {
            move(to: target)
        }
    }

    /// `advance(to: now + seconds)`.
    public func advance(by seconds: TimeInterval) async {
        await advance(to: now.addingTimeInterval(seconds))
    }

    func attach(_ driver: any ManualClockDriver) {
        state.withLockedValue { $0.driver = driver }
    }

    public func sleep(until deadline: Date) async throws {
        let id: UInt64 = state.withLockedValue { s in
            s.nextSleeperId += 1
            return s.nextSleeperId
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let resumeNow: (any Error)?? = state.withLockedValue { s in
                    if Task.isCancelled { return .some(CancellationError()) }
                    if s.now >= deadline { return .some(nil) }
                    s.sleepers[id] = Sleeper(deadline: deadline, continuation: c)
                    return .none
                }
                switch resumeNow {
                case .none: break
                case .some(.none): c.resume()
                case .some(.some(let error)): c.resume(throwing: error)
                }
            }
        } onCancel: {
            let c = state.withLockedValue { $0.sleepers.removeValue(forKey: id)?.continuation }
            c?.resume(throwing: CancellationError())
        }
    }
}
