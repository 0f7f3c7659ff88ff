import Foundation
import Synchronization
import ZeroMQ

struct DeadlineExceeded: Error, CustomStringConvertible {
    let seconds: Double
    var description: String { "deadline of \(seconds) s exceeded" }
}

/// Runs `body` in its own task and fails after `seconds` instead of hanging the suite (the body may be
/// stuck in a non-cancellable wait, so this does not wait for it to finish on timeout).
func withDeadline<T: Sendable>(
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
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// A PUB→SUB pair is connected only after the subscription reached the publisher ("slow joiner"):
/// publish a probe until the subscriber sees one, bounded by poll timeouts.
func awaitSubscription(pub: borrowing ZMQSocket, sub: borrowing ZMQSocket, probe: ZMQMessage) throws {
    for _ in 0..<500 {
        try pub.send(probe)
        if try sub.receive(timeoutMilliseconds: 10) != nil {
            while try sub.tryReceive() != nil {}  // drop extra probes
            return
        }
    }
    throw DeadlineExceeded(seconds: 5)
}

/// A value taken at most once, from any task.
final class Once<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)
    func set(_ v: Value) { value.withLock { $0 = v } }
    func take() -> Value? { value.withLock { v in v.take() } }
}
