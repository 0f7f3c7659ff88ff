import Synchronization
import ZeroMQ

/// Collects outbound messages from many concurrent request tasks and sends them with one
/// `send(batch:)` per round: one hand-off to the poll thread for many acks under load, one for a single
/// ack when idle (no added latency: a round starts as soon as the first message is queued).
final class BatchingSender: Sendable {
    private struct State {
        var pending: [ZMQMessage] = []
        var sending = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
        var failures = 0
    }

    private let socket: AsyncZMQSocket
    private let state = Mutex(State())

    init(socket: AsyncZMQSocket) {
        self.socket = socket
    }

    /// Messages libzmq refused (e.g. `EHOSTUNREACH`: the client disconnected before its reply).
    var failedSends: Int { state.withLock { $0.failures } }

    /// Queues `message`; a send round starts unless one is running (it will pick this one up).
    func enqueue(_ message: ZMQMessage) {
        let start = state.withLock { s -> Bool in
            s.pending.append(message)
            if s.sending { return false }
            s.sending = true
            return true
        }
        if start { Task { await self.sendRounds() } }
    }

    /// Returns once everything queued so far has been handed to libzmq.
    func flush() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { s -> Bool in
                if !s.sending && s.pending.isEmpty { return true }
                s.idleWaiters.append(c)
                return false
            }
            if idle { c.resume() }
        }
    }

    private func sendRounds() async {
        while true {
            let batch = state.withLock { s -> [ZMQMessage] in
                var out: [ZMQMessage] = []
                swap(&out, &s.pending)
                return out
            }
            let failures = await socket.send(batch: batch)
            let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>]? in
                s.failures += failures.count
                guard s.pending.isEmpty else { return nil }
                s.sending = false
                defer { s.idleWaiters = [] }
                return s.idleWaiters
            }
            guard let waiters else { continue }
            for w in waiters { w.resume() }
            return
        }
    }
}
