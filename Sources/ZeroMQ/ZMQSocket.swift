import CZeroMQ

/// A synchronous ZeroMQ socket with exactly one owner.
///
/// `~Copyable` and not `Sendable`: the compiler rejects sharing it between threads; it can only be *moved*
/// (e.g. into a `ZMQPollLoop` with `adopt`). Blocking calls block the calling thread, so use it on a
/// dedicated thread, in a CLI, or with timeouts — never on Swift's cooperative pool for long.
/// The socket is closed when the value is consumed by `close()` or goes out of scope.
public struct ZMQSocket: ~Copyable {
    let raw: RawSocket

    /// Creates a socket of `type` in `context`, with `ZMQ_LINGER` set to `linger` milliseconds
    /// (default 0: pending messages are dropped on close, so closing and termination never wait),
    /// then applies `options` in order.
    public init(
        _ context: ZMQContext, type: SocketType, linger: Int = 0, options: [SocketOption] = []
    ) throws(ZMQError) {
        let raw = try RawSocket(context: context, type: type, linger: linger)
        for option in options { try raw.set(option) }
        self.raw = raw
    }

    /// The socket type.
    public var type: SocketType { raw.type }

    /// Messages with more frames than this are discarded on receive (default 64); a cap for bad input.
    public var maxFramesPerMessage: Int {
        get { raw.maxFrames }
        nonmutating set { raw.maxFrames = max(1, newValue) }
    }

    /// Whether a message over `maxFramesPerMessage` is delivered with its first frames and
    /// `ZMQMessage.isTruncated` set (so a ROUTER can still answer its sender), instead of being discarded
    /// (default off). Either way it counts in `discardedMessages`.
    public var keepsTruncatedMessages: Bool {
        get { raw.keepsTruncated }
        nonmutating set { raw.keepsTruncated = newValue }
    }

    /// Whether received messages carry the sender's ZAP `User-Id` in `ZMQMessage.userID` (default off).
    /// Kept when the socket is adopted by a `ZMQPollLoop`.
    public var readsUserID: Bool {
        get { raw.readsUserID }
        nonmutating set { raw.readsUserID = newValue }
    }

    /// How many received messages were discarded (or truncated) for exceeding `maxFramesPerMessage`.
    public var discardedMessages: Int { raw.discardedMessages }

    /// Binds to `endpoint` (`tcp://127.0.0.1:*` picks a free port; read it back with `lastEndpoint`).
    public func bind(_ endpoint: String) throws(ZMQError) { try raw.bind(endpoint) }
    /// Connects to `endpoint` (asynchronously in libzmq: this returns before the connection is up).
    public func connect(_ endpoint: String) throws(ZMQError) { try raw.connect(endpoint) }
    public func unbind(_ endpoint: String) throws(ZMQError) { try raw.unbind(endpoint) }
    public func disconnect(_ endpoint: String) throws(ZMQError) { try raw.disconnect(endpoint) }

    /// Sets one option (see `SocketOption`).
    public func set(_ option: SocketOption) throws(ZMQError) { try raw.set(option) }

    /// The endpoint last bound or connected, with the real port for a wildcard bind (`ZMQ_LAST_ENDPOINT`).
    public var lastEndpoint: String {
        get throws(ZMQError) {
            let bytes = try raw.getBytes(ZMQ_LAST_ENDPOINT, "LAST_ENDPOINT")
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// This socket's routing id (`ZMQ_ROUTING_ID`), empty when none was set.
    public var routingID: [UInt8] {
        get throws(ZMQError) { try raw.getBytes(ZMQ_ROUTING_ID, "ROUTING_ID") }
    }

    /// Sends a multipart message, blocking while the queue is full (or until `ZMQ_SNDTIMEO`, then `EAGAIN`).
    public func send(_ message: ZMQMessage) throws(ZMQError) {
        while true {
            let rc = raw.send(message, dontWait: false)
            if rc == 0 { return }
            if rc != EINTR { throw error(rc, "send") }
        }
    }

    /// Sends without blocking. Returns false when the message was not queued because of the high-water
    /// mark (`EAGAIN`); throws any other error (e.g. `EHOSTUNREACH` on a ROUTER with `routerMandatory`).
    public func trySend(_ message: ZMQMessage) throws(ZMQError) -> Bool {
        while true {
            let rc = raw.send(message, dontWait: true)
            if rc == 0 { return true }
            if rc == EAGAIN { return false }
            if rc != EINTR { throw error(rc, "send") }
        }
    }

    /// Receives one multipart message, blocking until one arrives (or until `ZMQ_RCVTIMEO`, then `EAGAIN`).
    public func receive() throws(ZMQError) -> ZMQMessage {
        while true {
            let (rc, message) = raw.receive(dontWait: false)
            if let message { return message }
            if rc != 0 && rc != EINTR { throw error(rc, "receive") }
        }
    }

    /// Receives one message if one is queued, without blocking.
    public func tryReceive() throws(ZMQError) -> ZMQMessage? {
        while true {
            let (rc, message) = raw.receive(dontWait: true)
            if let message { return message }
            if rc == EAGAIN { return nil }
            if rc != 0 && rc != EINTR { throw error(rc, "receive") }
        }
    }

    /// Waits up to `timeoutMilliseconds` for a message; nil on timeout.
    public func receive(timeoutMilliseconds: Int) throws(ZMQError) -> ZMQMessage? {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(timeoutMilliseconds))
        while true {
            if let message = try tryReceive() { return message }
            let left = ContinuousClock.now.duration(to: deadline)
            if left <= .zero { return nil }
            let ms = Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000) + 1
            _ = try raw.poll(events: Int16(ZMQ_POLLIN), timeoutMilliseconds: ms)
        }
    }

    /// Waits up to `timeoutMilliseconds` (-1 = forever) until one of `events` is ready; returns the ready
    /// ones (empty on timeout). `.pollOut` tells whether a send would be accepted without blocking.
    public func poll(events: PollEvents, timeoutMilliseconds: Int) throws(ZMQError) -> PollEvents {
        PollEvents(rawValue: try raw.poll(events: events.rawValue, timeoutMilliseconds: timeoutMilliseconds))
    }

    /// Closes the socket now (pending messages follow `linger`). Consuming: the value cannot be used after.
    public consuming func close() { raw.close() }

    private func error(_ code: Int32, _ operation: String) -> ZMQError {
        code == ZMQError.closed ? ZMQError.closed(operation) : ZMQError(code: code, operation: operation)
    }
}

@available(*, unavailable, message: "a socket has one owner; move it (e.g. into a ZMQPollLoop), do not share it")
extension ZMQSocket: Sendable {}

/// Readiness of a socket for `ZMQSocket.poll`.
public struct PollEvents: OptionSet, Sendable, Hashable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }
    /// A message can be received.
    public static let pollIn = PollEvents(rawValue: Int16(ZMQ_POLLIN))
    /// A message can be sent without blocking.
    public static let pollOut = PollEvents(rawValue: Int16(ZMQ_POLLOUT))
}
