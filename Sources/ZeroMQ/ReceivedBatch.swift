import CZeroMQ

/// Messages received by a poll thread for one hand-off to the consumer, packed.
///
/// Small frames are copied back to back into one byte slab, so receiving makes no allocation per
/// message on the poll thread (the slab's storage is reused from batch to batch). The consumer makes
/// each `ZMQMessage` on its own thread when it takes it: the frame arrays are then allocated and freed
/// by the same thread, which malloc serves from its per-thread cache. Before this, the poll thread
/// allocated two arrays per message and the consumer freed them, and the cross-thread frees made
/// malloc/free about 12 % of the 100-byte async profile.
///
/// Large frames are copied into their own `[UInt8]` at once (one copy instead of two).
struct ReceivedBatch: Sendable {
    /// Frames up to this size go into `bytes`; larger ones into `large`.
    static let smallFrameLimit = 1024

    /// Where one frame's bytes are: `bytes[start..<start + count]`, or `large[start]` when count < 0.
    struct Span: Sendable {
        var start: Int
        var count: Int
    }

    /// The bytes of all small frames, back to back.
    private(set) var bytes: [UInt8] = []
    /// Every frame of every message, in order.
    private(set) var spans: [Span] = []
    /// Per message: the index in `spans` just past its last frame.
    private(set) var ends: [Int] = []
    /// Frames over `smallFrameLimit`.
    private(set) var large: [[UInt8]] = []
    /// ZAP User-Ids by message index (only sockets with `readsUserID`; usually empty).
    private(set) var userIDs: [Int: String] = [:]
    /// Indices of messages cut at the frame limit (usually empty).
    private(set) var truncated: Set<Int> = []

    /// The number of complete messages.
    var count: Int { ends.count }
    var isEmpty: Bool { ends.isEmpty }

    /// Empties the batch, keeping its storage for the next one.
    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        spans.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        if !large.isEmpty { large.removeAll() }
        if !userIDs.isEmpty { userIDs.removeAll() }
        if !truncated.isEmpty { truncated.removeAll() }
    }

    // MARK: poll-thread side

    /// The position to roll back to if the message being received is abandoned.
    struct Mark {
        let bytes: Int
        let spans: Int
        let large: Int
    }

    var mark: Mark { Mark(bytes: bytes.count, spans: spans.count, large: large.count) }

    /// Drops the frames appended since `mark` (a message over the frame limit, or a receive error).
    mutating func rollBack(to mark: Mark) {
        bytes.removeSubrange(mark.bytes...)
        spans.removeSubrange(mark.spans...)
        large.removeSubrange(mark.large...)
    }

    /// Appends the frame held by `msg` (copied; `msg` stays usable for the next receive).
    mutating func appendFrame(_ msg: UnsafeMutablePointer<zmq_msg_t>) {
        let size = zmq_msg_size(msg)
        guard size > 0, let data = zmq_msg_data(msg) else {
            spans.append(Span(start: 0, count: 0))
            return
        }
        let frame = UnsafeRawBufferPointer(start: data, count: size)
        if size <= Self.smallFrameLimit {
            spans.append(Span(start: bytes.count, count: size))
            bytes.append(contentsOf: frame)
        } else {
            spans.append(Span(start: large.count, count: -1))
            large.append(Array(frame))
        }
    }

    /// Closes the message whose frames were appended since the previous one.
    mutating func endMessage(userID: String?, truncated isTruncated: Bool = false) {
        if let userID { userIDs[ends.count] = userID }
        if isTruncated { truncated.insert(ends.count) }
        ends.append(spans.count)
    }

    // MARK: consumer side

    /// Builds message `index` (its frames copied into fresh arrays owned by the caller).
    func message(_ index: Int) -> ZMQMessage {
        let first = index == 0 ? 0 : ends[index - 1]
        let end = ends[index]
        var message: ZMQMessage
        // Array literals for the common shapes (one frame; ROUTER envelopes of two or three): they
        // allocate through a specialised path, unlike `reserveCapacity` on `[[UInt8]]`.
        switch end - first {
        case 1: message = ZMQMessage([frame(first)])
        case 2: message = ZMQMessage([frame(first), frame(first + 1)])
        case 3: message = ZMQMessage([frame(first), frame(first + 1), frame(first + 2)])
        default:
            var frames: [[UInt8]] = []
            frames.reserveCapacity(end - first)
            for k in first..<end { frames.append(frame(k)) }
            message = ZMQMessage(frames)
        }
        if !userIDs.isEmpty { message.userID = userIDs[index] }
        if !truncated.isEmpty { message.isTruncated = truncated.contains(index) }
        return message
    }

    private func frame(_ k: Int) -> [UInt8] {
        let span = spans[k]
        if span.count < 0 { return large[span.start] }
        if span.count == 0 { return [] }
        // Array(UnsafeRawBufferPointer) is specialised; `[UInt8](unsafeUninitializedCapacity:)` looks up
        // generic metadata at run time on every call.
        return bytes.withUnsafeBytes { Array(UnsafeRawBufferPointer(rebasing: $0[span.start..<span.start + span.count])) }
    }
}
