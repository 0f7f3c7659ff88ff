import CZeroMQ
import Foundation
import NIOConcurrencyHelpers
import Synchronization

/// One OS thread that owns a group of sockets and runs `zmq_poll` over them (level-triggered), woken by
/// an eventfd when a task sends, or a socket is added, closed or resumed.
///
/// Sockets are configured synchronously as `ZMQSocket`s, then moved in with `adopt`, which returns an
/// `AsyncZMQSocket` handle usable from any task. No zmq call ever runs on Swift's cooperative pool.
///
/// Call `shutdown()` when done: it fails pending sends, closes every socket on the loop thread (their
/// linger applies) and stops the thread. Dropping the last reference to the loop (and its sockets) does
/// the same without waiting.
///
/// ```swift
/// let context = try ZMQContext()
/// let loop = try ZMQPollLoop(name: "ingress")
/// let socket = try ZMQSocket(context, type: .router, options: [.routerMandatory(true), .sendHighWaterMark(100_000)])
/// try socket.bind("tcp://127.0.0.1:*")
/// let router = try loop.adopt(socket, inboundCapacity: 4096)
/// for try await request in router.messages {            // [peer, frames…], bounded buffer
///     let failures = await router.send(batch: [ZMQMessage(routingID: request[0], [Array("ACK".utf8)])])
///     …
/// }
/// await loop.shutdown()
/// ```
///
/// One thread serves all sockets of the loop, so put sockets with different load (ingress ROUTER vs
/// event PUB) on separate loops.
public final class ZMQPollLoop: Sendable {
    let core: LoopCore

    /// Starts the loop thread. `name` (first 15 bytes) names the OS thread, as seen by `top -H` and `perf`.
    public init(name: String = "zmq-poll") throws(ZMQError) {
        core = try LoopCore()
        let core = self.core
        let thread = Thread {
            // Foundation's `Thread.name` does not reach the OS thread on Linux; set it from inside.
            czmq_set_thread_name(name)
            core.run()
        }
        thread.start()
    }

    deinit { core.post(.shutdown(nil)) }

    /// Moves `socket` onto the loop thread and returns its async handle.
    ///
    /// - Parameter inboundCapacity: how many received messages may wait for the consumer before the loop
    ///   stops reading the socket (back-pressure). Ignored for types that cannot receive (PUB, PUSH).
    public func adopt(_ socket: consuming ZMQSocket, inboundCapacity: Int = 1024) throws(ZMQError) -> AsyncZMQSocket {
        let raw = socket.raw
        let endpoint = try? socket.lastEndpoint
        let id = core.nextID()
        let inbox = Inbox(capacity: inboundCapacity, wake: { [core] in core.signal() })
        let handle = AsyncZMQSocket(loop: self, id: id, type: raw.type, endpoint: endpoint, inbox: inbox)
        guard core.post(.add(id, Transfer(raw), inbox)) else {
            throw ZMQError.closed("adopt")
        }
        return handle
    }

    /// Fails pending sends, closes all sockets on the loop thread and stops it. Idempotent.
    public func shutdown(isolation: isolated (any Actor)? = #isolation) async {
        await withUnsafeContinuation(isolation: isolation) { (c: UnsafeContinuation<Void, Never>) in
            if !core.post(.shutdown(c)) { c.resume() }
        }
    }
}

/// Moves a non-Sendable value to the loop thread. Safe because the sender gives up its only reference
/// and the command queue's mutex orders the hand-off (libzmq allows migrating a socket with a full fence).
struct Transfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Completion of one `send` or of a whole batch.
final class SendTicket: @unchecked Sendable {
    // Touched only on the loop thread after creation.
    private var remaining: Int
    private var failures: [SendFailure] = []
    private let continuation: UnsafeContinuation<[SendFailure], Never>

    init(count: Int, continuation: UnsafeContinuation<[SendFailure], Never>) {
        remaining = count
        self.continuation = continuation
    }

    func done(_ count: Int = 1) {
        remaining -= count
        if remaining == 0 { continuation.resume(returning: failures) }
    }

    func fail(_ failure: SendFailure) {
        failures.append(failure)
        done()
    }
}

/// Messages waiting in a socket's outbox (a caller's batch, or one re-queued message of it), with the
/// completion of the caller's batch. A class so that the send position advances in place.
final class PendingBatch {
    /// Emptied once all are sent: see `flush`.
    var messages: [ZMQMessage]
    let ticket: SendTicket
    /// Index of `messages[0]` in the caller's batch, for `SendFailure`.
    let baseIndex: Int
    /// The next message to send.
    var next = 0
    /// A message libzmq cannot queue now (`EAGAIN`) fails at once instead of waiting for room.
    let failWhenFull: Bool

    init(_ messages: [ZMQMessage], ticket: SendTicket, baseIndex: Int = 0, failWhenFull: Bool = false) {
        self.messages = messages
        self.ticket = ticket
        self.baseIndex = baseIndex
        self.failWhenFull = failWhenFull
    }
}

/// A message of a batch that libzmq did not accept, with its index in the batch.
public struct SendFailure: Sendable, Hashable, Error {
    public let index: Int
    public let error: ZMQError
}

enum Command: Sendable {
    case add(Int, Transfer<RawSocket>, Inbox)
    case send(Int, [ZMQMessage], SendTicket, failWhenFull: Bool)
    case perform(Int, @Sendable (RawSocket?) -> Void)
    case close(Int, UnsafeContinuation<Void, Never>?)
    case shutdown(UnsafeContinuation<Void, Never>?)
}

/// State shared between tasks and the loop thread: the command queue and the wake-up fd.
final class LoopCore: @unchecked Sendable {
    private struct Queue {
        var commands: [Command] = []
        var stopped = false
    }

    private let queue = NIOLockedValueBox(Queue())
    private let wakeFD: Int32
    private let ids = Atomic<Int>(0)

    init() throws(ZMQError) {
        let fd = czmq_eventfd_create()
        if fd < 0 { throw ZMQError(code: -fd, operation: "eventfd") }
        wakeFD = fd
    }

    deinit { czmq_fd_close(wakeFD) }

    func nextID() -> Int { ids.add(1, ordering: .relaxed).newValue }

    func signal() { czmq_eventfd_signal(wakeFD) }

    /// Queues a command; false when the loop has stopped. Signals the eventfd only when the queue was
    /// empty (the loop drains the whole queue after each wake-up).
    @discardableResult
    func post(_ command: Command) -> Bool {
        let (accepted, wasEmpty) = queue.withLockedValue { q -> (Bool, Bool) in
            if q.stopped { return (false, false) }
            let wasEmpty = q.commands.isEmpty
            q.commands.append(command)
            return (true, wasEmpty)
        }
        if wasEmpty { signal() }
        return accepted
    }

    // MARK: loop thread only

    /// One adopted socket, confined to the loop thread.
    private final class Entry {
        let id: Int
        let raw: RawSocket
        let inbox: Inbox
        let receives: Bool
        var outbox: [PendingBatch] = []
        var outboxHead = 0
        /// Room left in the inbox; 0 = paused (no POLLIN) until the consumer drains it.
        var room: Int
        /// Set when POLLOUT was reported but nothing could be sent (a ROUTER with one full peer reports
        /// POLLOUT while any peer is writable): retry after a short poll timeout instead of spinning.
        var backoff = false
        var batch = ReceivedBatch()

        init(id: Int, raw: RawSocket, inbox: Inbox) {
            self.id = id
            self.raw = raw
            self.inbox = inbox
            self.receives = raw.type.canReceive
            self.room = inbox.capacity
        }

        var hasPending: Bool { outboxHead < outbox.count }
    }

    private static let drainLimit = 256

    func run() {
        var entries: [Entry] = []
        var items: [zmq_pollitem_t] = []
        var shutdownWaiters: [UnsafeContinuation<Void, Never>] = []
        var running = true

        while running {
            // 1. Commands.
            let commands = queue.withLockedValue { q -> [Command] in
                var taken: [Command] = []
                swap(&taken, &q.commands)
                return taken
            }
            for command in commands {
                switch command {
                case .add(let id, let raw, let inbox):
                    let entry = Entry(id: id, raw: raw.value, inbox: inbox)
                    if !entry.receives { inbox.finish() }
                    entries.append(entry)
                case .send(let id, let messages, let ticket, let failWhenFull):
                    guard let entry = entries.first(where: { $0.id == id }) else {
                        for i in messages.indices { ticket.fail(SendFailure(index: i, error: .closed("send"))) }
                        continue
                    }
                    entry.outbox.append(PendingBatch(messages, ticket: ticket, failWhenFull: failWhenFull))
                    flush(entry)
                case .perform(let id, let body):
                    body(entries.first(where: { $0.id == id })?.raw)
                case .close(let id, let done):
                    if let index = entries.firstIndex(where: { $0.id == id }) {
                        close(entries.remove(at: index))
                    }
                    done?.resume()
                case .shutdown(let done):
                    running = false
                    if let done { shutdownWaiters.append(done) }
                }
            }
            if !running { break }

            // 2. Resume sockets whose consumer drained the inbox.
            for entry in entries where entry.receives && entry.room <= 0 {
                if let room = entry.inbox.roomIfResumed() { entry.room = room }
            }

            // 3. Poll.
            items.removeAll(keepingCapacity: true)
            items.append(zmq_pollitem_t(socket: nil, fd: wakeFD, events: Int16(ZMQ_POLLIN), revents: 0))
            var timeout = -1
            for entry in entries {
                var events: Int16 = 0
                if entry.receives && entry.room > 0 { events |= Int16(ZMQ_POLLIN) }
                if entry.hasPending {
                    if entry.backoff { timeout = 1 } else { events |= Int16(ZMQ_POLLOUT) }
                }
                items.append(zmq_pollitem_t(socket: entry.raw.handle, fd: 0, events: events, revents: 0))
            }
            let rc = zmq_poll(&items, Int32(items.count), timeout)
            if rc < 0 {
                let code = czmq_errno()
                if code == EINTR { continue }
                // ETERM or a broken socket set: nothing sensible is left to do on this loop.
                let error = ZMQError(code: code, operation: "zmq_poll")
                for entry in entries { entry.inbox.finish(failure: error) }
                break
            }
            if items[0].revents != 0 { czmq_eventfd_clear(wakeFD) }

            // 4. Service sockets.
            for (i, entry) in entries.enumerated() {
                let revents = items[i + 1].revents
                if entry.hasPending && (entry.backoff || revents & Int16(ZMQ_POLLOUT) != 0) {
                    let progress = flush(entry)
                    entry.backoff = entry.hasPending && !progress
                }
                if revents & Int16(ZMQ_POLLIN) != 0 { drain(entry) }
            }
        }

        // Shutdown: refuse new commands, fail what is queued, close every socket here, on its owner thread.
        let late = queue.withLockedValue { q -> [Command] in
            q.stopped = true
            var taken: [Command] = []
            swap(&taken, &q.commands)
            return taken
        }
        for command in late {
            switch command {
            case .add(_, let raw, let inbox): raw.value.close(); inbox.finish()
            case .send(_, let messages, let ticket, _):
                for i in messages.indices { ticket.fail(SendFailure(index: i, error: .closed("send"))) }
            case .perform(_, let body): body(nil)
            case .close(_, let done): done?.resume()
            case .shutdown(let done): if let done { shutdownWaiters.append(done) }
            }
        }
        for entry in entries { close(entry) }
        entries.removeAll()
        for waiter in shutdownWaiters { waiter.resume() }
    }

    /// Sends queued messages without blocking, in order, until the queue is empty or libzmq says EAGAIN.
    /// On a ROUTER, EAGAIN concerns one peer (its queue is full): that peer's messages stay queued in
    /// order while messages to other peers go on. Messages of a `failWhenFull` batch fail with EAGAIN instead. Returns whether any message was sent or failed.
    @discardableResult
    private func flush(_ entry: Entry) -> Bool {
        let isRouter = entry.raw.type == .router
        var blockedPeers: Set<[UInt8]> = []
        var kept: [PendingBatch] = []
        var progress = false
        var stopped = false
        var b = entry.outboxHead
        while b < entry.outbox.count {
            let batch = entry.outbox[b]
            var accepted = 0
            batch.messages.withUnsafeBufferPointer { messages in
                while batch.next < messages.count {
                    let k = batch.next
                    if !blockedPeers.isEmpty, blockedPeers.contains(messages[k].frames.first ?? []) {
                        kept.append(PendingBatch([messages[k]], ticket: batch.ticket, baseIndex: batch.baseIndex + k,
                                                 failWhenFull: batch.failWhenFull))
                        batch.next += 1
                        continue
                    }
                    let rc = entry.raw.send(messages[k], dontWait: true)
                    if rc == EINTR { continue }
                    if rc == EAGAIN && !batch.failWhenFull {
                        if !isRouter { stopped = true; return }
                        blockedPeers.insert(messages[k].frames.first ?? [])
                        kept.append(PendingBatch([messages[k]], ticket: batch.ticket, baseIndex: batch.baseIndex + k))
                        batch.next += 1
                        continue
                    }
                    batch.next += 1
                    progress = true
                    if rc == 0 {
                        accepted += 1
                    } else {
                        batch.ticket.fail(SendFailure(index: batch.baseIndex + k, error: ZMQError(code: rc, operation: "send")))
                    }
                }
            }
            // Drop the loop's reference before completing: the caller still holds the array until it
            // resumes, so the messages are freed on the caller's thread (which allocated them), not here.
            // Cross-thread frees made malloc a hot spot in the ROUTER request/reply profile.
            if batch.next == batch.messages.count { batch.messages = []; batch.next = 0 }
            // One completion update per batch, not per message.
            if accepted > 0 { batch.ticket.done(accepted) }
            if stopped { break }
            b += 1
        }
        if kept.isEmpty {
            entry.outboxHead = b
            if b == entry.outbox.count {
                entry.outbox.removeAll(keepingCapacity: true)
                entry.outboxHead = 0
            }
        } else {
            kept.append(contentsOf: entry.outbox[b...])
            entry.outbox = kept
            entry.outboxHead = 0
        }
        return progress
    }

    /// Receives up to the inbox's room (and at most `drainLimit`, for fairness) and hands the batch over.
    private func drain(_ entry: Entry) {
        let limit = min(entry.room, Self.drainLimit)
        let raw = entry.raw
        // A local batch (storage recycled by the inbox): no exclusivity check per message.
        var batch = ReceivedBatch()
        swap(&batch, &entry.batch)
        var attempts = 0
        while batch.count < limit && attempts < 4 * Self.drainLimit {
            attempts += 1
            let rc = raw.receive(into: &batch, dontWait: true)
            if rc == EAGAIN { break }
            if rc != 0 && rc != EINTR {
                break  // e.g. EFSM on a REQ/REP misuse; the socket stays polled, the error is not fatal here
            }
        }
        if !batch.isEmpty { entry.room = entry.inbox.deliver(&batch) }
        swap(&batch, &entry.batch)
    }

    private func close(_ entry: Entry) {
        for batch in entry.outbox[entry.outboxHead...] {
            for k in batch.next..<batch.messages.count {
                batch.ticket.fail(SendFailure(index: batch.baseIndex + k, error: .closed("send")))
            }
        }
        entry.outbox.removeAll()
        entry.outboxHead = 0
        entry.raw.close()
        entry.inbox.finish()
    }
}
