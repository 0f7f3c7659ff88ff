import AbmWire
import NIOConcurrencyHelpers
import ZeroMQ

/// Collects outbound messages from many concurrent request tasks and sends them with one
/// `trySend(batch:)` per round: one hand-off to the poll thread for many acks under load, one for a single
/// ack when idle (no added latency: a round starts as soon as the first message is queued).
///
/// A round never waits for a peer that does not read. Its replies fill its ROUTER pipe up to the send
/// high-water mark; past that libzmq refuses them (`EAGAIN`) and they are dropped here and counted, and
/// the peer is marked *blocked* until a later reply to it is accepted again. Waiting instead would hold
/// every other peer's reply behind it (head-of-line) and queue its replies without bound. A dropped ack
/// is an ack the client did not read: it resends the same id and gets `duplicate` (protocol §10).
final class BatchingSender: Sendable {
    private struct State {
        var pending: [ZMQMessage] = []
        var sending = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
        var failures = 0
        var dropped = 0
        /// Peers whose last reply was refused for a full pipe (at most `maxBlocked`).
        var blocked: Set<[UInt8]> = []
        /// Set by `abandon()`: later messages are dropped.
        var abandoned = false
        var abandonedCount = 0
    }

    /// Bounds the blocked set (routing ids of peers that may have left): a peer forgotten here is simply
    /// served again until its pipe is found full again.
    static let maxBlocked = 1024

    private let socket: AsyncZMQSocket
    private let state = NIOLockedValueBox(State())

    init(socket: AsyncZMQSocket) {
        self.socket = socket
    }

    /// Messages libzmq refused for another reason than a full pipe (e.g. `EHOSTUNREACH`: the client
    /// disconnected before its reply).
    var failedSends: Int { state.withLockedValue { $0.failures } }

    /// Replies dropped because the peer's pipe was full (it does not read its replies).
    var droppedForFullPeer: Int { state.withLockedValue { $0.dropped } }

    /// Whether the last reply to `peer` was dropped for a full pipe (and none was accepted since).
    func isBlocked(_ peer: [UInt8]) -> Bool {
        state.withLockedValue { $0.blocked.isEmpty ? false : $0.blocked.contains(peer) }
    }

    /// From now on drops what is queued (a stop past its drain deadline): replies of requests that finish
    /// after it are never sent, so that their producers resend them.
    func abandon() {
        state.withLockedValue { $0.abandoned = true }
    }

    /// Replies dropped by `abandon()`.
    var abandonedReplies: Int { state.withLockedValue { $0.abandonedCount } }

    /// Queues `message`; a send round starts unless one is running (it will pick this one up).
    func enqueue(_ message: ZMQMessage) {
        let start = state.withLockedValue { s -> Bool in
            if s.abandoned { s.abandonedCount += 1; return false }
            s.pending.append(message)
            if s.sending { return false }
            s.sending = true
            return true
        }
        if start { Task { await self.sendRounds() } }
    }

    /// Queues several replies at once (a batch's acks): one lock, at most one sending task.
    func enqueue(contentsOf messages: [ZMQMessage]) {
        guard !messages.isEmpty else { return }
        let start = state.withLockedValue { s -> Bool in
            if s.abandoned { s.abandonedCount += messages.count; return false }
            s.pending.append(contentsOf: messages)
            if s.sending { return false }
            s.sending = true
            return true
        }
        if start { Task { await self.sendRounds() } }
    }

    /// Returns once everything queued so far has been handed to libzmq (or refused).
    func flush() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let idle = state.withLockedValue { s -> Bool in
                if !s.sending && s.pending.isEmpty { return true }
                s.idleWaiters.append(c)
                return false
            }
            if idle { c.resume() }
        }
    }

    private func sendRounds() async {
        while true {
            let batch = state.withLockedValue { s -> [ZMQMessage] in
                var out: [ZMQMessage] = []
                swap(&out, &s.pending)
                return out
            }
            let failures = await socket.trySend(batch: batch)
            let waiters = state.withLockedValue { s -> [CheckedContinuation<Void, Never>]? in
                record(failures, of: batch, in: &s)
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

    private func record(_ failures: [SendFailure], of batch: [ZMQMessage], in s: inout State) {
        var failed: Set<Int> = []
        for f in failures {
            let peer = batch[f.index].frames.first ?? []
            if f.error.code == ZMQError.again {
                s.dropped += 1
                if s.blocked.count < Self.maxBlocked { s.blocked.insert(peer) }
            } else {
                s.failures += 1
                s.blocked.remove(peer)
            }
            failed.insert(f.index)
        }
        // A blocked peer whose reply went through reads again (usually the refusal of its next request).
        guard !s.blocked.isEmpty else { return }
        for (i, m) in batch.enumerated() where !failed.contains(i) {
            s.blocked.remove(m.frames.first ?? [])
        }
    }
}
