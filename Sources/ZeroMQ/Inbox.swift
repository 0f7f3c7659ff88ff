import Synchronization

/// The bounded hand-off between a poll thread (producer) and one consuming task, for one socket.
///
/// The poll thread never puts more than `capacity` messages in `buffer`; when it is full the thread stops
/// polling `POLLIN` on the socket (`pausedByLoop`), so libzmq's RCVHWM and then TCP push back on peers.
/// The consumer takes the whole buffer at once (one lock per batch, not per message) and wakes the loop
/// when it un-pauses the socket. Memory is bounded by 2 × capacity messages (buffer + consumer's batch).
final class Inbox: Sendable {
    struct State {
        var buffer: [ZMQMessage] = []
        var waiter: UnsafeContinuation<Result<[ZMQMessage]?, ZMQError>, Never>?
        var waiterToken: UInt64 = 0
        var cancelledToken: UInt64 = 0
        var nextToken: UInt64 = 0
        var pausedByLoop = false
        var finished = false
        var failure: ZMQError?
        /// Peak `buffer.count`, for tests and metrics.
        var highWater = 0
    }

    let capacity: Int
    let state = Mutex(State())
    /// Wakes the poll loop (after un-pausing), set by the loop that owns the socket.
    let wake: @Sendable () -> Void

    init(capacity: Int, wake: @escaping @Sendable () -> Void) {
        self.capacity = max(1, capacity)
        self.wake = wake
    }

    // MARK: poll-thread side

    /// Appends `batch` (emptied); returns the room left. Zero room means the loop must stop polling input.
    func deliver(_ batch: inout [ZMQMessage]) -> Int {
        let (waiter, handed, room): (UnsafeContinuation<Result<[ZMQMessage]?, ZMQError>, Never>?, [ZMQMessage], Int) =
            state.withLock { s in
                // An empty buffer holds storage recycled by the consumer: trade it for the batch (no copy,
                // and the loop's next batch reuses that capacity). Otherwise append and keep the capacity.
                if s.buffer.isEmpty && s.buffer.capacity >= batch.count {
                    swap(&s.buffer, &batch)
                } else {
                    s.buffer.append(contentsOf: batch)
                    batch.removeAll(keepingCapacity: true)
                }
                s.highWater = max(s.highWater, s.buffer.count)
                if let w = s.waiter {
                    s.waiter = nil
                    var out: [ZMQMessage] = []
                    swap(&out, &s.buffer)
                    return (w, out, capacity)
                }
                let room = capacity - s.buffer.count
                if room <= 0 { s.pausedByLoop = true }
                return (nil, [], room)
            }
        waiter?.resume(returning: .success(handed))
        return room
    }

    /// Whether the consumer has drained the buffer since the loop paused; returns the room if so.
    func roomIfResumed() -> Int? {
        state.withLock { s in s.pausedByLoop ? nil : capacity - s.buffer.count }
    }

    /// Ends the sequence: the consumer gets what is buffered, then nil (or `failure`).
    func finish(failure: ZMQError? = nil) {
        let waiter = state.withLock { s -> UnsafeContinuation<Result<[ZMQMessage]?, ZMQError>, Never>? in
            guard !s.finished else { return nil }
            s.finished = true
            s.failure = failure
            defer { s.waiter = nil }
            return s.waiter
        }
        if let failure { waiter?.resume(returning: .failure(failure)) } else { waiter?.resume(returning: .success(nil)) }
    }

    var peakBuffered: Int { state.withLock { $0.highWater } }
    var buffered: Int { state.withLock { $0.buffer.count } }

    // MARK: consumer side

    private enum Take {
        case batch([ZMQMessage], wake: Bool)
        case end(ZMQError?)
        case wait
    }

    /// The next batch (never empty), nil at the end; suspends while nothing is buffered.
    /// `recycled` is the consumer's emptied previous batch: its storage becomes the new buffer.
    func next(isolation: isolated (any Actor)?, recycling recycled: inout [ZMQMessage]) async throws(ZMQError) -> [ZMQMessage]? {
        // Move (not copy) the storage, so the buffer stays uniquely referenced (no copy-on-write).
        var spare: [ZMQMessage] = []
        swap(&spare, &recycled)
        let taken: Take = state.withLock { s in
            if !s.buffer.isEmpty {
                var out: [ZMQMessage] = []
                swap(&out, &spare)
                swap(&out, &s.buffer)
                let wake = s.pausedByLoop
                s.pausedByLoop = false
                return .batch(out, wake: wake)
            }
            if s.finished {
                let f = s.failure
                s.failure = nil
                return .end(f)
            }
            return .wait
        }
        switch taken {
        case .batch(let out, let wake):
            if wake { self.wake() }
            return out
        case .end(let failure):
            if let failure { throw failure }
            return nil
        case .wait:
            break
        }
        let box = SpareStorage(spare)
        spare = []
        let token = state.withLock { s in s.nextToken += 1; return s.nextToken }
        let result = await withTaskCancellationHandler {
            await withUnsafeContinuation(isolation: isolation) { (c: UnsafeContinuation<Result<[ZMQMessage]?, ZMQError>, Never>) in
                var wakeLoop = false
                let immediate: Result<[ZMQMessage]?, ZMQError>? = state.withLock { s in
                    if s.cancelledToken == token { return .success(nil) }
                    if !s.buffer.isEmpty {
                        var out: [ZMQMessage] = []
                        swap(&out, &s.buffer)
                        wakeLoop = s.pausedByLoop
                        s.pausedByLoop = false
                        return .success(out)
                    }
                    if s.finished {
                        let f = s.failure
                        s.failure = nil
                        return f.map { .failure($0) } ?? .success(nil)
                    }
                    precondition(s.waiter == nil, "ZeroMQ inbound messages: only one consumer may iterate at a time")
                    if s.buffer.capacity < box.storage.capacity { swap(&s.buffer, &box.storage) }
                    s.waiter = c
                    s.waiterToken = token
                    return nil
                }
                if wakeLoop { self.wake() }
                if let immediate { c.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { s -> UnsafeContinuation<Result<[ZMQMessage]?, ZMQError>, Never>? in
                s.cancelledToken = token
                guard s.waiterToken == token, let w = s.waiter else { return nil }
                s.waiter = nil
                return w
            }
            waiter?.resume(returning: .success(nil))
        }
        return try result.get()
    }
}

/// Moves the consumer's empty array storage into the inbox (uniquely referenced: no copy-on-write later).
private final class SpareStorage: @unchecked Sendable {
    // Touched only by the consumer before suspending, under the inbox lock.
    var storage: [ZMQMessage]
    init(_ storage: [ZMQMessage]) { self.storage = storage }
}

/// The inbound messages of an `AsyncZMQSocket`, in arrival order, as an `AsyncSequence` with a bounded
/// buffer. One consumer at a time. Ends (nil) when the socket or its loop is closed, or when the
/// consuming task is cancelled while waiting.
///
/// Implements `next(isolation:)`, so an actor (or the main actor) iterating it does not hop executors
/// per element; messages are handed over in batches internally.
public struct InboundMessages: AsyncSequence, Sendable {
    public typealias Element = ZMQMessage
    public typealias Failure = ZMQError

    /// Keeps the socket open while the sequence (or an iterator) exists.
    let socket: AsyncZMQSocket

    public func makeAsyncIterator() -> Iterator { Iterator(socket: socket) }

    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = ZMQMessage
        public typealias Failure = ZMQError

        let socket: AsyncZMQSocket
        var batch: [ZMQMessage] = []
        var index = 0

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(ZMQError) -> ZMQMessage? {
            if index < batch.count {
                defer { index += 1 }
                return batch[index]
            }
            batch.removeAll(keepingCapacity: true)
            index = 0
            guard let next = try await socket.inbox.next(isolation: actor, recycling: &batch) else { return nil }
            batch = next
            index = 1
            return batch[0]
        }

        public mutating func next() async throws(ZMQError) -> ZMQMessage? {
            try await next(isolation: nil)
        }
    }
}
