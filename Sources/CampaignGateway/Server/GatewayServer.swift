import AbmWire
import CampaignCore
import CampaignRuntime
import CampaignStore
import Foundation
import CoreMetrics
import Logging
import NIOConcurrencyHelpers
import ZeroMQ

/// Counters of a running gateway.
public struct GatewayStatistics: Sendable, Equatable {
    /// Requests decoded and handed to the runtime (ingress + control).
    public var requests: Int
    /// Requests refused by the wire layer (malformed), each answered with a `rejected` ack / `ok:false`.
    public var malformed: Int
    /// Messages dropped because no reply could be routed (no identity frame).
    public var unroutable: Int
    /// Replies libzmq refused (the client left before its reply).
    public var failedReplies: Int
    /// Requests refused with `rate_limited`: the client had too many in flight or did not read its replies.
    public var rateLimited = 0
    /// Replies dropped because the client's queue was full (it does not read them).
    public var droppedReplies = 0
}

/// The ZeroMQ front of the runtime: the ingress and control ROUTERs. Decodes each request
/// (`WireDecoder`), calls the runtime, encodes the ack or reply and sends it back (batched).
/// Events go out through the `EventSocketPublisher` the runtime was built with.
///
/// Requests run concurrently; requests about one account run one after another in arrival order
/// (`KeyedSerialDispatcher`). Acks are sent after the runtime returns, i.e. after durable commit.
final class GatewayServer: Sendable {
    let ingress: AsyncZMQSocket
    let control: AsyncZMQSocket
    let runtime: CampaignRuntime
    let store: any CampaignStorage
    let virtualClock: Bool
    let logger: Logger
    /// The internal ROUTER (`abm serve --peer`): requests other nodes forward to this one.
    let peer: AsyncZMQSocket?
    /// Where requests for shards owned elsewhere go (`ClusterMember` fills it; empty on a single node).
    let routes: ShardRoutes
    let forwarder: PeerForwarder

    private let decoder = WireDecoder()
    private let dispatcher = KeyedSerialDispatcher()
    private let ingressReplies: BatchingSender
    private let controlReplies: BatchingSender
    private let peerReplies: BatchingSender?
    private let ingressWindows: PeerWindows
    private let controlWindows: PeerWindows
    private let ingressBytes: PeerByteBudget
    private let controlBytes: PeerByteBudget
    private let loops = NIOLockedValueBox<[Task<Void, Never>]>([])
    /// The internal ROUTER's loop: it outlives the drain (`stopForwarding`).
    private let peerLoop = NIOLockedValueBox<Task<Void, Never>?>(nil)
    /// Set when the drain starts: from then on forwarded requests are refused at once (`shutting_down`), so
    /// that peers' traffic neither waits for the forward timeout nor keeps the drain from finishing.
    private let draining = NIOLockedValueBox(false)
    private let counters = NIOLockedValueBox(GatewayStatistics(requests: 0, malformed: 0, unroutable: 0, failedReplies: 0))
    private let metrics: GatewayMetrics

    init(ingress: AsyncZMQSocket, control: AsyncZMQSocket, runtime: CampaignRuntime, store: any CampaignStorage,
         virtualClock: Bool, maxInFlightPerPeer: Int, maxBytesPerSecondPerPeer: Int, logger: Logger,
         metricsFactory: (any MetricsFactory)? = nil, monotonicNanoseconds: (@Sendable () -> UInt64)? = nil,
         peer: AsyncZMQSocket?, routes: ShardRoutes, forwarder: PeerForwarder) {
        self.metrics = GatewayMetrics(factory: metricsFactory)
        self.ingress = ingress
        self.control = control
        self.runtime = runtime
        self.store = store
        self.virtualClock = virtualClock
        self.logger = logger
        self.ingressReplies = BatchingSender(socket: ingress)
        self.controlReplies = BatchingSender(socket: control)
        self.peer = peer
        self.peerReplies = peer.map(BatchingSender.init(socket:))
        self.routes = routes
        self.forwarder = forwarder
        self.ingressWindows = PeerWindows(limit: maxInFlightPerPeer)
        self.controlWindows = PeerWindows(limit: maxInFlightPerPeer)
        if let monotonicNanoseconds {
            self.ingressBytes = PeerByteBudget(bytesPerSecond: maxBytesPerSecondPerPeer, now: monotonicNanoseconds)
            self.controlBytes = PeerByteBudget(bytesPerSecond: maxBytesPerSecondPerPeer, now: monotonicNanoseconds)
        } else {
            self.ingressBytes = PeerByteBudget(bytesPerSecond: maxBytesPerSecondPerPeer)
            self.controlBytes = PeerByteBudget(bytesPerSecond: maxBytesPerSecondPerPeer)
        }
    }

    /// Starts reading the ROUTERs.
    func start() {
        let ingressLoop = Task { await self.receiveIngressBatches() }
        let controlLoop = Task { await self.receive(from: self.control) { self.handleControl($0) } }
        loops.withLockedValue { $0 = [ingressLoop, controlLoop] }
        if let peer { peerLoop.withLockedValue { $0 = Task { await self.receivePeerBatches(peer) } } }
    }

    /// Stops reading the internal ROUTER (bounded: 1 s) and fails what this node still waits for from its
    /// peers. Called when the sockets close, after the drain: while a stopping node drains, its peers may
    /// still forward it requests for the shards it released, and get `not_owner` at once (then
    /// `shutting_down`) instead of waiting for the forward timeout.
    func stopForwarding() async {
        let task = peerLoop.withLockedValue { t -> Task<Void, Never>? in defer { t = nil }; return t }
        task?.cancel()
        if let task { _ = await untilDeadline(ContinuousClock.now.advanced(by: .seconds(1))) { await task.value } }
        await peerReplies?.flush()
        await forwarder.close()
    }

    /// Stops reading, lets every request in flight finish and sends its reply, until `deadline`. Past it
    /// the requests not answered yet are abandoned (queued ones dropped, replies of running ones never
    /// sent) and it returns false.
    func drain(until deadline: ContinuousClock.Instant) async -> Bool {
        draining.withLockedValue { $0 = true }
        let tasks = loops.withLockedValue { l -> [Task<Void, Never>] in defer { l = [] }; return l }
        for t in tasks { t.cancel() }
        // A loop parked for back-pressure (`waitForRoom`) ends only once room is made: bounded by the deadline.
        _ = await untilDeadline(deadline) { for t in tasks { await t.value } }
        let dispatcher = self.dispatcher
        let drained = await untilDeadline(deadline) { await dispatcher.drain() }
        if !drained {
            let dropped = dispatcher.abandonQueued()
            ingressReplies.abandon()
            controlReplies.abandon()
            logger.warning("drain deadline passed: unanswered requests abandoned (never acked)",
                           metadata: ["queued": "\(dropped)", "running": "\(dispatcher.inFlight)"])
        }
        await ingressReplies.flush()
        await controlReplies.flush()
        await peerReplies?.flush()
        return drained
    }

    var statistics: GatewayStatistics {
        var s = counters.withLockedValue { $0 }
        s.failedReplies = ingressReplies.failedSends + controlReplies.failedSends + (peerReplies?.failedSends ?? 0)
        s.droppedReplies = ingressReplies.droppedForFullPeer + controlReplies.droppedForFullPeer
            + (peerReplies?.droppedForFullPeer ?? 0)
        return s
    }

    /// Requests accepted for processing and not answered yet, at most: past it the server stops
    /// reading until half of them are answered (protocol §12, back-pressure).
    static let maxInFlight = 10_000

    /// Requests handed to the runtime as one batch at most: a poll batch can hold thousands; smaller runtime
    /// batches keep commits short (a response never waits long behind one) and overlap deciding with
    /// committing.
    static let maxBatchRequests = 256

    /// Requests in flight right now.
    var inFlight: Int { dispatcher.inFlight }

    private func receive(from socket: AsyncZMQSocket, _ handle: (ZMQMessage) -> Void) async {
        do {
            for try await message in socket.messages {
                handle(message)
                if Task.isCancelled { break }
                if dispatcher.inFlight >= Self.maxInFlight {
                    await dispatcher.waitForRoom(below: Self.maxInFlight / 2)
                }
            }
        } catch {
            if !Task.isCancelled { logger.error("receive loop ended", metadata: ["error": "\(error)"]) }
        }
    }

    // MARK: - Ingress

    /// Ingress, a poll batch at a time: every message of the batch is decoded, the valid requests go to
    /// the runtime as one batch (`CampaignRuntime.submit(batch:)`: per-account order, one commit), and
    /// their acks go out together once it is committed. This loop is the one caller of `submit(batch:)`,
    /// so the order of batches is the order of arrival; commits overlap with the next batch's decoding.
    /// In a cluster, the requests of shards another node owns are forwarded to it (`PeerForwarder`) and their
    /// acks are the owner's, sent once it committed, in their place among the batch's acks.
    private func receiveIngressBatches() async {
        var chains = AckChains()
        do {
            for try await received in ingress.batches {
              let arrived = ContinuousClock.now
              for start in stride(from: 0, to: received.count, by: Self.maxBatchRequests) {
                let messages = received[start..<min(start + Self.maxBatchRequests, received.count)]
                var items: [IngressItem] = []
                items.reserveCapacity(messages.count)
                for message in messages {
                    if let (identity, request) = admitIngress(message) {
                        items.append(IngressItem(replyTo: .client(identity), request: request,
                                                 forwardTo: forwardEndpoint(request), body: message.frames.last ?? []))
                    }
                }
                if !items.isEmpty { await submit(items, arrived: arrived, chains: &chains) }
              }
                if Task.isCancelled { break }
                if dispatcher.inFlight >= Self.maxInFlight {
                    await dispatcher.waitForRoom(below: Self.maxInFlight / 2)
                }
            }
        } catch {
            if !Task.isCancelled { logger.error("receive loop ended", metadata: ["error": "\(error)"]) }
        }
    }

    /// Where an ingress request goes: nil to this node's runtime (its shard is served here, or no other node is
    /// known to own it: the runtime then answers `not_owner`), else the owner's internal ROUTER.
    private func forwardEndpoint(_ request: IngressRequest) -> String? {
        guard let accountId = request.accountId, !runtime.servesAccount(accountId) else { return nil }
        return routes.endpoint(forAccount: accountId)
    }

    /// An admitted ingress request and where its ack goes.
    struct IngressItem: Sendable {
        enum ReplyTo: Sendable {
            /// A client of the ingress ROUTER (its routing id): its window slot is released with the ack.
            case client([UInt8])
            /// A peer node of the internal ROUTER: its routing id and the envelope header to echo.
            case peer([UInt8], header: [UInt8])
        }

        var replyTo: ReplyTo
        var request: IngressRequest
        /// The owner's internal ROUTER when the request is forwarded, else nil.
        var forwardTo: String?
        /// The request as it arrived (what is forwarded).
        var body: [UInt8]
    }

    /// The ack tasks of the batches so far, one chain per route: "" for this node's runtime, else the owner's
    /// endpoint. Acks of one route go out batch after batch, in arrival order; routes do not wait for each other,
    /// so an owner that died (its forwards wait for the timeout) holds up only the acks of its own accounts.
    /// An account's requests take one route until the placement changes (a shard moves here or away, or to
    /// another peer): the first batch after a change waits for every chain before it, so that a request on its
    /// new route is never answered before an earlier one on its old route.
    struct AckChains {
        final class Link: Sendable {
            let task: Task<Void, Never>
            private let finished: NIOLockedValueBox<Bool>
            init(task: Task<Void, Never>, finished: NIOLockedValueBox<Bool>) {
                self.task = task
                self.finished = finished
            }
            var isFinished: Bool { finished.withLockedValue { $0 } }
        }

        var byRoute: [String: Link] = [:]
        /// The placement the chains were built under (`placementVersion`).
        var placement: Int?
    }

    /// Changes whenever this node's shards or its routes to the others change.
    private var placementVersion: Int {
        var hasher = Hasher()
        hasher.combine(routes.version)
        hasher.combine(runtime.ownedShards)
        return hasher.finalize()
    }

    /// Hands `items` to the runtime (the local ones, one batch) and to their owners (the forwarded ones), and
    /// queues the sending of their acks on `chains`: a route's acks are sent once all of them are known and the
    /// acks of the route's previous batch are sent — a batch whose requests finished first (another batch's
    /// account waited in a lane) must not overtake the acks before it, so a client pipelining requests about
    /// one account gets their acks in the order it sent them (an account's requests all take one route).
    private func submit(_ items: [IngressItem], arrived: ContinuousClock.Instant, chains: inout AckChains) async {
        counters.withLockedValue { $0.requests += items.count }
        // Across a placement change every route waits for all that came before (see `AckChains`).
        let placement = placementVersion
        let barrier: [Task<Void, Never>]
        if chains.placement != placement {
            barrier = chains.byRoute.values.filter { !$0.isFinished }.map(\.task)
            chains = AckChains(byRoute: [:], placement: placement)
        } else {
            barrier = []
        }
        var routeOrder: [String] = []
        var byRoute: [String: [Int]] = [:]
        for i in items.indices {
            let route = items[i].forwardTo ?? ""
            if byRoute[route] == nil { routeOrder.append(route) }
            byRoute[route, default: []].append(i)
        }
        let localIndices = byRoute[""] ?? []
        let forwardedIndices = items.indices.filter { items[$0].forwardTo != nil }
        let pending = localIndices.isEmpty ? nil : await runtime.submit(batch: localIndices.map { items[$0].request })
        let slots = forwardedIndices.isEmpty ? [] : await forwarder.send(forwardedIndices.map {
            PeerForwarder.Request(endpoint: items[$0].forwardTo!, kind: .ingress, body: items[$0].body)
        })
        var slotOf: [Int: ForwardSlot] = [:]
        for (i, slot) in zip(forwardedIndices, slots) { slotOf[i] = slot }
        for route in routeOrder {
            let indices = byRoute[route]!
            let previous = chains.byRoute[route]?.task
            let finished = NIOLockedValueBox(false)
            let acksSent = Task { [ingressReplies, ingressWindows, peerReplies, metrics, slotOf] in
                defer { finished.withLockedValue { $0 = true } }
                var bodies: [[UInt8]] = []
                var statuses: [ReplyStatus] = []
                if route.isEmpty, let pending {
                    for (i, ack) in zip(indices, await pending.acks) {
                        let (id, _) = items[i].request.idAndType
                        self.logOutcome(items[i].request, status: ack.status, campaignId: ack.campaignId, error: ack.error)
                        bodies.append(Self.wireAck(id: id, status: ack.status, campaignId: ack.campaignId,
                                                   warnings: ack.warnings, error: ack.error))
                        statuses.append(ack.status)
                    }
                } else {
                    for i in indices {
                        let outcome = await slotOf[i]!.value
                        metrics.forwarded(outcome)
                        let (body, status) = Self.forwardedAck(outcome, items[i].request)
                        bodies.append(body)
                        statuses.append(status)
                    }
                }
                await previous?.value
                for earlier in barrier { await earlier.value }
                var toClients: [ZMQMessage] = []
                var toPeers: [ZMQMessage] = []
                for (i, body) in zip(indices, bodies) {
                    switch items[i].replyTo {
                    case .client(let identity):
                        toClients.append(ZMQMessage(routingID: identity, replyFrames(body)))
                        ingressWindows.release(identity)
                    case .peer(let routing, let header):
                        toPeers.append(ZMQMessage(routingID: routing, [[], header, body]))
                    }
                }
                // Counted before the acks leave: a client that has its ack sees it counted.
                metrics.ingressBatch(indices.map { items[$0].request }, statuses, since: arrived)
                ingressReplies.enqueue(contentsOf: toClients)
                peerReplies?.enqueue(contentsOf: toPeers)
            }
            chains.byRoute[route] = AckChains.Link(task: acksSent, finished: finished)
            dispatcher.submitUnordered(weight: indices.count) { await acksSent.value }
        }
        // Peers that left leave chains behind; those whose acks are all sent are forgotten.
        if chains.byRoute.count > 16 { chains.byRoute = chains.byRoute.filter { !$0.value.isFinished } }
    }

    /// The ack of a forwarded request: the owner's, as it sent it, or the `internal` refusal of one that got
    /// no answer (nothing is known to be stored: the client resends the same id).
    private static func forwardedAck(_ outcome: ForwardOutcome, _ request: IngressRequest) -> ([UInt8], ReplyStatus) {
        switch outcome {
        case .reply(let body):
            let status = (try? JSONParser.parse(body))?["status"]?.stringValue.flatMap(ReplyStatus.init(rawValue:))
            return (body, status ?? .rejected)
        case .failed(let error):
            return (Ack.rejected(id: request.idAndType.id, error: error).encode(), .rejected)
        }
    }

    /// One ingress message: its identity and request when it is to be handled, else (malformed, a peer cut
    /// off or over its window) nil, with the refusal already queued.
    private func admitIngress(_ message: ZMQMessage) -> ([UInt8], IngressRequest)? {
        guard let identity = routableIdentity(message) else { return nil }
        if ingressReplies.isBlocked(identity) {
            ingressReplies.enqueue(ZMQMessage(routingID: identity, replyFrames(refuseBlocked(Self.blockedAck, .ingress))))
            return nil
        }
        // Charged before decoding (the work it bounds); refused after, so that the refusal carries the id.
        let withinBudget = ingressBytes.spend(identity, Self.requestBytes(message))
        let request: WireRequest
        do {
            request = try decoder.decodeIngress(try Self.requestFrames(message))
        } catch {
            counters.withLockedValue { $0.malformed += 1 }
            logRefusal(.ingress, type: nil, id: error.requestId, error)
            metrics.count(Self.typeName(message), .rejected)
            ingressReplies.enqueue(ZMQMessage(routingID: identity, replyFrames(Ack.rejected(error).encode())))
            return nil
        }
        guard let ingressRequest = Self.ingressRequest(request) else {
            let error = Self.notIngress
            logRefusal(.ingress, type: request.type, id: request.id, error)
            ingressReplies.enqueue(ZMQMessage(routingID: identity, replyFrames(Ack.rejected(id: request.id, error: error).encode())))
            return nil
        }
        if let refusal = withinBudget ? rateLimit(identity, ingressWindows, ingressReplies) : overBudget(ingressBytes) {
            logRefusal(.ingress, type: request.type, id: request.id, refusal)
            metrics.count(request.type, .rateLimited)
            ingressReplies.enqueue(ZMQMessage(routingID: identity, replyFrames(
                Ack.rejected(id: request.id, error: refusal).encode())))
            return nil
        }
        return (identity, ingressRequest)
    }

    /// A decoded ingress request as the runtime takes it; nil for another type (`decodeIngress` returns only
    /// lead and response).
    private static func ingressRequest(_ request: WireRequest) -> IngressRequest? {
        switch request {
        case .lead(let id, _, let lead): .lead(id: id, lead: lead)
        case .response(let id, let input): .response(id: id, input)
        default: nil
        }
    }

    private static let stoppingError = AbmError(code: ErrorCode.internal,
                                                message: "shutting_down: the node owning this account is stopping; resend the same id")

    private static let notIngress = AbmError(code: ErrorCode.unknownType, message: "not an ingress request", field: "type")

    // MARK: - Forwarded requests (the internal ROUTER)

    /// Requests other nodes forwarded here (`PeerEnvelope` frames), a poll batch at a time: ingress ones go to
    /// the runtime like the ingress socket's (one batch, acks in order), control ones are dispatched like the
    /// control socket's. Never forwarded again: a shard this node does not own is answered `not_owner`, which
    /// the forwarding node hands to its client. No per-peer window here: the forwarding node applied its
    /// clients' limits, and its forwards are bounded by its own in-flight cap.
    private func receivePeerBatches(_ peer: AsyncZMQSocket) async {
        var chains = AckChains()
        do {
            for try await received in peer.batches {
                let arrived = ContinuousClock.now
                var items: [IngressItem] = []
                for message in received {
                    guard message.count == 4, message[1].isEmpty, let (kind, _) = PeerEnvelope.parse(message[2]) else {
                        counters.withLockedValue { $0.malformed += 1 }
                        logger.warning("forwarded request dropped: not [empty][header][body]",
                                       metadata: ["frames": "\(message.count)"])
                        continue
                    }
                    let (routing, header, body) = (message[0], message[2], message[3])
                    let send: @Sendable ([UInt8]) -> Void = { [peerReplies] reply in
                        peerReplies?.enqueue(ZMQMessage(routingID: routing, [[], header, reply]))
                    }
                    if draining.withLockedValue({ $0 }) {
                        let id = (try? JSONParser.parse(body))?["id"]?.stringValue
                        send(kind == .ingress ? Ack.rejected(id: id, error: Self.stoppingError).encode()
                                              : ControlReply.failure(id: id, error: Self.stoppingError))
                        continue
                    }
                    switch kind {
                    case .ingress:
                        do {
                            let request = try decoder.decodeIngress([[], body])
                            guard let ingressRequest = Self.ingressRequest(request) else {
                                send(Ack.rejected(id: request.id, error: Self.notIngress).encode())
                                continue
                            }
                            items.append(IngressItem(replyTo: .peer(routing, header: header), request: ingressRequest,
                                                     forwardTo: nil, body: body))
                        } catch {
                            send(Ack.rejected(error).encode())
                        }
                    case .control:
                        do {
                            let request = try decoder.decodeControl([[], body])
                            counters.withLockedValue { $0.requests += 1 }
                            dispatchControl(request, body: body, forwarded: true, reply: send, refuse: { error in
                                send(ControlReply.failure(id: request.id, error: error))
                            }, done: {})
                        } catch {
                            send(ControlReply.failure(error))
                        }
                    }
                }
                for start in stride(from: 0, to: items.count, by: Self.maxBatchRequests) {
                    await submit(Array(items[start..<min(start + Self.maxBatchRequests, items.count)]),
                                 arrived: arrived, chains: &chains)
                }
                // Never paused for this node's in-flight count: it includes this node's own forwards, waiting for
                // peers, which could be waiting for this loop in turn. Peers bound what they forward by theirs.
                if Task.isCancelled { break }
            }
        } catch {
            if !Task.isCancelled { logger.error("peer receive loop ended", metadata: ["error": "\(error)"]) }
        }
    }

    /// A count in another node's reply (0 when absent).
    private static func count(_ value: JSONValue?) -> Int {
        if case .int(let n)? = value { return Int(n) }
        return 0
    }

    /// How long a cluster-wide `erase` or `migrate` waits for another node (each runs over all of its accounts).
    static let clusterWideTimeout: Duration = .seconds(600)

    /// Who serves each shard now, as this node sees it: the shards it owns and the routes to the others.
    private var placementSnapshot: PlacementSnapshot { PlacementSnapshot(owned: runtime.ownedShards.sorted(), routes: routes.table) }

    struct PlacementSnapshot: Equatable {
        var owned: [Int]
        var routes: [String?]
    }

    /// What the other nodes answered to a cluster-wide request, and the placement it started under.
    struct ClusterWide {
        var replies: [JSONValue]
        var failures: [String]
        var before: PlacementSnapshot

        /// The failures, plus one when shards moved since it started (an account may have been left out).
        func unfinished(now: PlacementSnapshot) -> [String] {
            failures + (now == before ? [] : ["shards moved between nodes while it ran"])
        }
    }

    /// Sends a control request to every other node that owns shards now (`routes`) and waits for their
    /// replies: the `ok` ones, and a line per node that failed or did not answer, or per reason why some
    /// accounts may have been left out — a shard nobody reachable serves (moving between nodes, or owned by a
    /// node without `--peer`), or shards that moved while it ran. nil on a single node (no peer).
    private func everyOtherNode(_ body: [UInt8]) async -> ClusterWide? {
        let peers = routes.peerEndpoints.sorted()
        guard !peers.isEmpty else { return nil }
        let before = placementSnapshot
        let owned = Set(before.owned)
        let uncovered = (0..<before.routes.count).filter { !owned.contains($0) && before.routes[$0] == nil }
        if !uncovered.isEmpty {
            return ClusterWide(replies: [], failures: ["\(uncovered.count) shard(s) have no reachable owner now (moving between nodes, or owned by a node "
                         + "without --peer), e.g. shard \(uncovered[0])"], before: before)
        }
        let slots = await forwarder.send(peers.map {
            PeerForwarder.Request(endpoint: $0, kind: .control, body: body, timeout: Self.clusterWideTimeout)
        })
        var replies: [JSONValue] = []
        var failures: [String] = []
        for (peer, slot) in zip(peers, slots) {
            let outcome = await slot.value
            metrics.forwarded(outcome)
            switch outcome {
            case .reply(let bytes):
                guard let value = try? JSONParser.parse(bytes), value["ok"] == .bool(true) else {
                    let message = (try? JSONParser.parse(bytes))?["error"]?["message"]?.stringValue ?? "a reply that is not ok"
                    failures.append("\(peer): \(message)")
                    continue
                }
                replies.append(value)
            case .failed(let error):
                failures.append("\(peer): \(error.message)")
            }
        }
        return ClusterWide(replies: replies, failures: failures, before: before)
    }

    static func wireAck(id: String, status: ReplyStatus, campaignId: String?, warnings: [String],
                        error: AbmError?) -> [UInt8] {
        switch status {
        case .accepted: return Ack(id: id, status: .accepted, campaignId: campaignId, warnings: warnings).encode()
        case .duplicate: return Ack(id: id, status: .duplicate, campaignId: campaignId, warnings: warnings).encode()
        case .rejected:
            let e = error.map(wireError) ?? AbmError(code: ErrorCode.internal, message: "refused")
            return Ack.rejected(id: id, error: e).encode()
        }
    }

    /// The runtime's codes mapped onto the protocol's (§9): failures to store, a parked campaign and a
    /// runtime that is shutting down are all "nothing stored, retry the same id later" = `internal`.
    static func wireError(_ e: AbmError) -> AbmError {
        switch e.code {
        case ErrorCode.unavailable, ErrorCode.parked, ErrorCode.shuttingDown:
            return AbmError(code: ErrorCode.internal, message: "\(e.code): \(e.message)", field: e.field)
        default:
            return AbmError(code: e.code, message: e.message, field: e.field)
        }
    }

    // MARK: - Control

    private func handleControl(_ message: ZMQMessage) {
        guard let identity = routableIdentity(message) else { return }
        if controlReplies.isBlocked(identity) {
            return controlReplies.enqueue(ZMQMessage(routingID: identity, replyFrames(refuseBlocked(Self.blockedReply, .control))))
        }
        let withinBudget = controlBytes.spend(identity, Self.requestBytes(message))
        let request: WireRequest
        do {
            request = try decoder.decodeControl(try Self.requestFrames(message))
        } catch {
            counters.withLockedValue { $0.malformed += 1 }
            logRefusal(.control, type: nil, id: error.requestId, error)
            metrics.count(Self.typeName(message), .rejected)
            controlReplies.enqueue(ZMQMessage(routingID: identity, replyFrames(ControlReply.failure(error))))
            return
        }
        let arrived = ContinuousClock.now
        let type = request.type
        let reply: @Sendable ([UInt8]) -> Void = { [controlReplies, metrics] body in
            metrics.controlAnswered(type, ok: Self.isOK(body), since: arrived)
            controlReplies.enqueue(ZMQMessage(routingID: identity, replyFrames(body)))
        }
        // Every refusal of a decoded control request goes through here: one log line, then the reply.
        let refuse: @Sendable (AbmError) -> Void = { [weak self] error in
            self?.logRefusal(.control, type: request.type, id: request.id, error, accountId: request.accountId)
            reply(ControlReply.failure(id: request.id, error: error))
        }
        if let refusal = withinBudget ? rateLimit(identity, controlWindows, controlReplies) : overBudget(controlBytes) {
            // Counted as rate-limited, not as answered: straight to the socket, not through `reply`.
            metrics.count(type, .rateLimited)
            logRefusal(.control, type: type, id: request.id, refusal, accountId: request.accountId)
            controlReplies.enqueue(ZMQMessage(routingID: identity, replyFrames(ControlReply.failure(id: request.id, error: refusal))))
            return
        }
        logger.debug("request", metadata: ["socket": "control", "type": "\(request.type)", "request_id": "\(request.id)",
                                           "account_id": "\(request.accountId ?? "-")"])
        counters.withLockedValue { $0.requests += 1 }
        let done: @Sendable () -> Void = { [controlWindows] in controlWindows.release(identity) }
        if let accountId = request.accountId, !runtime.servesAccount(accountId),
           let endpoint = routes.endpoint(forAccount: accountId) {
            // Another node owns the account: it answers (in the account's order here, like a local request).
            let forwarded = PeerForwarder.Request(endpoint: endpoint, kind: .control, body: message.frames.last ?? [])
            dispatcher.submit(key: accountId, then: done) { [forwarder, metrics] in
                let outcome = await forwarder.send([forwarded])[0].value
                metrics.forwarded(outcome)
                switch outcome {
                case .reply(let body): reply(body)
                case .failed(let error): refuse(error)
                }
            }
            return
        }
        dispatchControl(request, body: message.frames.last ?? [], forwarded: false, reply: reply, refuse: refuse, done: done)
    }

    /// Runs a decoded control request; `done` once it is answered.
    /// - Parameters:
    ///   - body: the request as it arrived (what a cluster-wide `erase` or `migrate` sends to the other nodes).
    ///   - forwarded: it came from another node, which runs the cluster-wide part itself: this node does only its
    ///     own accounts.
    private func dispatchControl(_ request: WireRequest, body: [UInt8], forwarded: Bool,
                                 reply: @escaping @Sendable ([UInt8]) -> Void,
                                 refuse: @escaping @Sendable (AbmError) -> Void, done: @escaping @Sendable () -> Void) {
        switch request {
        case .forCampaign(let campaignId, let inner):
            // In the account's order: the campaign must be the current one when the command runs.
            let accountId = inner.accountId ?? ""
            dispatcher.submit(key: accountId) { [weak self, runtime] in
                let current = await runtime.status(accountId: accountId)?["campaign_id"]?.stringValue
                guard current == campaignId else {
                    done()
                    refuse(AbmError(code: ErrorCode.notFound,
                                    message: current.map { "campaign `\(campaignId)` is not the current campaign of `\(accountId)` (that is `\($0)`); see `campaigns`" }
                                        ?? "account `\(accountId)` has no campaign `\(campaignId)`",
                                    field: "campaign_id"))
                    return
                }
                self?.dispatchControl(inner, body: body, forwarded: forwarded, reply: reply, refuse: refuse, done: done)
            }
        case .campaigns(let id, let accountId):
            dispatcher.submit(key: accountId, then: done) { [runtime] in
                do {
                    if let campaigns = try await runtime.campaignHistory(accountId: accountId) {
                        reply(ControlReply.ok(id: id, fields: ["campaigns": campaigns]))
                    } else {
                        refuse(AbmError(code: ErrorCode.notFound, message: "account `\(accountId)` has no campaign", field: "account_id"))
                    }
                } catch {
                    refuse(AbmError(code: ErrorCode.internal, message: "could not read the history of `\(accountId)`: \(error)"))
                }
            }
        case .pause(let id, let accountId, _), .resume(let id, let accountId), .cancel(let id, let accountId),
             .step(let id, let accountId):
            let command = request.campaignCommand!
            dispatcher.submit(key: accountId, then: done) { [runtime] in
                let r = await runtime.command(requestId: id, accountId: accountId, command)
                if r.ok {
                    reply(ControlReply.ok(id: id, fields: ["campaign": r.campaign ?? .null]))
                } else {
                    refuse(r.error.map(Self.wireError) ?? AbmError(code: ErrorCode.internal, message: "refused"))
                }
            }
        case .status(let id, let accountId):
            dispatcher.submit(key: accountId, then: done) { [runtime] in
                let campaign = await runtime.status(accountId: accountId)
                if let campaign, campaign["campaign_id"] != nil {
                    reply(ControlReply.ok(id: id, fields: ["campaign": campaign]))
                } else if let failure = campaign?["failure"], let message = failure["message"]?.stringValue {
                    // The campaign could not be read (store or actor failure): not the same as "no campaign".
                    refuse(AbmError(code: ErrorCode.internal, message: "status of `\(accountId)` unavailable: \(message)"))
                } else {
                    refuse(AbmError(code: ErrorCode.notFound, message: "account `\(accountId)` has no campaign",
                                         field: "account_id"))
                }
            }
        case .events(let id, let afterSeq, let limit):
            metrics.replays.increment()
            dispatcher.submitUnordered(then: done) { [runtime, store] in
                do {
                    let events = try await runtime.events(afterSeq: afterSeq, limit: limit)
                    let lastSeq = try await store.lastSeq()
                    reply(ControlReply.events(id: id, stored: events, lastSeq: max(lastSeq, events.last?.seq ?? 0)))
                } catch let e as AbmError {
                    refuse(e)
                } catch {
                    refuse(AbmError(code: ErrorCode.internal, message: "could not read the event log: \(error)"))
                }
            }
        case .list(let id, let filter):
            dispatcher.submitUnordered(then: done) { [runtime] in
                do {
                    reply(ControlReply.list(id: id, try await runtime.campaigns(filter)))
                } catch let e as AbmError {
                    refuse(Self.wireError(e))
                } catch {
                    refuse(AbmError(code: ErrorCode.internal, message: "\(error)"))
                }
            }
        case .stats(let id):
            dispatcher.submitUnordered(then: done) { [runtime] in
                do {
                    reply(ControlReply.stats(id: id, try await runtime.campaignStats()))
                } catch let e as AbmError {
                    refuse(Self.wireError(e))
                } catch {
                    refuse(AbmError(code: ErrorCode.internal, message: "\(error)"))
                }
            }
        case .preview(let id, let accountId, let lead):
            dispatcher.submit(key: accountId, then: done) { [runtime] in
                do {
                    switch try await runtime.preview(accountId: accountId, lead: lead) {
                    case .success(let preview): reply(ControlReply.ok(id: id, fields: ["preview": preview]))
                    case .failure(let e): refuse(Self.wireError(e))
                    }
                } catch {
                    refuse(AbmError(code: ErrorCode.internal, message: "could not preview `\(accountId)`: \(error)"))
                }
            }
        case .explain(let id, let accountId):
            dispatcher.submit(key: accountId, then: done) { [runtime] in
                do {
                    if let explanation = try await runtime.explain(accountId: accountId) {
                        reply(ControlReply.ok(id: id, fields: ["explanation": explanation]))
                    } else {
                        refuse(AbmError(code: ErrorCode.notFound, message: "account `\(accountId)` has no campaign", field: "account_id"))
                    }
                } catch let e as AbmError {
                    refuse(Self.wireError(e))
                } catch {
                    refuse(AbmError(code: ErrorCode.internal, message: "could not read the history of `\(accountId)`: \(error)"))
                }
            }
        case .erase(let id, let email):
            // One erasure at a time, in arrival order (the key starts with NUL: no account id can equal it).
            // A forwarded one has a queue of its own: two nodes each running one and waiting for the other must not
            // wait for each other.
            dispatcher.submit(key: forwarded ? "\u{0}erase/forwarded" : "\u{0}erase", then: done) { [runtime, store] in
                do {
                    // In a cluster every node erases the accounts it owns: the others first, then this one.
                    let others = forwarded ? nil : await self.everyOtherNode(body)
                    var report = try await runtime.erase(email: email, onlyOwnedAccounts: forwarded || others != nil)
                    if let others {
                        var unfinished = others.unfinished(now: self.placementSnapshot)
                        for part in others.replies {
                            let erased = part["erased"]
                            report.accounts += Self.count(erased?["accounts"])
                            report.events += Self.count(erased?["events"])
                            report.replies += Self.count(erased?["replies"])
                        }
                        // An account that moved between nodes meanwhile may have been skipped by both.
                        let left = try await store.accounts(mentioning: email.lowercased(), limit: 100).count
                        if left > 0 { unfinished.append("\(left) account(s) still name the address (moving between nodes)") }
                        if !unfinished.isEmpty {
                            throw AbmError(code: ErrorCode.internal, message: "erasure not finished (run it again to finish it): "
                                           + unfinished.joined(separator: "; "))
                        }
                    }
                    reply(ControlReply.erased(id: id, report))
                } catch let e as AbmError {
                    refuse(Self.wireError(e))
                } catch {
                    refuse(AbmError(code: ErrorCode.internal, message: "erasure failed (run it again to finish it): \(error)"))
                }
            }
        case .migrate(let id, let playbook, let version, let accountId):
            // One migration at a time (NUL-prefixed key, as `erase`); each account's turn in its actor.
            dispatcher.submit(key: forwarded ? "\u{0}migrate/forwarded" : "\u{0}migrate", then: done) { [runtime] in
                do {
                    // Every campaign of a cluster: each node migrates the ones it owns, the others first.
                    let others = forwarded || accountId != nil ? nil : await self.everyOtherNode(body)
                    var report = try await runtime.migrate(playbook: playbook, toVersion: version, accountId: accountId,
                                                           onlyOwnedAccounts: forwarded || others != nil)
                    if let others {
                        for part in others.replies {
                            report.campaigns += Self.count(part["migrated"]?["campaigns"])
                        }
                        let unfinished = others.unfinished(now: self.placementSnapshot)
                        if !unfinished.isEmpty {
                            throw AbmError(code: ErrorCode.internal, message: "migrate not finished (run it again to finish it): "
                                           + unfinished.joined(separator: "; "))
                        }
                    }
                    reply(ControlReply.migrated(id: id, report))
                } catch let e as AbmError {
                    refuse(Self.wireError(e))
                } catch {
                    refuse(AbmError(code: ErrorCode.internal, message: "migrate failed (run it again to finish it): \(error)"))
                }
            }
        case .playbooks(let id):
            dispatcher.submitUnordered(then: done) { [runtime] in
                do {
                    reply(ControlReply.ok(id: id, fields: ["playbooks": try await runtime.playbookList()]))
                } catch {
                    refuse(AbmError(code: ErrorCode.internal, message: "could not read the playbooks: \(error)"))
                }
            }
        case .clockAdvance(let id, let seconds):
            guard virtualClock else {
                done()
                refuse(AbmError(code: ErrorCode.notVirtualClock,
                                     message: "clock.advance needs a server started with --virtual-clock"))
                return
            }
            // One advance at a time, in arrival order (a key no account id can equal: ids are non-empty
            // strings, this one starts with NUL).
            dispatcher.submit(key: "\u{0}clock", then: done) { [runtime, store] in
                switch await Self.advanceClock(id: id, seconds: seconds, runtime: runtime, store: store) {
                case .success(let body): reply(body)
                case .failure(let error): refuse(error)
                }
            }
        default:
            done()
            refuse(AbmError(code: ErrorCode.unknownType, message: "not a control command", field: "type"))
        }
    }

    /// `clock.advance` stores its reply (store meta `clock.advance/<id>`) so that a repeated id replays
    /// it byte for byte and does not move the clock again.
    private static func advanceClock(id: String, seconds: Double, runtime: CampaignRuntime,
                                     store: any CampaignStorage) async -> Result<[UInt8], AbmError> {
        // The target is stored before the clock moves: a resend after a crash mid-advance goes to the same
        // instant, not `seconds` past wherever the restart left the clock.
        let (key, targetKey) = clockAdvanceKeys(id: id, node: runtime.clusterNodeId)
        do {
            if let stored = try await store.meta(key) { return .success(Array(stored.utf8)) }
            let target: Date
            if let stored = try await store.meta(targetKey), let t = WireTime.parse(stored) {
                target = t
            } else {
                target = try runtime.advanceTarget(seconds: seconds)
                try await store.setMeta(targetKey, WireTime.format(target))
            }
            let now = try await runtime.advanceClock(to: target)
            let body = ControlReply.clock(id: id, now: now)
            try await store.setMeta(key, String(decoding: body, as: UTF8.self))
            return .success(body)
        } catch let e as AbmError {
            return .failure(wireError(e))
        } catch {
            return .failure(AbmError(code: ErrorCode.internal, message: "\(error)"))
        }
    }

    /// The store meta keys of a `clock.advance`'s reply and target: `clock.advance/<id>` and
    /// `clock.advance.target/<id>` with a store of its own. In a cluster every node has its own virtual clock
    /// and they share the store's meta, so the keys carry the node id (`clock.advance/<node>/<id>`): the same
    /// id sent to every node advances each once, and a resend replays the reply of the node it reaches.
    static func clockAdvanceKeys(id: String, node: String?) -> (reply: String, target: String) {
        let scoped = node.map { "\($0)/\(id)" } ?? id
        return ("clock.advance/" + scoped, "clock.advance.target/" + scoped)
    }

    // MARK: - Helpers

    /// The `type` of an undecodable request when it can be read cheaply, for the metrics' type label.
    private static func typeName(_ message: ZMQMessage) -> String {
        guard message.frames.count == 3, let value = try? JSONParser.parse(message.frames[2]),
              let type = value["type"]?.stringValue, GatewayMetrics.types.contains(type) else { return "unknown" }
        return type
    }

    /// Whether a control reply is `ok:true`: a failure is the one reply with the bytes `"ok":false` (no
    /// other object of the protocol has an `ok` key, and inside strings the quotes are escaped).
    static func isOK(_ body: [UInt8]) -> Bool {
        let needle = Array(#""ok":false"#.utf8)
        guard body.count >= needle.count else { return true }
        for i in 0...(body.count - needle.count) where body[i] == 0x22 && body[i + 1] == 0x6F {
            if body[i..<(i + needle.count)].elementsEqual(needle) { return false }
        }
        return true
    }

    /// Takes a slot of `peer`'s window, or returns the `rate_limited` refusal (counted): the peer has
    /// `maxInFlightPerPeer` requests in flight.
    private func rateLimit(_ peer: [UInt8], _ windows: PeerWindows, _ replies: BatchingSender) -> AbmError? {
        if windows.acquire(peer) { return nil }
        counters.withLockedValue { $0.rateLimited += 1 }
        return AbmError(code: ErrorCode.rateLimited, message:
            "more than \(windows.limit) requests in flight on this connection; read replies, then resend the same id")
    }

    /// The `rate_limited` refusal (counted) of a request over its peer's bytes per second.
    private func overBudget(_ budget: PeerByteBudget) -> AbmError {
        counters.withLockedValue { $0.rateLimited += 1 }
        return AbmError(code: ErrorCode.rateLimited, message:
            "more than \(budget.bytesPerSecond) request bytes per second on this connection; slow down, then resend the same id")
    }

    /// The bytes a request costs: its frames after the identity.
    private static func requestBytes(_ message: ZMQMessage) -> Int {
        var n = 0
        for k in 1..<max(1, message.count) { n += message[k].count }
        return n
    }

    /// A peer whose last reply was dropped (it does not read) is cut off: its requests are refused
    /// unread, so that a flood costs no decoding and no store work. The refusal has `"id": null`; once one
    /// goes through (the peer reads again) the peer is served again.
    private func refuseBlocked(_ body: [UInt8], _ socket: GatewaySocket) -> [UInt8] {
        counters.withLockedValue { $0.rateLimited += 1 }
        logRefusal(socket, type: nil, id: nil, Self.blockedError)
        return body
    }

    // MARK: - Log

    enum GatewaySocket: String { case ingress, control }

    /// One line per refused request, at info: the socket, the request's type and id, the error's code and
    /// field, never the message (it may quote what the client sent: an email, a name). At debug the line
    /// also carries the message and the account.
    func logRefusal(_ socket: GatewaySocket, type: String?, id: String?, _ error: AbmError, accountId: String? = nil) {
        guard logger.logLevel <= .info else { return }
        var metadata: Logger.Metadata = ["socket": "\(socket.rawValue)", "code": "\(error.code)",
                                         "type": "\(type ?? "-")", "request_id": "\(id ?? "-")"]
        if let field = error.field { metadata["field"] = "\(field)" }
        if logger.logLevel <= .debug {
            metadata["detail"] = "\(error.message)"
            if let accountId { metadata["account_id"] = "\(accountId)" }
        }
        logger.info("request refused", metadata: metadata)
    }

    /// An ingress request's outcome: a refusal at info (`logRefusal`), an accepted one at debug.
    func logOutcome(_ request: IngressRequest, status: ReplyStatus, campaignId: String?, error: AbmError?) {
        let (id, type) = request.idAndType
        if status == .rejected {
            let error = error.map(Self.wireError) ?? AbmError(code: ErrorCode.internal, message: "refused")
            logRefusal(.ingress, type: type, id: id, error, accountId: request.accountId)
        } else if logger.logLevel <= .debug {
            logger.debug("request", metadata: ["socket": "ingress", "type": "\(type)", "request_id": "\(id)",
                                               "account_id": "\(request.accountId ?? "-")", "status": "\(status)",
                                               "campaign_id": "\(campaignId ?? "-")"])
        }
    }

    private static let blockedMessage = "this connection does not read its replies; read them, then resend the same id"
    private static let blockedError = AbmError(code: ErrorCode.rateLimited, message: blockedMessage)
    private static let blockedAck = Ack.rejected(id: nil, error: blockedError).encode()
    private static let blockedReply = ControlReply.failure(id: nil, error: blockedError)

    /// The frames after the identity; a message cut at the frame cap is `bad_framing` (its body is not read).
    private static func requestFrames(_ message: ZMQMessage) throws(AbmError) -> [[UInt8]] {
        if message.isTruncated {
            throw AbmError(code: ErrorCode.badFraming,
                            message: "more than \(WireLimits.maxFrames - 1) frames; expected [empty delimiter][body]")
        }
        return Array(message.frames.dropFirst())
    }

    /// The ROUTER's identity frame, or nil (counted) when there is none to route a reply to.
    private func routableIdentity(_ message: ZMQMessage) -> [UInt8]? {
        guard let first = message.frames.first, !first.isEmpty else {
            counters.withLockedValue { $0.unroutable += 1 }
            return nil
        }
        return first
    }
}

private extension IngressRequest {
    /// The request id and the wire `type`, for the log.
    var idAndType: (id: String, type: String) {
        switch self {
        case .lead(let id, _): (id, "lead")
        case .response(let id, _): (id, "response")
        }
    }

    /// The account, when the request names one usably (only logged at debug).
    var accountId: String? {
        switch self {
        case .lead(_, let lead): lead["account_id"]?.stringValue
        case .response(_, let input): input.accountId
        }
    }
}
