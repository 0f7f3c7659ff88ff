import AbmWire
import CampaignCore

import ZeroMQ

/// A DEALER connected to an ingress or control endpoint: sends `[empty][body]`, reads `[empty][body]`,
/// matches replies to requests by `id` (a pipelining DEALER may get replies in any order).
///
/// Synchronous: use it from one thread (a CLI command, a benchmark producer thread).
public final class RequestChannel {
    public let endpoint: String
    private let socket: ZMQSocket

    /// Connects (asynchronously in libzmq: requests queue until the connection is up).
    /// `highWaterMark` bounds the queues in both directions; keep it above the pipelining window.
    /// With `curve`, the connection is CURVE-encrypted and authenticated (a server that refuses the key
    /// never answers: requests time out).
    public init(context: ZMQContext, endpoint: String, highWaterMark: Int = 10_000,
                curve: ClientCurve? = nil) throws(AbmError) {
        self.endpoint = endpoint
        do {
            socket = try ZMQSocket(context, type: .dealer, options: [
                .sendHighWaterMark(highWaterMark), .receiveHighWaterMark(highWaterMark),
            ] + (curve?.socketOptions ?? []))
            try socket.connect(endpoint)
        } catch {
            throw .transport("cannot connect to \(endpoint): \(error)")
        }
    }

    /// Queues one request body (blocks while the send queue is full).
    public func send(_ body: [UInt8]) throws(AbmError) {
        do { try socket.send(ZMQMessage([[], body])) } catch { throw .transport("send to \(endpoint): \(error)") }
    }

    /// The next reply body, or nil after `timeoutMilliseconds` without one. A reply that is not
    /// `[empty][body]` is a protocol error.
    public func receiveBody(timeoutMilliseconds: Int) throws(AbmError) -> [UInt8]? {
        let message: ZMQMessage?
        do { message = try socket.receive(timeoutMilliseconds: timeoutMilliseconds) } catch {
            throw .transport("receive from \(endpoint): \(error)")
        }
        guard let message else { return nil }
        guard message.count == 2, message[0].isEmpty else {
            throw .badReply("\(endpoint) answered with \(message.count) frames, not [empty][body]")
        }
        return message[1]
    }

    /// Sends `request` and waits up to `timeoutMilliseconds` for the reply with the same `id`; replies
    /// to other ids (earlier, abandoned requests) are skipped.
    public func request(_ request: JSONValue, timeoutMilliseconds: Int) throws(AbmError) -> JSONValue {
        let id = Requests.id(of: request)
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(timeoutMilliseconds))
        func millisecondsLeft() -> Int {
            let left = ContinuousClock.now.duration(to: deadline)
            return max(0, Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
        }
        func timedOut() -> AbmError {
            .timeout("no reply from \(endpoint) within \(timeoutMilliseconds) ms "
                     + "(is the server running? the request may still be applied: resend with --id \(id))")
        }
        // The send is bounded by the deadline too: a DEALER with no usable connection (nothing listening
        // and the queue full, or a CURVE handshake the server refused, which leaves no pipe at all) blocks
        // in a plain send forever.
        let message = ZMQMessage([[], Requests.encode(request)])
        do {
            while try !socket.trySend(message) {
                let ms = millisecondsLeft()
                guard ms > 0 else { throw timedOut() }
                _ = try socket.poll(events: .pollOut, timeoutMilliseconds: ms)
            }
        } catch let error as AbmError {
            throw error
        } catch {
            throw .transport("send to \(endpoint): \(error)")
        }
        while true {
            let ms = millisecondsLeft()
            guard ms > 0, let body = try receiveBody(timeoutMilliseconds: ms) else { throw timedOut() }
            let reply: JSONValue
            do { reply = try JSONParser.parse(body) } catch {
                throw .badReply("\(endpoint) sent a reply that is not JSON: \(error)")
            }
            // A reply with a null id answers a request whose id could not be read: it can only be ours
            // when we have nothing else in flight, which is the case for this one-at-a-time call.
            if reply["id"]?.stringValue == id || reply["id"] == .null { return reply }
        }
    }
}

/// Checks of replies: what a command turns into success or a `AbmError`.
public enum Replies {
    /// An ingress ack: `accepted`/`duplicate` pass, `rejected` throws with the server's code.
    public static func checkAck(_ ack: JSONValue) throws(AbmError) {
        guard ack["type"] == "ack", let status = ack["status"]?.stringValue else {
            throw .badReply("expected an ack, got \(Requests.describe(ack))")
        }
        if status == "rejected" { throw refusal(ack["error"]) }
    }

    /// A control reply: `ok:true` passes, `ok:false` throws with the server's code.
    public static func checkReply(_ reply: JSONValue) throws(AbmError) {
        guard reply["type"] == "reply", case .bool(let ok)? = reply["ok"] else {
            throw .badReply("expected a reply, got \(Requests.describe(reply))")
        }
        if !ok { throw refusal(reply["error"]) }
    }

    static func refusal(_ error: JSONValue?) -> AbmError {
        .refused(code: ErrorCode(error?["code"]?.stringValue ?? "unknown"),
                 message: error?["message"]?.stringValue ?? "refused without a message",
                 field: error?["field"]?.stringValue)
    }
}
