/// A multipart ZeroMQ message: one or more frames, delivered atomically (all or none).
///
/// On a ROUTER the first frame(s) are the peer's routing id (added on receive, consumed on send).
public struct ZMQMessage: Sendable, Hashable, ExpressibleByArrayLiteral, CustomStringConvertible {
    /// The frames, in order. Sending an empty message is an error (`EINVAL`).
    public var frames: [[UInt8]]
    /// The ZAP `User-Id` the sender authenticated as (received messages only, when the socket's
    /// `readsUserID` is on and a ZAP handler set one); nil otherwise. Never sent.
    public var userID: String?
    /// The sender sent more frames than the receiving socket keeps (`maxFramesPerMessage`) and the socket
    /// `keepsTruncatedMessages`: `frames` holds only the first ones (so that a ROUTER still has the
    /// routing id to refuse the message). Received messages only; never sent.
    public var isTruncated = false

    public init(_ frames: [[UInt8]]) { self.frames = frames }

    public init(arrayLiteral frames: [UInt8]...) { self.frames = frames }

    /// A message whose frames are the UTF-8 bytes of `strings`.
    public init(strings: [String]) { self.frames = strings.map { Array($0.utf8) } }

    /// A message with `routingID` prepended, for sending through a ROUTER.
    public init(routingID: [UInt8], _ frames: [[UInt8]]) { self.frames = [routingID] + frames }

    public var count: Int { frames.count }

    public subscript(index: Int) -> [UInt8] {
        get { frames[index] }
        set { frames[index] = newValue }
    }

    /// Frame `index` decoded as UTF-8 (invalid sequences repaired), or nil when out of range.
    public func string(at index: Int) -> String? {
        index < frames.count ? String(decoding: frames[index], as: UTF8.self) : nil
    }

    /// Total payload bytes over all frames.
    public var byteCount: Int { frames.reduce(0) { $0 + $1.count } }

    public var description: String {
        "ZMQMessage(" + frames.map { f in
            let printable = f.allSatisfy { $0 >= 0x20 && $0 < 0x7f }
            return printable && f.count <= 64 ? "\"\(String(decoding: f, as: UTF8.self))\"" : "<\(f.count) bytes>"
        }.joined(separator: ", ") + ")"
    }
}
