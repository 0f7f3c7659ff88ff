// What several test targets share: bounded waits that fail instead of hanging (never pacing sleeps), a
// mailbox of received ZeroMQ messages, and a seeded random generator for reproducible randomized tests.
import Foundation
import NIOConcurrencyHelpers
import ZeroMQ

/// Runs a blocking call (a pipe read, a synchronous socket's receive, a child's exit) on a thread of its own,
/// never on the cooperative pool: its few threads (one per core) are what the servers and tasks under test
/// run on, and a test blocking them stalls every other test of the process.
public func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
        Thread { c.resume(with: Result { try body() }) }.start()
    }
}

/// A bounded wait that ran out.
public struct Timeout: Error, CustomStringConvertible {
    public let what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting for \(what)" }
}

/// A small seeded generator (SplitMix64) so that randomized tests are reproducible from their seed.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Received messages, taken with a bounded wait (the bound is a failure, never a pacing sleep).
public final class Mailbox: Sendable {
    public init() {}

    private struct State {
        var items: [ZMQMessage] = []
        var head = 0
        var waiter: (token: Int, continuation: CheckedContinuation<ZMQMessage?, Never>)?
        var nextToken = 0
    }

    private let state = NIOLockedValueBox(State())

    public func put(_ message: ZMQMessage) {
        let waiter = state.withLockedValue { s -> CheckedContinuation<ZMQMessage?, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w.continuation
            }
            s.items.append(message)
            return nil
        }
        waiter?.resume(returning: message)
    }

    public var count: Int { state.withLockedValue { $0.items.count - $0.head } }

    /// The next message, or nil after `seconds` without one.
    public func take(within seconds: Double) async -> ZMQMessage? {
        await withCheckedContinuation { (c: CheckedContinuation<ZMQMessage?, Never>) in
            let (ready, token) = state.withLockedValue { s -> (ZMQMessage?, Int?) in
                if s.head < s.items.count {
                    defer {
                        s.head += 1
                        if s.head > 4096 { s.items.removeFirst(s.head); s.head = 0 }
                    }
                    return (s.items[s.head], nil)
                }
                s.nextToken += 1
                s.waiter = (s.nextToken, c)
                return (nil, s.nextToken)
            }
            if let ready { c.resume(returning: ready); return }
            let expire = token!
            Task {
                try? await Task.sleep(for: .seconds(seconds))
                let expired = self.state.withLockedValue { s -> CheckedContinuation<ZMQMessage?, Never>? in
                    guard let w = s.waiter, w.token == expire else { return nil }
                    s.waiter = nil
                    return w.continuation
                }
                expired?.resume(returning: nil)
            }
        }
    }
}

public struct DeadlineExceeded: Error, CustomStringConvertible {
    public let seconds: Double
    public init(seconds: Double) { self.seconds = seconds }
    public var description: String { "deadline of \(seconds) s exceeded" }
}

/// Runs `body` in its own task and fails after `seconds` instead of hanging the suite (the body may be
/// stuck in a non-cancellable wait, so this does not wait for it to finish on timeout).
public func withDeadline<T: Sendable>(
    _ seconds: Double = 60, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let once = Once<CheckedContinuation<T, any Error>>()
    return try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
        once.set(c)
        let work = Task {
            let result = await Result { try await body() }
            once.take()?.resume(with: result)
        }
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            if let c = once.take() {
                work.cancel()
                c.resume(throwing: DeadlineExceeded(seconds: seconds))
            }
        }
    }
}

extension Result where Failure == any Error {
    public init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

/// A value taken at most once, from any task.
public final class Once<Value: Sendable>: Sendable {
    private let value = NIOLockedValueBox<Value?>(nil)
    public init() {}
    public func set(_ v: Value) { value.withLockedValue { $0 = v } }
    public func take() -> Value? { value.withLockedValue { v in v.take() } }
}
