import AbmWire
import CampaignCore
import CampaignRuntime
import CampaignStore
import Foundation
import Logging
import ServiceLifecycle
import NIOConcurrencyHelpers
import ZeroMQ

/// The whole server in one process: store, runtime and the three ZeroMQ sockets, assembled from
/// `ServerOptions`. Used by `abm serve`, `abm demo`, `abm bench` and the tests.
///
/// ```swift
/// let server = try await AbmServer.start(options: ServerOptions(endpoints: .ephemeral, virtualClockStart: t0))
/// print(server.endpoints)          // the bound endpoints (real ports of `:*` binds)
/// …
/// await server.stop()              // drains: in-flight requests are acked, events published
/// ```
public final class AbmServer: Sendable {
    /// The endpoints actually bound (`tcp://127.0.0.1:41234` for a `tcp://127.0.0.1:*` bind).
    public let endpoints: AbmEndpoints
    /// The runtime behind the sockets (status, statistics, in-process use).
    public let runtime: CampaignRuntime
    /// The store (events, replies, states).
    public let store: any CampaignStorage
    /// The internal ROUTER actually bound (`ServerOptions.peerEndpoint`), where other nodes forward requests.
    public let peerEndpoint: String?
    /// Where this node forwards the requests of shards other nodes own (a cluster member keeps it current).
    public var routes: ShardRoutes { gateway.routes }
    /// The virtual clock when the server runs with one (`clock.advance` works), else nil.
    public let virtualClock: ManualClock?
    /// Committed events for in-process watchers (the HTTP dashboard's live stream).
    public let liveEvents: EventBroadcast

    private let gateway: GatewayServer
    private let context: ZMQContext
    private let ingressLoop: ZMQPollLoop
    private let outputLoop: ZMQPollLoop
    private let eventsSocket: AsyncZMQSocket
    private let storeDirectory: LockedDataDirectory?
    /// Whether stopping closes the store (a durable one: SQLite, or one opened through `ServerOptions.openStore`).
    private let closesStore: Bool
    private let stopSteps = NIOLockedValueBox(StopSteps())
    private let stopGrace = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
    private let logger: Logger
    private let drainTimeout: Duration
    private let trimmer = IdleMemoryTrimmer()
    /// The ZAP handler when CURVE is on (issue #12).
    private let authenticator: ZAPAuthenticator?

    /// Receive-side cap of the ROUTERs (identity included): frames past it are dropped unread and the
    /// message arrives marked truncated, so that it is refused with `bad_framing` like any other framing error.
    static let maxFramesPerMessage = WireLimits.maxFrames

    /// The events PUB's kernel send buffer per subscriber connection (`SO_SNDBUF`).
    static let eventSocketSendBuffer = 256 * 1024

    private init(endpoints: AbmEndpoints, peerEndpoint: String?, runtime: CampaignRuntime, store: any CampaignStorage,
                 virtualClock: ManualClock?, gateway: GatewayServer, context: ZMQContext, ingressLoop: ZMQPollLoop,
                 outputLoop: ZMQPollLoop, eventsSocket: AsyncZMQSocket, storeDirectory: LockedDataDirectory?,
                 closesStore: Bool, drainTimeout: Duration, logger: Logger, authenticator: ZAPAuthenticator?, liveEvents: EventBroadcast) {
        self.liveEvents = liveEvents
        self.endpoints = endpoints
        self.peerEndpoint = peerEndpoint
        self.runtime = runtime
        self.store = store
        self.virtualClock = virtualClock
        self.gateway = gateway
        self.context = context
        self.ingressLoop = ingressLoop
        self.outputLoop = outputLoop
        self.eventsSocket = eventsSocket
        self.storeDirectory = storeDirectory
        self.closesStore = closesStore
        self.drainTimeout = drainTimeout
        self.logger = logger
        self.authenticator = authenticator
    }

    /// Opens the store, binds the sockets, starts the runtime (recovery: republishes unpublished
    /// events, reloads timers) and starts serving. Throws on a bind failure, an unreadable store, …
    public static func start(options: ServerOptions) async throws -> AbmServer {
        let logger = options.logger
        // Order matters: the store lock first (a second server on a store in use stops before binding
        // anything), then the sockets (a port in use stops before a database is created), then the store.
        let storeDirectory = try options.isInMemory || options.openStore != nil ? nil : LockedDataDirectory(options.dataDirectory!)
        let context = try ZMQContext()
        let ingressLoop = try ZMQPollLoop(name: "abm-ingress")
        let outputLoop = try ZMQPollLoop(name: "abm-control")
        let sockets: (ingress: AsyncZMQSocket, control: AsyncZMQSocket, events: AsyncZMQSocket, peer: AsyncZMQSocket?)
        var authenticator: ZAPAuthenticator?
        do {
            authenticator = try await startSecurity(options, context: context)
            sockets = try bindSockets(options, context: context, ingressLoop: ingressLoop, outputLoop: outputLoop,
                                      security: authenticator)
        } catch {
            await ingressLoop.shutdown()
            await outputLoop.shutdown()
            await authenticator?.stop()
            storeDirectory?.abandon()
            throw error
        }
        let (ingress, control, events, peer) = sockets
        let bound = AbmEndpoints(ingress: ingress.endpoint ?? options.endpoints.ingress,
                                     control: control.endpoint ?? options.endpoints.control,
                                     events: events.endpoint ?? options.endpoints.events)
        let manual = options.virtualClockStart.map { ManualClock(start: $0) }
        let clock: any RuntimeClock = manual ?? WallClock()
        var runtimeConfig = options.runtime
        runtimeConfig.logger = logger
        let publisher = EventSocketPublisher(socket: events, maxLiveEventBytes: options.maxLiveEventBytes)
        let liveEvents = EventBroadcast()
        var openedStore: (any CampaignStorage)?
        let store: any CampaignStorage
        let runtime: CampaignRuntime
        do {
            if let openStore = options.openStore {
                openedStore = try await openStore()
            } else if let storeDirectory {
                openedStore = try SQLiteStore(path: storeDirectory.url.appendingPathComponent(ServerOptions.databaseFileName).path)
            } else {
                openedStore = InMemoryStore()
            }
            store = openedStore!
            let decider: any CampaignDecider = if let definitions = options.playbooks {
                try await PlaybookRegistry.load(store: store, definitions: definitions)
            } else {
                Playbooks.single(options.campaign)
            }
            runtime = CampaignRuntime(store: store, clock: clock, decider: decider,
                                      publisher: FanOutPublisher([publisher, liveEvents]), configuration: runtimeConfig)
            // The runtime's default event encoder is the protocol's (`EventBody`, shared with `WireEvent`).
            try await runtime.start()
        } catch {
            // A start that fails here (an unreadable store, recovery) leaves nothing bound or open behind it;
            // the store is closed before its directory's lock goes.
            await ingress.close()
            await control.close()
            await events.close()
            await peer?.close()
            await ingressLoop.shutdown()
            await outputLoop.shutdown()
            await authenticator?.stop()
            try? await openedStore?.close()
            storeDirectory?.release()
            throw error
        }
        let routes = ShardRoutes()
        let gateway = GatewayServer(ingress: ingress, control: control, runtime: runtime, store: store,
                                    virtualClock: manual != nil, maxInFlightPerPeer: options.maxInFlightPerPeer,
                                    maxBytesPerSecondPerPeer: options.maxBytesPerSecondPerPeer,
                                    logger: logger, metricsFactory: options.runtime.metricsFactory, peer: peer,
                                    routes: routes,
                                    forwarder: PeerForwarder(context: context, routes: routes,
                                                             socketOptions: authenticator?.peerClientOptions ?? [], logger: logger))
        gateway.start()
        logger.info("serving", metadata: ["ingress": "\(bound.ingress)", "control": "\(bound.control)",
                                          "events": "\(bound.events)"])
        let server = AbmServer(endpoints: bound, peerEndpoint: peer.map { $0.endpoint ?? options.peerEndpoint! }, runtime: runtime, store: store, virtualClock: manual, gateway: gateway,
                               context: context, ingressLoop: ingressLoop, outputLoop: outputLoop, eventsSocket: events,
                               storeDirectory: storeDirectory, closesStore: storeDirectory != nil || options.openStore != nil,
                               drainTimeout: options.drainTimeout, logger: logger,
                               authenticator: authenticator, liveEvents: liveEvents)
        server.trimmer.start { [gateway, publisher] in
            let s = gateway.statistics
            return s.requests + s.malformed + s.rateLimited + publisher.publishedCount
        }
        return server
    }

    // MARK: Security (issue #12): CURVE + ZAP

    /// Checks the bind rule and, with CURVE on, starts the ZAP handler (before any socket binds).
    private static func startSecurity(_ options: ServerOptions, context: ZMQContext) async throws -> ZAPAuthenticator? {
        try BindPolicy.check(options.endpoints, peer: options.peerEndpoint, curve: options.curve != nil, insecure: options.insecure)
        guard let curve = options.curve else { return nil }
        return try await ZAPAuthenticator(settings: curve, context: context, logger: options.logger)
    }

    /// Reads the allow-lists again (SIGHUP) and swaps them in; on failure the current lists stay and
    /// the error (naming the file and line) is thrown. New connections are checked against the new lists;
    /// a socket whose list lost a key is rebound, which closes every connection it had accepted, so that
    /// a removed key is cut off at once (its peers still allowed reconnect within ZeroMQ's reconnect
    /// interval, 100 ms by default; a request caught in the cut gets no reply and is resent by its client).
    @discardableResult
    public func reloadAllowLists() async throws(SecurityError) -> ClientAllowLists {
        guard let authenticator else {
            throw SecurityError(code: SecurityError.incompleteCurve, message: "CURVE is off: there are no allow-lists to reload")
        }
        let (old, fresh) = try authenticator.reload()
        for domain in old.domainsLosingKeys(to: fresh) {
            let (socket, endpoint): (AsyncZMQSocket, String)
            switch domain {
            case .ingress: (socket, endpoint) = (gateway.ingress, endpoints.ingress)
            case .control: (socket, endpoint) = (gateway.control, endpoints.control)
            case .events: (socket, endpoint) = (eventsSocket, endpoints.events)
            // The node key never leaves the list (it is the server's own).
            case .peer: continue
            }
            do {
                try await Self.rebind(socket, endpoint)
                logger.notice("a key left the allow-list: connections closed, allowed peers reconnect",
                              metadata: ["socket": "\(domain.rawValue)"])
            } catch {
                throw SecurityError(code: SecurityError.rebindFailed, message: "\(domain.rawValue) at \(endpoint): \(error)")
            }
        }
        return fresh
    }

    /// Unbinds and binds again, which closes every connection accepted on `endpoint`; peers reconnect and
    /// handshake again. The listener closes asynchronously, so the bind is retried while the port is still
    /// held (within a second; it takes a few milliseconds here).
    private static func rebind(_ socket: AsyncZMQSocket, _ endpoint: String) async throws {
        try await socket.unbind(endpoint)
        for attempt in 1...100 {
            let failure: ZMQError
            do {
                _ = try await socket.bind(endpoint)
                return
            } catch {
                failure = error
            }
            if failure.code != ZMQError.addressInUse || attempt == 100 { throw failure }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The ZAP handler's counters (admitted, refused, reloads); nil when CURVE is off.
    public var authenticationStatistics: ZAPStatistics? { authenticator?.statistics }

    // MARK: Sockets

    private static func bindSockets(_ options: ServerOptions, context: ZMQContext, ingressLoop: ZMQPollLoop,
                                    outputLoop: ZMQPollLoop, security: ZAPAuthenticator?) throws
        -> (ingress: AsyncZMQSocket, control: AsyncZMQSocket, events: AsyncZMQSocket, peer: AsyncZMQSocket?) {
        func router(_ endpoint: String, on loop: ZMQPollLoop, _ domain: ZAPDomain,
                    maxFrames: Int = maxFramesPerMessage) throws -> AsyncZMQSocket {
            let socket = try ZMQSocket(context, type: .router, linger: 2000, options: [
                .routerMandatory(true), .sendHighWaterMark(options.replyHighWaterMark), .receiveHighWaterMark(100_000),
                .maxMessageSize(WireLimits.maxMessageBytes),
            ] + (security?.options(for: domain) ?? []))
            socket.maxFramesPerMessage = maxFrames
            socket.keepsTruncatedMessages = true
            try socket.bind(endpoint)
            return try loop.adopt(socket, inboundCapacity: 4096)
        }
        let ingress = try router(options.endpoints.ingress, on: ingressLoop, .ingress)
        let control = try router(options.endpoints.control, on: outputLoop, .control)
        // A slow subscriber holds at most eventHighWaterMark × maxLiveEventBytes in libzmq plus the fixed
        // kernel buffer (a set SO_SNDBUF also stops the kernel from growing it to several MiB).
        let pub = try ZMQSocket(context, type: .pub, linger: 2000, options: [
            .sendHighWaterMark(options.eventHighWaterMark), .sendBufferSize(eventSocketSendBuffer),
        ] + (security?.options(for: .events) ?? []))
        try pub.bind(options.endpoints.events)
        let events = try outputLoop.adopt(pub)
        // Forwarded requests are ingress traffic: the same loop. `[identity][empty][header][body]`.
        let peer = try options.peerEndpoint.map { try router($0, on: ingressLoop, .peer, maxFrames: 4) }
        return (ingress, control, events, peer)
    }

    /// Counters of the ZeroMQ front (requests, malformed, unroutable, failed replies).
    public var statistics: GatewayStatistics { gateway.statistics }

    /// Graceful stop: stops reading requests, lets those in flight finish and sends their replies, stops
    /// the timers, shuts the runtime down (its queued events are committed and published), then closes the
    /// sockets (lingering up to 2 s so that queued replies and events reach connected peers). Idempotent.
    /// The same steps, in the same order, as the `services` a `ServiceGroup` shuts down on SIGTERM.
    ///
    /// Bounded by `ServerOptions.drainTimeout`: past it the requests not answered yet are abandoned (never
    /// acked; producers resend them), and the runtime gets the same time again to finish the commit in
    /// progress before the sockets close anyway (an unfinished commit is rolled back by SQLite, as after
    /// a crash: nothing acknowledged is lost).
    public func stop() async {
        await drainGateway()
        await stopTimers()
        await stopRuntime()
        await flushOutbox()
        await closeResources()
    }

    /// The steps of a graceful stop, each run once whoever asks first (`stop()` or a service).
    enum StopStep: Hashable { case gateway, timers, runtime, outbox, close }

    /// Runs `step` once: the first caller starts it (in a task of its own, which cancelling the caller does
    /// not stop half-way), every caller waits for it to finish.
    private func once(_ step: StopStep, _ body: @escaping @Sendable () async -> Void) async {
        let task = stopSteps.withLockedValue { s -> Task<Void, Never> in
            if let running = s.tasks[step] { return running }
            s.order.append(step)
            let started = Task { await body() }
            s.tasks[step] = started
            return started
        }
        await task.value
    }

    /// The steps started so far, in the order they started (tests check the services' order).
    var stopStepsStarted: [StopStep] { stopSteps.withLockedValue { $0.order } }

    /// Until when the runtime may take to stop: the drain deadline, or after a drain that ran out of time,
    /// the drain timeout again (at least 1 s) from then.
    private var runtimeGrace: ContinuousClock.Instant {
        stopGrace.withLockedValue { g in
            if let g { return g }
            let fresh = ContinuousClock.now.advanced(by: drainTimeout)
            g = fresh
            return fresh
        }
    }

    /// Step 1: stop reading requests and answer those in flight, within the drain timeout.
    func drainGateway() async {
        await once(.gateway) { [self] in
            trimmer.stop()
            let deadline = ContinuousClock.now.advanced(by: drainTimeout)
            logger.debug("draining the gateway", metadata: ["in_flight": "\(gateway.inFlight)",
                                                            "deadline_ms": "\(drainTimeout.components.seconds * 1000)"])
            let drained = await gateway.drain(until: deadline)
            let grace = drained ? deadline : ContinuousClock.now.advanced(by: max(drainTimeout, .seconds(1)))
            stopGrace.withLockedValue { $0 = grace }
        }
    }

    /// Step 2: no timer fires from now on (the turns already running finish).
    func stopTimers() async {
        await once(.timers) { [self] in
            if await !untilDeadline(runtimeGrace, { [runtime] in await runtime.stopTimers() }) {
                logger.warning("timers did not stop within the drain timeout; stopping the runtime anyway")
            }
        }
    }

    /// Step 3: the runtime takes no more requests, finishes its turns and commits what they wrote.
    func stopRuntime() async {
        await once(.runtime) { [self] in
            if await !untilDeadline(runtimeGrace, { [runtime] in await runtime.stopTurns() }) {
                logger.warning("runtime did not stop within the drain timeout; closing anyway")
            }
        }
    }

    /// Step 4: the outbox publishes every committed event not published yet (a restart would republish
    /// them anyway; this spares subscribers the replay).
    func flushOutbox() async {
        await once(.outbox) { [self] in
            if await !untilDeadline(runtimeGrace, { [runtime] in await runtime.flushOutbox() }) {
                logger.warning("outbox not flushed within the drain timeout; the next start republishes the rest")
            }
        }
    }

    /// Step 5: the sockets, the ZAP handler and the store close; the data directory's lock goes last.
    func closeResources() async {
        await once(.close) { [self] in
            await gateway.stopForwarding()
            await gateway.ingress.close()
            await gateway.control.close()
            await gateway.peer?.close()
            await eventsSocket.close()
            await ingressLoop.shutdown()
            await outputLoop.shutdown()
            await authenticator?.stop()
            liveEvents.finish()
            if closesStore {
                // The file is closed before the lock goes, so the next server never shares it with this one.
                try? await store.close()
                storeDirectory?.release()
            }
            logger.info("stopped")
        }
    }

    /// The server as `Service`s for a `ServiceGroup`, in start order: output (sockets, store), outbox,
    /// runtime, scheduler, gateway. Everything is already running once `start` returned (binding and recovery
    /// fail fast there, before a group exists); each service waits for the group's graceful shutdown and
    /// then takes its step of `stop()`. The group shuts services down in reverse order, one after the
    /// other: the gateway drains first, the sockets and the store close last. Add services that must stop
    /// before the gateway (an HTTP front) after these.
    public var services: [any Service] {
        [
            ServerStepService(name: "output", step: { [self] in await closeResources() }, stopAll: { [self] in await stop() }),
            ServerStepService(name: "outbox", step: { [self] in await flushOutbox() }, stopAll: { [self] in await stop() }),
            ServerStepService(name: "runtime", step: { [self] in await stopRuntime() }, stopAll: { [self] in await stop() }),
            ServerStepService(name: "scheduler", step: { [self] in await stopTimers() }, stopAll: { [self] in await stop() }),
            ServerStepService(name: "gateway", step: { [self] in await drainGateway() }, stopAll: { [self] in await stop() }),
        ]
    }
}

/// The stop steps started so far (their tasks, awaited by every later caller) and their order.
struct StopSteps {
    var tasks: [AbmServer.StopStep: Task<Void, Never>] = [:]
    var order: [AbmServer.StopStep] = []
}

/// A part of the running server as a `Service`: it waits for the group's graceful shutdown and then takes
/// its step of `AbmServer.stop()` (the group has stopped the services after it by then). When the group is
/// cancelled instead, services are no longer stopped one after the other: each then runs the whole
/// `stop()`, whose steps run once and in order whoever asks, so nothing closes under a drain.
struct ServerStepService: Service, CustomStringConvertible {
    let name: String
    let step: @Sendable () async -> Void
    let stopAll: @Sendable () async -> Void

    var description: String { "abm.\(name)" }

    func run() async throws {
        do {
            try await gracefulShutdown()
            await step()
        } catch {
            await stopAll()
        }
    }
}
