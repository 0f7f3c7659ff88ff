import AbmWire
import CampaignCore

import ZeroMQ

/// A synchronous client of one server: ingress and control DEALERs (connected on first use) and SUBs
/// for events. Used by the CLI commands and by `abm demo` (the same code path as `abm lead`).
public final class AbmClient {
    public let endpoints: AbmEndpoints
    public let context: ZMQContext
    /// How long a request waits for its reply.
    public var timeoutMilliseconds: Int
    /// CURVE keys for a server that requires them; nil: plaintext.
    public let curve: ClientCurve?
    private var ingressChannel: RequestChannel?
    private var controlChannel: RequestChannel?

    public init(endpoints: AbmEndpoints, timeoutMilliseconds: Int = 5000, context: ZMQContext? = nil,
                curve: ClientCurve? = nil) throws(AbmError) {
        self.endpoints = endpoints
        self.curve = curve
        self.timeoutMilliseconds = timeoutMilliseconds
        if let context {
            self.context = context
        } else {
            do { self.context = try ZMQContext() } catch { throw .transport("cannot create a ZeroMQ context: \(error)") }
        }
    }

    public func ingress() throws(AbmError) -> RequestChannel {
        if let ingressChannel { return ingressChannel }
        let channel = try RequestChannel(context: context, endpoint: endpoints.ingress, curve: curve)
        ingressChannel = channel
        return channel
    }

    public func control() throws(AbmError) -> RequestChannel {
        if let controlChannel { return controlChannel }
        let channel = try RequestChannel(context: context, endpoint: endpoints.control, curve: curve)
        controlChannel = channel
        return channel
    }

    /// Sends an ingress request (`lead`, `response`) and returns its ack, whatever its status.
    public func send(ingress request: JSONValue) throws(AbmError) -> JSONValue {
        try ingress().request(request, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Sends a control command and returns its reply, whatever `ok` says.
    public func send(control request: JSONValue) throws(AbmError) -> JSONValue {
        try control().request(request, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// A lead; throws on a `rejected` ack.
    @discardableResult
    public func lead(_ lead: JSONValue, id: String? = nil) throws(AbmError) -> JSONValue {
        let ack = try send(ingress: Requests.lead(fromUser: lead, id: id))
        try Replies.checkAck(ack)
        return ack
    }

    /// A response; throws on a `rejected` ack.
    @discardableResult
    public func respond(_ response: JSONValue, id: String? = nil) throws(AbmError) -> JSONValue {
        let ack = try send(ingress: Requests.response(fromUser: response, id: id))
        try Replies.checkAck(ack)
        return ack
    }

    /// A control command; throws on `ok:false`.
    @discardableResult
    public func command(_ request: JSONValue) throws(AbmError) -> JSONValue {
        let reply = try send(control: request)
        try Replies.checkReply(reply)
        return reply
    }

    /// One page of the event log.
    public func events(after: Int64, limit: Int = 1000) throws(AbmError) -> EventPage {
        let reply = try command(Requests.events(afterSeq: after, limit: limit))
        guard let events = reply["events"]?.arrayValue else { throw .badReply("an events reply without events") }
        let lastSeq: Int64
        switch reply["last_seq"] {
        case .int(let n)?: lastSeq = n
        default: lastSeq = events.last.flatMap { EventTail.seq(of: $0) } ?? after
        }
        return EventPage(events: events, lastSeq: lastSeq)
    }

    /// The whole log after `after`, paged.
    public func replay(after: Int64 = 0) throws(AbmError) -> [JSONValue] {
        var all: [JSONValue] = []
        var position = after
        while true {
            let page = try events(after: position, limit: 1000)
            for event in page.events { if let seq = EventTail.seq(of: event), seq > position { all.append(event); position = seq } }
            if page.events.count < 1000 || position >= page.lastSeq { return all }
        }
    }

    /// Advances the virtual clock; returns the new `now` as the server wrote it.
    @discardableResult
    public func advanceClock(seconds: Double) throws(AbmError) -> String {
        let reply = try command(Requests.clockAdvance(seconds: seconds))
        return reply["now"]?.stringValue ?? ""
    }

    /// A SUB on the events endpoint, subscribed to `prefixes` (everything when empty).
    public func subscriber(prefixes: [String] = [""]) throws(AbmError) -> EventSubscriber {
        try EventSubscriber(context: context, endpoint: endpoints.events, prefixes: prefixes, curve: curve)
    }
}

/// A SUB socket on the events endpoint: receives `[topic][body]` and parses the body.
public final class EventSubscriber {
    public let endpoint: String
    private let socket: ZMQSocket

    public init(context: ZMQContext, endpoint: String, prefixes: [String] = [""], curve: ClientCurve? = nil) throws(AbmError) {
        self.endpoint = endpoint
        do {
            socket = try ZMQSocket(context, type: .sub, options: [.receiveHighWaterMark(0)] + (curve?.socketOptions ?? [])
                                   + (prefixes.isEmpty ? [""] : prefixes).map { SocketOption.subscribe($0) })
            try socket.connect(endpoint)
        } catch {
            throw .transport("cannot subscribe to \(endpoint): \(error)")
        }
    }

    /// The next event (topic, body bytes), or nil after `timeoutMilliseconds` (-1 = wait forever).
    public func receiveRaw(timeoutMilliseconds: Int) throws(AbmError) -> (topic: String, body: [UInt8])? {
        do {
            let message: ZMQMessage?
            if timeoutMilliseconds < 0 { message = try socket.receive() } else {
                message = try socket.receive(timeoutMilliseconds: timeoutMilliseconds)
            }
            guard let message else { return nil }
            guard message.count == 2 else { throw AbmError.badReply("an event of \(message.count) frames, not [topic][body]") }
            return (String(decoding: message[0], as: UTF8.self), message[1])
        } catch let error as AbmError {
            throw error
        } catch {
            throw .transport("receive from \(endpoint): \(error)")
        }
    }

    /// The next event parsed, or nil on timeout.
    public func receive(timeoutMilliseconds: Int) throws(AbmError) -> JSONValue? {
        guard let (_, body) = try receiveRaw(timeoutMilliseconds: timeoutMilliseconds) else { return nil }
        do { return try JSONParser.parse(body) } catch { throw .badReply("an event body that is not JSON: \(error)") }
    }
}
