import AbmWire
import CampaignRuntime
import Logging
import NIOConcurrencyHelpers
import ZeroMQ

/// The frames of a request forwarded between nodes (the internal ROUTER of `abm serve --peer`):
/// `[empty][header][body]`, where the header is the kind of request (`i` ingress, `c` control) followed by
/// the forwarder's correlation number in decimal, and `body` the client's request as it arrived. The reply is
/// `[empty][header][reply body]` with the same header. protocols/abm-wire-v1.md "Forwarding between nodes".
enum PeerEnvelope {
    enum Kind: UInt8, Sendable {
        case ingress = 0x69 // "i"
        case control = 0x63 // "c"
    }

    static func header(_ kind: Kind, _ correlation: UInt64) -> [UInt8] {
        [kind.rawValue] + Array(String(correlation).utf8)
    }

    /// The kind and correlation of a header, or nil when it is not one.
    static func parse(_ header: [UInt8]) -> (kind: Kind, correlation: UInt64)? {
        guard let first = header.first, let kind = Kind(rawValue: first), header.count > 1, header.count <= 21,
              let correlation = UInt64(String(decoding: header.dropFirst(), as: UTF8.self)) else { return nil }
        return (kind, correlation)
    }
}

/// What a forwarded request came back with: the owner's reply body, or why there is none.
enum ForwardOutcome: Sendable {
    case reply([UInt8])
    case failed(AbmError)
}

/// Where a forwarded request's outcome arrives: fulfilled once (reply, failure or timeout), awaited once.
typealias ForwardSlot = OneShotValue<ForwardOutcome>

/// Sends requests for shards owned by another node to that node's internal ROUTER and hands back its replies.
///
/// One DEALER per peer endpoint, connected on first use, on a poll loop of its own: requests to one peer leave
/// in the order they were given (`send` is called in arrival order by the gateway), so a client pipelining
/// requests about one account has them applied by the owner in its order. A request not answered within
/// `replyTimeout` fails with `internal` (the owner may be dead or overloaded; nothing is lost: the client resends
/// the same id, which the owner replays or applies once).
final class PeerForwarder: Sendable {
    struct Request: Sendable {
        var endpoint: String
        var kind: PeerEnvelope.Kind
        var body: [UInt8]
        /// How long to wait for the owner's reply.
        var timeout: Duration = PeerForwarder.replyTimeout
    }

    private struct Pending {
        let slot: ForwardSlot
        let endpoint: String
        let sentAt: ContinuousClock.Instant
        let deadline: ContinuousClock.Instant
    }

    private struct State {
        var loop: ZMQPollLoop?
        var links: [String: AsyncZMQSocket] = [:]
        var readers: [String: Task<Void, Never>] = [:]
        var sweeper: Task<Void, Never>?
        var pending: [UInt64: Pending] = [:]
        var next: UInt64 = 1
        var closed = false
    }

    /// How long a forwarded request waits for its owner's reply (the owner commits in milliseconds).
    static let replyTimeout: Duration = .seconds(5)
    /// Requests queued towards one peer at most (its DEALER's high-water mark): past it the peer is taken as
    /// unreachable and requests fail at once instead of queueing.
    static let highWaterMark = 100_000

    private let context: ZMQContext
    private let routes: ShardRoutes
    private let socketOptions: [SocketOption]
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    /// - Parameters:
    ///   - routes: the routing table; connections to endpoints it no longer names are closed.
    ///   - socketOptions: added to every DEALER (CURVE client options when the cluster runs CURVE).
    init(context: ZMQContext, routes: ShardRoutes, socketOptions: [SocketOption] = [], logger: Logger) {
        self.context = context
        self.routes = routes
        self.socketOptions = socketOptions
        self.logger = logger
    }

    /// Sends `requests` (in order per endpoint) and returns one slot per request, in the same order.
    func send(_ requests: [Request]) async -> [ForwardSlot] {
        let slots = requests.map { _ in ForwardSlot() }
        var byEndpoint: [String: [(index: Int, message: ZMQMessage, correlation: UInt64)]] = [:]
        var order: [String] = []
        let now = ContinuousClock.now
        let closed = state.withLockedValue { s -> Bool in
            guard !s.closed else { return true }
            for (i, request) in requests.enumerated() {
                let correlation = s.next
                s.next += 1
                s.pending[correlation] = Pending(slot: slots[i], endpoint: request.endpoint, sentAt: now,
                                                 deadline: now.advanced(by: request.timeout))
                if byEndpoint[request.endpoint] == nil { order.append(request.endpoint) }
                byEndpoint[request.endpoint, default: []].append(
                    (i, ZMQMessage([[], PeerEnvelope.header(request.kind, correlation), request.body]), correlation))
            }
            return false
        }
        if closed {
            for slot in slots { slot.fulfil(.failed(Self.shuttingDown)) }
            return slots
        }
        startSweeper()
        for endpoint in order {
            let batch = byEndpoint[endpoint]!
            func unreachable(_ why: String) -> AbmError {
                AbmError(code: ErrorCode.internal, message:
                    "the node owning this account (\(endpoint)) cannot take it now (\(why)); resend the same id")
            }
            let socket: AsyncZMQSocket
            do { socket = try await link(endpoint) } catch {
                for item in batch { fail(item.correlation, unreachable("\(error)")) }
                continue
            }
            for failure in await socket.trySend(batch: batch.map(\.message)) {
                fail(batch[failure.index].correlation, unreachable("\(failure.error)"))
            }
        }
        return slots
    }

    /// Fails what is waiting and closes the connections.
    func close() async {
        let (links, readers, pending, loop, sweeper) = state.withLockedValue { s in
            s.closed = true
            defer { s.links = [:]; s.readers = [:]; s.pending = [:]; s.loop = nil; s.sweeper = nil }
            return (Array(s.links.values), Array(s.readers.values), Array(s.pending.values), s.loop, s.sweeper)
        }
        sweeper?.cancel()
        for p in pending { p.slot.fulfil(.failed(Self.shuttingDown)) }
        for link in links { await link.close() }
        for reader in readers { await reader.value }
        await loop?.shutdown()
    }

    /// Closes the connections to endpoints not in `keep` with nothing waiting on them.
    private func prune(keeping keep: Set<String>) async {
        let dropped = state.withLockedValue { s -> [(AsyncZMQSocket, Task<Void, Never>?)] in
            let busy = Set(s.pending.values.map(\.endpoint))
            let gone = s.links.keys.filter { !keep.contains($0) && !busy.contains($0) }
            return gone.compactMap { endpoint in
                s.links.removeValue(forKey: endpoint).map { ($0, s.readers.removeValue(forKey: endpoint)) }
            }
        }
        for (link, reader) in dropped {
            await link.close()
            await reader?.value
        }
    }

    // MARK: - Internals

    private static let shuttingDown = AbmError(code: ErrorCode.internal,
                                               message: "shutting_down: this node is stopping; resend the same id")

    private func fail(_ correlation: UInt64, _ error: AbmError) {
        let pending = state.withLockedValue { $0.pending.removeValue(forKey: correlation) }
        pending?.slot.fulfil(.failed(error))
    }

    /// The DEALER to `endpoint`, connected (and its reader started) on first use.
    private func link(_ endpoint: String) async throws -> AsyncZMQSocket {
        if let existing = state.withLockedValue({ $0.links[endpoint] }) { return existing }
        let socket = try ZMQSocket(context, type: .dealer, linger: 0, options: [
            .sendHighWaterMark(Self.highWaterMark), .receiveHighWaterMark(Self.highWaterMark),
            .maxMessageSize(WireLimits.maxMessageBytes + 64),
        ] + socketOptions)
        try socket.connect(endpoint)
        let loop = try state.withLockedValue { s throws -> ZMQPollLoop in
            guard !s.closed else { throw Self.shuttingDown }
            if let loop = s.loop { return loop }
            let loop = try ZMQPollLoop(name: "abm-peer")
            s.loop = loop
            return loop
        }
        let adopted = try loop.adopt(socket, inboundCapacity: 4096)
        let raced = state.withLockedValue { s -> AsyncZMQSocket? in
            if let raced = s.links[endpoint] { return raced }
            s.links[endpoint] = adopted
            s.readers[endpoint] = Task { await self.read(adopted) }
            return nil
        }
        // Two first uses at once: one connection is kept, the other closed.
        if let raced {
            await adopted.close()
            return raced
        }
        return adopted
    }

    /// Hands each reply to its slot. A reply that is not `[empty][header][body]`, or whose request already
    /// timed out, is dropped.
    private func read(_ socket: AsyncZMQSocket) async {
        do {
            for try await batch in socket.batches {
                let replies = batch.compactMap { message -> (UInt64, [UInt8])? in
                    guard message.count == 3, message[0].isEmpty, let (_, correlation) = PeerEnvelope.parse(message[1])
                    else { return nil }
                    return (correlation, message[2])
                }
                let slots = state.withLockedValue { s in
                    replies.compactMap { r in s.pending.removeValue(forKey: r.0).map { ($0.slot, r.1) } }
                }
                for (slot, body) in slots { slot.fulfil(.reply(body)) }
            }
        } catch {
            // The socket closed (`close`, `prune`): what it still waited for times out in the sweeper.
        }
    }

    /// Twice a second from the first forward on: fails requests past their deadline, and closes connections to
    /// peers no longer routed to (a node that left; a restarted one advertises a new endpoint).
    private func startSweeper() {
        state.withLockedValue { s in
            guard s.sweeper == nil, !s.closed else { return }
            s.sweeper = Task { [weak self] in
                while (try? await Task.sleep(for: .milliseconds(500))) != nil {
                    guard let self else { return }
                    let now = ContinuousClock.now
                    // A request to a node no longer routed to for over a round (it left, or restarted on another
                    // endpoint) will not be answered either: failed without waiting for its (long) deadline.
                    let routed = self.routes.peerEndpoints
                    let late = self.state.withLockedValue { s -> [(UInt64, Pending)] in
                        let late = s.pending.filter {
                            $0.value.deadline <= now || (!routed.contains($0.value.endpoint)
                                                         && $0.value.sentAt.duration(to: now) > .seconds(1))
                        }
                        for (c, _) in late { s.pending[c] = nil }
                        return Array(late)
                    }
                    for (_, p) in late {
                        p.slot.fulfil(.failed(AbmError(code: ErrorCode.internal, message:
                            "no answer from the node owning this account (\(p.endpoint)) in time; resend the same id")))
                    }
                    await self.prune(keeping: self.routes.peerEndpoints)
                }
            }
        }
    }
}
