import AbmWire
import Foundation
import ZeroMQ

/// The baseline: a ROUTER that answers every request with a fixed ack, without decoding or storing
/// anything. What libzmq and the client side cost; the server's figure is measured next to it.
final class NoOpRouter: Sendable {
    let endpoint: String
    private let finished = DispatchSemaphore(value: 0)

    /// Binds on a loopback ephemeral port and answers `expected` requests on its own thread.
    init(context: ZMQContext, expected: Int) throws {
        let ready = DispatchSemaphore(value: 0)
        let box = ResultBox()
        let finished = self.finished
        let thread = Thread {
            defer { finished.signal() }
            do {
                // Linger: the last acks are still queued when the loop ends; closing must flush them.
                let router = try ZMQSocket(context, type: .router, linger: 10_000, options: [
                    .sendHighWaterMark(1_000_000), .receiveHighWaterMark(100_000), .routerMandatory(true),
                ])
                try router.bind("tcp://127.0.0.1:*")
                box.set(.success(try router.lastEndpoint))
                ready.signal()
                let ack: [UInt8] = Array(#"{"campaign_id":null,"id":null,"status":"accepted","type":"ack","warnings":[]}"#.utf8)
                for _ in 0..<expected {
                    let m = try router.receive()
                    // A peer at its high-water mark is EAGAIN with routerMandatory: wait until it drains.
                    let reply = ZMQMessage([m[0], [], ack])
                    while try !router.trySend(reply) { _ = try router.poll(events: .pollOut, timeoutMilliseconds: 10) }
                }
            } catch {
                box.set(.failure(BenchError("no-op router: \(error)")))
                FileHandle.standardError.write(Data("abm bench: no-op router failed: \(error)\n".utf8))
                ready.signal()
            }
        }
        thread.name = "abm-bench-noop"
        thread.start()
        ready.wait()
        endpoint = try box.get()
    }

    /// Waits until the router has answered everything it expected.
    func wait() { finished.wait() }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<String, BenchError> = .failure(BenchError("not started"))
    func set(_ r: Result<String, BenchError>) { lock.lock(); result = r; lock.unlock() }
    func get() throws -> String { lock.lock(); defer { lock.unlock() }; return try result.get() }
}
