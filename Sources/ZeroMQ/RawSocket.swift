import CZeroMQ

/// The libzmq socket handle and the calls on it. Not thread-safe and not Sendable: exactly one owner
/// (a `ZMQSocket` value, or the poll thread of a `ZMQPollLoop`) uses it at a time.
final class RawSocket {
    private(set) var handle: UnsafeMutableRawPointer?
    let type: SocketType
    /// Keeps the context alive until this socket is closed (so `zmq_ctx_term` can never wait on it).
    let context: ZMQContext
    /// Messages with more frames than this are discarded on receive (counted in `discardedMessages`),
    /// or delivered cut to `maxFrames` frames with `isTruncated` set when `keepsTruncated` is on.
    var maxFrames: Int = 64
    var keepsTruncated = false
    private(set) var discardedMessages = 0
    /// Read the ZAP `User-Id` property of each received message into `ZMQMessage.userID`.
    var readsUserID = false
    /// One reusable receive buffer; `zmq_msg_t` must not be moved or copied, so it lives on the heap.
    private let msg: UnsafeMutablePointer<zmq_msg_t>

    init(context: ZMQContext, type: SocketType, linger: Int) throws(ZMQError) {
        guard let h = zmq_socket(context.handle, type.rawValue) else {
            throw ZMQError.last("zmq_socket \(type)")
        }
        var l = Int32(clamping: linger)
        // Linger is always explicit: libzmq's default (-1) would make context termination hang.
        zmq_setsockopt(h, ZMQ_LINGER, &l, MemoryLayout<Int32>.size)
        handle = h
        self.type = type
        self.context = context
        msg = .allocate(capacity: 1)
        zmq_msg_init(msg)
    }

    deinit {
        close()
        zmq_msg_close(msg)
        msg.deallocate()
    }

    var isClosed: Bool { handle == nil }

    func close() {
        guard let h = handle else { return }
        handle = nil
        zmq_close(h)
    }

    private func open(_ operation: @autoclosure () -> String) throws(ZMQError) -> UnsafeMutableRawPointer {
        guard let h = handle else { throw ZMQError.closed(operation()) }
        return h
    }

    func bind(_ endpoint: String) throws(ZMQError) {
        let h = try open("bind \(endpoint)")
        if zmq_bind(h, endpoint) != 0 { throw ZMQError.last("bind \(endpoint)") }
    }

    func connect(_ endpoint: String) throws(ZMQError) {
        let h = try open("connect \(endpoint)")
        if zmq_connect(h, endpoint) != 0 { throw ZMQError.last("connect \(endpoint)") }
    }

    func unbind(_ endpoint: String) throws(ZMQError) {
        let h = try open("unbind \(endpoint)")
        if zmq_unbind(h, endpoint) != 0 { throw ZMQError.last("unbind \(endpoint)") }
    }

    func disconnect(_ endpoint: String) throws(ZMQError) {
        let h = try open("disconnect \(endpoint)")
        if zmq_disconnect(h, endpoint) != 0 { throw ZMQError.last("disconnect \(endpoint)") }
    }

    func set(_ option: SocketOption) throws(ZMQError) {
        let (name, code, value) = option.encoded
        let h = try open("set \(name)")
        let rc: Int32
        switch value {
        case .int(var v): rc = zmq_setsockopt(h, code, &v, MemoryLayout<Int32>.size)
        case .int64(var v): rc = zmq_setsockopt(h, code, &v, MemoryLayout<Int64>.size)
        case .bytes(let b) where b.isEmpty:
            // An empty Swift array has no base address; libzmq needs a valid pointer even for size 0
            // (e.g. `subscribe([])` = everything, an empty ZAP domain).
            var zero: UInt8 = 0
            rc = zmq_setsockopt(h, code, &zero, 0)
        case .bytes(let b): rc = b.withUnsafeBytes { zmq_setsockopt(h, code, $0.baseAddress, $0.count) }
        }
        if rc != 0 { throw ZMQError.last("set \(name)") }
    }

    func getInt32(_ code: Int32, _ name: String) throws(ZMQError) -> Int32 {
        let h = try open("get \(name)")
        var v: Int32 = 0
        var size = MemoryLayout<Int32>.size
        if zmq_getsockopt(h, code, &v, &size) != 0 { throw ZMQError.last("get \(name)") }
        return v
    }

    func getBytes(_ code: Int32, _ name: String, capacity: Int = 256) throws(ZMQError) -> [UInt8] {
        let h = try open("get \(name)")
        var buffer = [UInt8](repeating: 0, count: capacity)
        var size = capacity
        let rc = buffer.withUnsafeMutableBytes { zmq_getsockopt(h, code, $0.baseAddress, &size) }
        if rc != 0 { throw ZMQError.last("get \(name)") }
        return Array(buffer.prefix(size))
    }

    /// Sends all frames as one message. Returns 0 or the errno; with `dontWait` a full queue is `EAGAIN`
    /// and then nothing was sent (libzmq accepts the remaining frames once the first one is accepted).
    func send(_ message: borrowing ZMQMessage, dontWait: Bool) -> Int32 {
        guard let h = handle else { return ZMQError.closed }
        let base: Int32 = dontWait ? ZMQ_DONTWAIT : 0
        return message.frames.withUnsafeBufferPointer { frames -> Int32 in
            if frames.isEmpty { return ZMQError.invalidArgument }
            let last = frames.count - 1
            for i in 0...last {
                let flags = i < last ? base | ZMQ_SNDMORE : base
                let rc = frames[i].withUnsafeBytes { czmq_send_frame(h, $0.baseAddress, $0.count, flags) }
                if rc != 0 { return rc }
            }
            return 0
        }
    }

    /// Receives one whole message. Returns (0, message), or (errno, nil); `EAGAIN` with `dontWait` when
    /// nothing is queued. Messages over `maxFrames` frames are drained and discarded: (0, nil).
    func receive(dontWait: Bool) -> (Int32, ZMQMessage?) {
        guard let h = handle else { return (ZMQError.closed, nil) }
        var more: Int32 = 0
        let rc = czmq_recv_frame(h, msg, dontWait ? ZMQ_DONTWAIT : 0, &more)
        if rc != 0 { return (rc, nil) }
        var userID = readsUserID ? readUserID() : nil
        // Hot path: a single-frame message costs exactly two allocations (frame + frame list).
        if more == 0 {
            var message = ZMQMessage([copyFrame()])
            message.userID = userID
            return (0, message)
        }
        var frames: [[UInt8]] = []
        frames.reserveCapacity(4)
        frames.append(copyFrame())
        while more != 0 {
            // Once the first frame arrived the rest are already queued (atomic delivery): only EINTR
            // can interrupt here, so retry without blocking.
            let rc = czmq_recv_frame(h, msg, ZMQ_DONTWAIT, &more)
            if rc == EINTR || rc == EAGAIN { more = 1; continue }
            if rc != 0 { return (rc, nil) }
            // A ROUTER's routing-id frame is made locally and carries no metadata; the peer's frames do.
            if readsUserID && userID == nil { userID = readUserID() }
            if frames.count < maxFrames {
                frames.append(copyFrame())
            } else if frames.count == maxFrames {
                frames.append([])  // marker: over the limit; keep draining
            }
        }
        var truncated = false
        if frames.count > maxFrames {
            discardedMessages += 1
            guard keepsTruncated else { return (0, nil) }
            frames.removeLast()
            truncated = true
        }
        var message = ZMQMessage(frames)
        message.userID = userID
        message.isTruncated = truncated
        return (0, message)
    }

    /// Receives one whole message into `batch` (the poll thread's path: no allocation per message).
    /// Returns 0 when a message was appended or discarded (over `maxFrames`), else the errno (`EAGAIN`
    /// with `dontWait` when nothing is queued); nothing is appended then.
    func receive(into batch: inout ReceivedBatch, dontWait: Bool) -> Int32 {
        guard let h = handle else { return ZMQError.closed }
        var more: Int32 = 0
        let rc = czmq_recv_frame(h, msg, dontWait ? ZMQ_DONTWAIT : 0, &more)
        if rc != 0 { return rc }
        var userID = readsUserID ? readUserID() : nil
        let mark = batch.mark
        batch.appendFrame(msg)
        var frameCount = 1
        while more != 0 {
            // As in `receive(dontWait:)`: the remaining frames are already queued.
            let rc = czmq_recv_frame(h, msg, ZMQ_DONTWAIT, &more)
            if rc == EINTR || rc == EAGAIN { more = 1; continue }
            if rc != 0 { batch.rollBack(to: mark); return rc }
            if readsUserID && userID == nil { userID = readUserID() }
            frameCount += 1
            if frameCount <= maxFrames { batch.appendFrame(msg) }
        }
        if frameCount > maxFrames {
            discardedMessages += 1
            guard keepsTruncated else { batch.rollBack(to: mark); return 0 }
        }
        batch.endMessage(userID: userID, truncated: frameCount > maxFrames)
        return 0
    }

    private func readUserID() -> String? {
        zmq_msg_gets(msg, "User-Id").map { String(cString: $0) }
    }

    /// Copies the current frame out of `msg` (one allocation, one memcpy).
    ///
    /// `Array(UnsafeRawBufferPointer)` on purpose: `[UInt8](unsafeUninitializedCapacity:)` goes through
    /// an unspecialised stdlib entry that looks up generic metadata on every call (~3 % of the receive
    /// thread's CPU in the 100-byte benchmark profile).
    @inline(__always)
    private func copyFrame() -> [UInt8] {
        let size = zmq_msg_size(msg)
        guard size > 0, let data = zmq_msg_data(msg) else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: size))
    }

    /// `zmq_poll` on this socket alone. Returns the ready events (ZMQ_POLLIN/POLLOUT), 0 on timeout.
    func poll(events: Int16, timeoutMilliseconds: Int) throws(ZMQError) -> Int16 {
        let h = try open("poll")
        var item = zmq_pollitem_t(socket: h, fd: 0, events: events, revents: 0)
        while true {
            let rc = zmq_poll(&item, 1, timeoutMilliseconds)
            if rc >= 0 { return item.revents }
            let code = czmq_errno()
            if code != EINTR { throw ZMQError(code: code, operation: "poll") }
        }
    }
}
