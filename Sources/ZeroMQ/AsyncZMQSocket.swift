import CZeroMQ

/// A socket owned by a `ZMQPollLoop` thread, usable from any task. Every call is forwarded to the loop
/// thread; no zmq call runs on the caller's thread.
///
/// Inbound messages arrive through `messages` (bounded buffer, one consumer). `send` completes when libzmq
/// accepted the message; a full queue (HWM, `EAGAIN`) makes it wait for `POLLOUT`, never drop.
/// On a ROUTER set `routerMandatory(true)`: otherwise libzmq drops messages to unknown or full peers
/// silently; with it, unknown peers fail with `EHOSTUNREACH` and full peers wait (other peers go on).
///
/// The socket is closed by `close()`, by the loop's `shutdown()`, or when the last handle is released.
public final class AsyncZMQSocket: Sendable {
    /// The loop is retained so that it (and its thread) lives as long as any of its sockets.
    let loop: ZMQPollLoop
    let id: Int
    let inbox: Inbox

    /// The socket type.
    public let type: SocketType
    /// The last endpoint bound or connected before adoption (`ZMQ_LAST_ENDPOINT`), e.g. the real port of
    /// a `tcp://127.0.0.1:*` bind.
    public let endpoint: String?

    init(loop: ZMQPollLoop, id: Int, type: SocketType, endpoint: String?, inbox: Inbox) {
        self.loop = loop
        self.id = id
        self.type = type
        self.endpoint = endpoint
        self.inbox = inbox
    }

    /// Closes the socket on its loop when the last handle (including `messages` iterators) is gone.
    deinit { loop.core.post(.close(id, nil)) }

    /// The received messages, in order. Ends when the socket is closed. One consumer at a time.
    public var messages: InboundMessages { InboundMessages(socket: self) }

    /// The received messages in batches (all that are waiting at each step), in order: one `await` per
    /// batch, for consumers that answer or store many messages at once. Ends when the socket is closed.
    /// One consumer at a time, shared with `messages`.
    public var batches: InboundBatches { InboundBatches(socket: self) }

    /// How many received messages are waiting for the consumer right now (at most the inbound capacity).
    public var bufferedCount: Int { inbox.buffered }
    /// The most messages ever waiting at once (stays ≤ the inbound capacity: the buffer is bounded).
    public var peakBufferedCount: Int { inbox.peakBuffered }
    /// The inbound capacity given to `adopt`.
    public var inboundCapacity: Int { inbox.capacity }

    /// Sends one multipart message; returns when libzmq has accepted it.
    ///
    /// Waits (without blocking any thread) while the socket is at its high-water mark. Throws e.g.
    /// `EHOSTUNREACH` for an unknown peer on a ROUTER with `routerMandatory(true)`, or `closed`.
    public func send(_ message: ZMQMessage, isolation: isolated (any Actor)? = #isolation) async throws(ZMQError) {
        let failures = await submit([message], isolation: isolation)
        if let first = failures.first { throw first.error }
    }

    /// Sends many messages in order with one hand-off and one wake-up: the fast path for acks and events.
    /// Returns when libzmq accepted (or refused) each of them; the refused ones are returned with their
    /// index (e.g. `EHOSTUNREACH` for peers that left). An empty result means all were accepted.
    public func send(batch messages: [ZMQMessage], isolation: isolated (any Actor)? = #isolation) async -> [SendFailure] {
        if messages.isEmpty { return [] }
        return await submit(messages, isolation: isolation)
    }

    /// Like `send(batch:)`, but never waits for room: a message libzmq cannot queue right now fails with
    /// `EAGAIN` (`ZMQError.again`). On a ROUTER with `routerMandatory(true)` that is a peer at its send
    /// high-water mark, i.e. one that does not read: its messages fail while the others' go out, and the
    /// call returns as soon as each message was accepted or refused (no head-of-line blocking).
    public func trySend(batch messages: [ZMQMessage], isolation: isolated (any Actor)? = #isolation) async -> [SendFailure] {
        if messages.isEmpty { return [] }
        return await submit(messages, failWhenFull: true, isolation: isolation)
    }

    private func submit(_ messages: [ZMQMessage], failWhenFull: Bool = false,
                        isolation: isolated (any Actor)?) async -> [SendFailure] {
        await withUnsafeContinuation(isolation: isolation) { (c: UnsafeContinuation<[SendFailure], Never>) in
            let ticket = SendTicket(count: messages.count, continuation: c)
            if !loop.core.post(.send(id, messages, ticket, failWhenFull: failWhenFull)) {
                c.resume(returning: messages.indices.map { SendFailure(index: $0, error: .closed("send")) })
            }
        }
    }

    /// Sets an option on the loop thread (e.g. `.subscribe("topic.")` on a SUB).
    public func set(_ option: SocketOption, isolation: isolated (any Actor)? = #isolation) async throws(ZMQError) {
        try await perform("set", isolation: isolation) { raw throws(ZMQError) in try raw.set(option) }
    }

    /// Binds another endpoint and returns the resolved endpoint (real port for `:*`).
    public func bind(_ endpoint: String, isolation: isolated (any Actor)? = #isolation) async throws(ZMQError) -> String {
        try await perform("bind \(endpoint)", isolation: isolation) { raw throws(ZMQError) in
            try raw.bind(endpoint)
            let bytes = try raw.getBytes(ZMQ_LAST_ENDPOINT, "LAST_ENDPOINT")
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// Unbinds `endpoint` (as bound: the resolved form, a real port rather than `*`). Every connection
    /// accepted on it is closed, because libzmq's listener owns the sessions it accepted. libzmq closes the
    /// listening socket on its I/O thread after this returns, so binding the endpoint again can meet
    /// `EADDRINUSE` for a moment.
    public func unbind(_ endpoint: String, isolation: isolated (any Actor)? = #isolation) async throws(ZMQError) {
        try await perform("unbind \(endpoint)", isolation: isolation) { raw throws(ZMQError) in try raw.unbind(endpoint) }
    }

    /// Connects to another endpoint.
    public func connect(_ endpoint: String, isolation: isolated (any Actor)? = #isolation) async throws(ZMQError) {
        try await perform("connect \(endpoint)", isolation: isolation) { raw throws(ZMQError) in try raw.connect(endpoint) }
    }

    /// Closes the socket on its loop thread: pending sends fail with `closed`, the consumer gets the
    /// messages already buffered and then the end of the sequence. Idempotent.
    public func close(isolation: isolated (any Actor)? = #isolation) async {
        await withUnsafeContinuation(isolation: isolation) { (c: UnsafeContinuation<Void, Never>) in
            if !loop.core.post(.close(id, c)) { c.resume() }
        }
    }

    /// Runs `body` with the raw socket on the loop thread.
    private func perform<T: Sendable>(
        _ operation: String, isolation: isolated (any Actor)?,
        _ body: @escaping @Sendable (RawSocket) throws(ZMQError) -> T
    ) async throws(ZMQError) -> T {
        let result = await withUnsafeContinuation(isolation: isolation) { (c: UnsafeContinuation<Result<T, ZMQError>, Never>) in
            let posted = loop.core.post(.perform(id, { raw in
                guard let raw else { return c.resume(returning: .failure(.closed(operation))) }
                do throws(ZMQError) { c.resume(returning: .success(try body(raw))) } catch { c.resume(returning: .failure(error)) }
            }))
            if !posted { c.resume(returning: .failure(.closed(operation))) }
        }
        return try result.get()
    }
}
