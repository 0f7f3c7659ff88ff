import NIOConcurrencyHelpers

/// The bounded hand-off between a poll thread (producer) and one consuming task, for one socket.
///
/// The poll thread delivers `ReceivedBatch`es and never lets more than `capacity` messages wait in
/// `ready`; when it is full the thread stops polling `POLLIN` on the socket (`pausedByLoop`), so libzmq's
/// RCVHWM and then TCP push back on peers. The consumer takes all ready batches at once (one lock per
/// hand-off, not per message), gives its drained batches back for reuse (`spares`), and wakes the loop
/// when it un-pauses the socket. Memory is bounded by 2 × capacity messages (ready + consumer's batches).
final class Inbox: Sendable {
    typealias Handoff = Result<[ReceivedBatch]?, ZMQError>

    struct State {
        var ready: [ReceivedBatch] = []
        /// Messages in `ready`.
        var readyCount = 0
        /// Drained batches whose storage the poll thread reuses (at most `maxSpares`).
        var spares: [ReceivedBatch] = []
        var waiter: UnsafeContinuation<Handoff, Never>?
        var waiterToken: UInt64 = 0
        var cancelledToken: UInt64 = 0
        var nextToken: UInt64 = 0
        var pausedByLoop = false
        var finished = false
        var failure: ZMQError?
        /// Peak `readyCount`, for tests and metrics.
        var highWater = 0

        mutating func takeReady() -> [ReceivedBatch] {
            var out: [ReceivedBatch] = []
            swap(&out, &ready)
            readyCount = 0
            return out
        }
    }

    private static let maxSpares = 4

    let capacity: Int
    let state = NIOLockedValueBox(State())
    /// Wakes the poll loop (after un-pausing), set by the loop that owns the socket.
    let wake: @Sendable () -> Void

    init(capacity: Int, wake: @escaping @Sendable () -> Void) {
        self.capacity = max(1, capacity)
        self.wake = wake
    }

    // MARK: poll-thread side

    /// Hands `batch` over and replaces it with an empty one (recycled storage when there is some).
    /// Returns the room left; zero room means the loop must stop polling input.
    func deliver(_ batch: inout ReceivedBatch) -> Int {
        var delivered = ReceivedBatch()
        swap(&delivered, &batch)
        let (waiter, handed, room): (UnsafeContinuation<Handoff, Never>?, [ReceivedBatch], Int) =
            state.withLockedValue { s in
                if let spare = s.spares.popLast() { batch = spare }
                s.readyCount += delivered.count
                s.ready.append(delivered)
                s.highWater = max(s.highWater, s.readyCount)
                if let w = s.waiter {
                    s.waiter = nil
                    return (w, s.takeReady(), capacity)
                }
                let room = capacity - s.readyCount
                if room <= 0 { s.pausedByLoop = true }
                return (nil, [], room)
            }
        waiter?.resume(returning: .success(handed))
        return room
    }

    /// Whether the consumer has drained the buffer since the loop paused; returns the room if so.
    func roomIfResumed() -> Int? {
        state.withLockedValue { s in s.pausedByLoop ? nil : capacity - s.readyCount }
    }

    /// Ends the sequence: the consumer gets what is buffered, then nil (or `failure`).
    func finish(failure: ZMQError? = nil) {
        let waiter = state.withLockedValue { s -> UnsafeContinuation<Handoff, Never>? in
            guard !s.finished else { return nil }
            s.finished = true
            s.failure = failure
            defer { s.waiter = nil }
            return s.waiter
        }
        if let failure { waiter?.resume(returning: .failure(failure)) } else { waiter?.resume(returning: .success(nil)) }
    }

    var peakBuffered: Int { state.withLockedValue { $0.highWater } }
    var buffered: Int { state.withLockedValue { $0.readyCount } }

    // MARK: consumer side

    private enum Take {
        case batches([ReceivedBatch], wake: Bool)
        case end(ZMQError?)
        case wait
    }

    /// The next batches (at least one message), nil at the end; suspends while nothing is buffered.
    /// `drained` are the consumer's used batches: they are emptied here and their storage reused.
    func next(isolation: isolated (any Actor)?, recycling drained: inout [ReceivedBatch]) async throws(ZMQError) -> [ReceivedBatch]? {
        var spares: [ReceivedBatch] = []
        swap(&spares, &drained)
        // Emptied outside the lock; only a few are kept (the rest is freed here, on the consumer thread).
        if spares.count > Self.maxSpares { spares.removeLast(spares.count - Self.maxSpares) }
        for i in spares.indices { spares[i].removeAll() }
        let taken: Take = state.withLockedValue { s in
            while s.spares.count < Self.maxSpares, let spare = spares.popLast() { s.spares.append(spare) }
            if s.readyCount > 0 {
                let wake = s.pausedByLoop
                s.pausedByLoop = false
                return .batches(s.takeReady(), wake: wake)
            }
            if s.finished {
                let f = s.failure
                s.failure = nil
                return .end(f)
            }
            return .wait
        }
        switch taken {
        case .batches(let out, let wake):
            if wake { self.wake() }
            return out
        case .end(let failure):
            if let failure { throw failure }
            return nil
        case .wait:
            break
        }
        let token = state.withLockedValue { s in s.nextToken += 1; return s.nextToken }
        let result = await withTaskCancellationHandler {
            await withUnsafeContinuation(isolation: isolation) { (c: UnsafeContinuation<Handoff, Never>) in
                var wakeLoop = false
                let immediate: Handoff? = state.withLockedValue { s in
                    if s.cancelledToken == token { return .success(nil) }
                    if s.readyCount > 0 {
                        wakeLoop = s.pausedByLoop
                        s.pausedByLoop = false
                        return .success(s.takeReady())
                    }
                    if s.finished {
                        let f = s.failure
                        s.failure = nil
                        return f.map { .failure($0) } ?? .success(nil)
                    }
                    precondition(s.waiter == nil, "ZeroMQ inbound messages: only one consumer may iterate at a time")
                    s.waiter = c
                    s.waiterToken = token
                    return nil
                }
                if wakeLoop { self.wake() }
                if let immediate { c.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLockedValue { s -> UnsafeContinuation<Handoff, Never>? in
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

/// The messages the consumer holds: the batches of one hand-off and a cursor. `ZMQMessage`s are made
/// here, on the consumer's thread, one at a time.
@usableFromInline
struct ReceivedMessages {
    /// The batch being read.
    private var current = ReceivedBatch()
    private var index = 0
    /// The following batches of the same hand-off, and the drained ones (kept for recycling).
    private var batches: [ReceivedBatch] = []
    private var nextBatch = 0

    @usableFromInline init() {}

    /// The next message, or nil when every batch is drained.
    @usableFromInline
    mutating func next() -> ZMQMessage? {
        while index >= current.count {
            guard nextBatch < batches.count else { return nil }
            // Move the next batch out (no copy of its arrays) and park the drained one in its place.
            swap(&current, &batches[nextBatch])
            nextBatch += 1
            index = 0
        }
        defer { index += 1 }
        return current.message(index)
    }

    /// Starts reading a new hand-off (call once `next()` returned nil).
    mutating func start(_ handoff: [ReceivedBatch]) {
        batches = handoff
        nextBatch = 0
        index = 0
    }

    /// The drained batches (call once `next()` returned nil), for recycling.
    mutating func takeDrained() -> [ReceivedBatch] {
        var out: [ReceivedBatch] = []
        swap(&out, &batches)
        var last = ReceivedBatch()
        swap(&last, &current)
        out.append(last)
        index = 0
        nextBatch = 0
        return out
    }
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

        @usableFromInline let socket: AsyncZMQSocket
        @usableFromInline var pending = ReceivedMessages()

        init(socket: AsyncZMQSocket) { self.socket = socket }

        /// Inlinable so that taking a buffered message is a plain call in the consumer's own loop (no
        /// async call, no executor check); only an exhausted hand-off goes to `refill`.
        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(ZMQError) -> ZMQMessage? {
            if let message = pending.next() { return message }
            return try await refill(isolation: actor)
        }

        @inlinable
        public mutating func next() async throws(ZMQError) -> ZMQMessage? {
            try await next(isolation: nil)
        }

        /// Waits for the next hand-off from the poll thread, giving back the drained batches' storage.
        @usableFromInline
        mutating func refill(isolation actor: isolated (any Actor)?) async throws(ZMQError) -> ZMQMessage? {
            while true {
                var drained = pending.takeDrained()
                guard let handoff = try await socket.inbox.next(isolation: actor, recycling: &drained) else { return nil }
                pending.start(handoff)
                if let message = pending.next() { return message }
            }
        }
    }
}

/// The inbound messages of an `AsyncZMQSocket` as batches: each element holds every message that was
/// waiting when the consumer asked (never empty, at most about twice the inbound capacity), in arrival
/// order. The consumer pays one `await` per batch instead of one per message, and can answer a whole
/// batch with one `send(batch:)`. One consumer at a time, shared with `messages`: use one or the other.
/// Ends (nil) like `messages`.
public struct InboundBatches: AsyncSequence, Sendable {
    public typealias Element = [ZMQMessage]
    public typealias Failure = ZMQError

    /// Keeps the socket open while the sequence (or an iterator) exists.
    let socket: AsyncZMQSocket

    public func makeAsyncIterator() -> Iterator { Iterator(socket: socket) }

    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = [ZMQMessage]
        public typealias Failure = ZMQError

        let socket: AsyncZMQSocket
        var pending = ReceivedMessages()

        init(socket: AsyncZMQSocket) { self.socket = socket }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(ZMQError) -> [ZMQMessage]? {
            while true {
                var drained = pending.takeDrained()
                guard let handoff = try await socket.inbox.next(isolation: actor, recycling: &drained) else { return nil }
                pending.start(handoff)
                var messages: [ZMQMessage] = []
                messages.reserveCapacity(handoff.reduce(0) { $0 + $1.count })
                while let message = pending.next() { messages.append(message) }
                if !messages.isEmpty { return messages }
            }
        }

        public mutating func next() async throws(ZMQError) -> [ZMQMessage]? {
            try await next(isolation: nil)
        }
    }
}
