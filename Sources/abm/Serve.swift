import AbmHTTP
import AbmWire
import ArgumentParser
import CampaignCore
import CampaignGateway
import CampaignPostgres
import CampaignRuntime
import CampaignStore
import ZeroMQ
import Dispatch
import Foundation
import Logging
import ServiceLifecycle

/// `abm serve`: the runtime behind its three ZeroMQ sockets, until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the campaign runtime: ingress and control ROUTERs, events PUB.",
        discussion: """
        On start it prints one line per bound socket, `<name> <endpoint>` (ingress, control, events), \
        then `ready`, on standard output; logs go to standard error. SIGTERM or SIGINT drains (requests \
        in flight are acknowledged, events published) and exits 0. With CURVE, SIGHUP reloads the three \
        allow-lists (a list that does not parse is refused and the previous ones stay). Binding an endpoint \
        that is not loopback needs CURVE or --insecure. With --http, an HTTP endpoint serves /metrics \
        (Prometheus), /healthz, /readyz and the live dashboard at /; its line `http <url>` comes before `ready`.
        """)

    @Option(help: "Ingress ROUTER endpoint (lead, response).")
    var ingress: String?

    @Option(help: "Control ROUTER endpoint (pause, resume, cancel, status, events, clock.advance, list, stats).")
    var control: String?

    @Option(help: "Events PUB endpoint.")
    var events: String?

    @Option(name: .customLong("data-dir"), help: "Directory of the SQLite store (created when missing); `:memory:` keeps nothing. Default ./abm-data.")
    var dataDir: String?

    @Option(help: ArgumentHelp(
        "Use a PostgreSQL store instead of the SQLite one of --data-dir: postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable]. The schema is created or migrated at start.",
        valueName: "URL"))
    var store: String?

    @Option(name: .customLong("node-id"), help: ArgumentHelp(
        "This process's name as the owner of the store's shard leases (and its PostgreSQL application_name). Default HOST:PID.",
        valueName: "NAME"))
    var nodeId: String?

    @Option(help: ArgumentHelp(
        "With --store: this node's internal ROUTER, where other nodes forward the requests of the shards it owns (any node then accepts any request). Give an address the other nodes reach: tcp://HOST:PORT (PORT * takes a free one).",
        valueName: "tcp://HOST:PORT"))
    var peer: String?

    @Option(name: .customLong("virtual-clock"),
            help: "Run on a virtual clock starting at this ISO-8601 instant (e.g. 2026-03-02T09:00:00Z); enables clock.advance.")
    var virtualClock: String?

    @Option(help: "JSON configuration file: `campaign` (docs/campaign-behaviour.md keys, templates), `runtime` (max_resident_campaigns, …), `endpoints`, `data_dir`, `virtual_clock`, `log_level`, `log_format`, `curve`, `insecure`.")
    var config: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String?

    @Option(name: .customLong("log-format"), help: "logfmt (default) or json: one structured line an event on standard error.")
    var logFormat: String?

    @Option(name: .customLong("drain-timeout"),
            help: "Seconds SIGTERM may spend answering requests already read (default 30); past it they are abandoned, never acked.")
    var drainTimeout: Double?

    @Option(name: .customLong("max-bytes-per-second-per-peer"),
            help: "Request bytes per second one client connection may send on ingress and on control (default 134217728 = 128 MiB); past it, rate_limited.")
    var maxBytesPerSecondPerPeer: Int?

    @Option(name: .customLong("curve-secret-key"), help: ArgumentHelp(
        "Turn CURVE on for all three sockets with this server secret key file (NAME.key from `abm keygen`); needs the three --allow- lists.",
        valueName: "FILE"))
    var curveSecretKey: String?

    @Option(name: .customLong("allow-producers"), help: ArgumentHelp(
        "Client public keys admitted on ingress: one Z85 key a line, # comments. Reloaded on SIGHUP.", valueName: "FILE"))
    var allowProducers: String?

    @Option(name: .customLong("allow-operators"), help: ArgumentHelp(
        "Client public keys admitted on control (same format). Reloaded on SIGHUP.", valueName: "FILE"))
    var allowOperators: String?

    @Option(name: .customLong("allow-subscribers"), help: ArgumentHelp(
        "Client public keys admitted on events (same format). Reloaded on SIGHUP.", valueName: "FILE"))
    var allowSubscribers: String?

    @Flag(help: "Allow binding non-loopback endpoints without CURVE (plaintext, anyone who can connect is admitted).")
    var insecure = false

    @Option(help: ArgumentHelp(
        "Serve /metrics, /healthz, /readyz and the dashboard over HTTP here (e.g. 127.0.0.1:5573; port 0 picks one). Off when not given. No authentication: a non-loopback address needs --insecure.",
        valueName: "HOST:PORT"))
    var http: String?

    @Option(help: ArgumentHelp("Prune events older than this many days (0: keep forever, the default). A subscriber replaying from before the oldest kept event gets events_pruned.", valueName: "DAYS"))
    var retainEventsDays: Double?

    @Option(help: ArgumentHelp("Prune request ids older than this many days (default 30; 0: keep forever). A pruned id sent again is a new request.", valueName: "DAYS"))
    var retainRequestIdsDays: Double?

    func validate() throws {
        let curveFlags = [curveSecretKey, allowProducers, allowOperators, allowSubscribers]
        if curveFlags.contains(where: { $0 != nil }) && curveFlags.contains(where: { $0 == nil }) {
            throw ValidationError("--curve-secret-key, --allow-producers, --allow-operators and --allow-subscribers go together "
                                  + "(an empty list file admits no one)")
        }
        if let virtualClock, WireTime.parse(virtualClock) == nil {
            throw ValidationError("--virtual-clock: `\(virtualClock)` is not an ISO-8601 instant like 2026-03-02T09:00:00Z")
        }
        if let store {
            if dataDir != nil { throw ValidationError("--store and --data-dir exclude each other (one store per server)") }
            do { _ = try PostgresStoreConfiguration(url: store) } catch { throw ValidationError("--store: \(error)") }
        }
        if let peer {
            guard store != nil else { throw ValidationError("--peer needs --store postgresql://… (a cluster shares one PostgreSQL store)") }
            guard peer.hasPrefix("tcp://"), let colon = peer.lastIndex(of: ":"), colon > peer.index(peer.startIndex, offsetBy: 6) else {
                throw ValidationError("--peer: `\(peer)` is not tcp://HOST:PORT")
            }
            let host = peer[peer.index(peer.startIndex, offsetBy: 6)..<colon]
            if ["*", "0.0.0.0", "[::]", "::"].contains(host) {
                throw ValidationError("--peer: `\(peer)` binds every interface; give the address the other nodes reach this one at (it is advertised to them)")
            }
        }
        if let nodeId, nodeId.isEmpty || nodeId.count > 200 {
            throw ValidationError("--node-id: 1 to 200 characters")
        }
        if let drainTimeout, !(drainTimeout >= 0 && drainTimeout <= 86_400) {
            throw ValidationError("--drain-timeout: must be a number of seconds in 0…86400")
        }
        if let logFormat, LogFormat(rawValue: logFormat) == nil {
            throw ValidationError("--log-format: `\(logFormat)` is not one of logfmt, json")
        }
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level: `\(logLevel)` is not one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        var options = ServerOptions(dataDirectory: "./abm-data")
        var fileLogFormat: LogFormat?
        var fileHTTP: String?
        if let config {
            do {
                let file = try ServerConfigFile(contentsOf: config)
                file.apply(to: &options)
                fileLogFormat = file.logFormat
                fileHTTP = file.http
            } catch {
                throw ValidationError("--config: \(error.message)")
            }
        }
        // Always versioned: a restart with a new configuration adds a version and leaves running campaigns alone.
        if options.playbooks == nil { options.playbooks = ServerConfigFile().playbookDefinitions }
        if let ingress { options.endpoints.ingress = ingress }
        if let control { options.endpoints.control = control }
        if let events { options.endpoints.events = events }
        if let dataDir { options.dataDirectory = dataDir }
        if let virtualClock { options.virtualClockStart = WireTime.parse(virtualClock) }
        if let drainTimeout { options.drainTimeout = .milliseconds(Int(drainTimeout * 1000)) }
        if let maxBytesPerSecondPerPeer {
            guard maxBytesPerSecondPerPeer > 0 else {
                throw ValidationError("--max-bytes-per-second-per-peer must be a positive number of bytes")
            }
            options.maxBytesPerSecondPerPeer = maxBytesPerSecondPerPeer
        }
        if let curveSecretKey, let allowProducers, let allowOperators, let allowSubscribers {
            options.curve = CurveServerSettings(secretKeyFile: curveSecretKey, producersFile: allowProducers,
                                                operatorsFile: allowOperators, subscribersFile: allowSubscribers)
        }
        if insecure { options.insecure = true }
        for (flag, value, set) in [("--retain-events-days", retainEventsDays, { (o: inout ServerOptions, v: TimeInterval?) in o.runtime.retention.events = v }),
                                   ("--retain-request-ids-days", retainRequestIdsDays, { (o: inout ServerOptions, v: TimeInterval?) in o.runtime.retention.requestIds = v })] {
            guard let value else { continue }
            do { set(&options, try ServerConfigFile.days(.double(value), flag)) } catch { throw ValidationError(error.message) }
        }
        let http = self.http ?? fileHTTP
        if let http {
            let address: HTTPOptions
            do { address = try HTTPOptions(parsing: http) } catch { throw ValidationError("--http: \(error.message)") }
            if !address.isLoopback && !options.insecure {
                throw ValidationError("--http: `\(address.host)` is not loopback; the dashboard can pause and cancel campaigns "
                                      + "and has no authentication: put it behind an authenticating proxy and add --insecure")
            }
        }
        let level = logLevel.flatMap(Logger.Level.init(rawValue:)) ?? options.logger.logLevel
        let format = logFormat.flatMap(LogFormat.init(rawValue:)) ?? fileLogFormat ?? .logfmt
        LoggingSystem.bootstrap { label in
            StructuredLogHandler(label: label, format: format, level: level)
        }
        var logger = Logger(label: "abm.server")
        logger.logLevel = level
        options.logger = logger
        if let nodeId { options.runtime.owner = nodeId }
        options.peerEndpoint = peer
        var storeName = options.isInMemory ? "memory" : "sqlite:" + options.dataDirectory! + "/" + ServerOptions.databaseFileName
        if let store {
            // Shared with other nodes: shards come and go one placement round at a time (ClusterMember below).
            options.runtime.takesAllShardsAtStart = false
            var configuration = try PostgresStoreConfiguration(url: store)
            if let nodeId { configuration.applicationName = "abm-" + nodeId }
            storeName = configuration.redactedURL
            // Every node publishes the whole log, its peers' commits included (polled every 10 ms: the
            // latency a subscriber of this node sees for another node's event).
            options.runtime.eventFeed = .storeLog(pollInterval: .milliseconds(10))
            // Publishing stops once this node's own clock says its liveness row may have expired (a pause).
            let lease = LivenessLease(ttl: LivenessConfiguration().ttl)
            options.runtime.liveness = lease
            // Joined before the runtime takes its shards, so that its leases live as long as this process's liveness
            // row; a second live process with the same --node-id is refused here (store.node_in_use).
            options.openStore = { [configuration, logger, owner = options.runtime.owner] in
                let store = try await PostgresStore(configuration: configuration, logger: logger)
                let sent = ContinuousClock.now
                do {
                    _ = try await store.joinCluster(nodeId: owner, ttl: LivenessConfiguration().ttl)
                    lease.renewed(sentAt: sent)
                } catch {
                    try? await store.close()
                    throw error
                }
                return store
            }
        }
        logger.info("starting", metadata: [
            "version": "\(AbmVersion.current)", "protocol": "\(AbmVersion.wireProtocol)",
            "store": "\(storeName)", "owner": "\(options.runtime.owner)",
            "clock": "\(options.virtualClockStart.map { "virtual:" + WireTime.format($0) } ?? "wall")",
            "config": "\(config ?? "none")", "pid": "\(getpid())",
            "curve": "\(options.curve != nil ? "on" : "off")", "log_format": "\(format.rawValue)",
            "http": "\(http ?? "off")",
        ])
        let exporter = http == nil ? nil : MetricsExporter()
        options.runtime.metricsFactory = exporter?.factory

        // Signals are taken over before the sockets exist, so that an early SIGTERM still drains (the
        // service group's own signal handling would start only once the group runs).
        let stop = SignalWaiter(signals: [SIGTERM, SIGINT])
        // SIGHUP reloads the allow-lists (and, without CURVE, is ignored rather than killing the server).
        let hangup = SignalWaiter(signals: [SIGHUP])
        let server: AbmServer
        do { server = try await AbmServer.start(options: options) } catch let error as SecurityError {
            // A key file or bind-rule problem is the operator's to fix: one clear line, exit status 2.
            logger.error("\(error)")
            throw ExitCode(2)
        } catch {
            logger.error("start failed", metadata: ["error": "\(error)"])
            throw error
        }
        let reloader = Task { [logger] in
            while await hangup.wait() != 0 {
                guard server.authenticationStatistics != nil else { continue }
                do {
                    let lists = try await server.reloadAllowLists()
                    logger.notice("allow-lists reloaded", metadata: [
                        "producers": "\(lists.producers.count)", "operators": "\(lists.operators.count)",
                        "subscribers": "\(lists.subscribers.count)",
                    ])
                } catch let error as SecurityError where error.code == SecurityError.rebindFailed {
                    logger.critical("allow-lists reloaded, but a socket could not be bound again: \(error)")
                } catch {
                    logger.error("allow-lists not reloaded, the previous ones stay in force: \(error)")
                }
            }
        }
        defer { reloader.cancel() }

        // The server's parts as services, then the HTTP front (stopped before the gateway drains; it ends its
        // event streams itself), then systemd's notifier (so that it says STOPPING first).
        var services = server.services
        var httpServer: OperatorHTTPServer?
        if let address = http, let exporter {
            let front = OperatorHTTPServer(options: try HTTPOptions(parsing: address), server: server, exporter: exporter,
                                           logger: logger)
            services.append(front)
            httpServer = front
        }
        let notifier = SystemdNotifier(socketPath: ProcessInfo.processInfo.environment["NOTIFY_SOCKET"])
        services.append(SystemdNotifyService(notifier: notifier, status: "serving \(server.endpoints.ingress)", logger: logger,
                                             ready: { [httpServer] in await httpServer?.port() != nil || httpServer == nil }))
        var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        // A backstop only: every step is bounded by the drain timeout already (drain, then the runtime).
        groupConfiguration.maximumGracefulShutdownDuration = options.drainTimeout * 2 + .seconds(10)
        let group = ServiceGroup(configuration: groupConfiguration)
        // On PostgreSQL: this node's share of the shards, placed every 500 ms. The first round runs before
        // "ready", so that a node alone serves every shard from its first request.
        if let store = server.store as? PostgresStore, let node = store.node, let endpoint = server.peerEndpoint {
            // Advertised before this node owns anything: peers forward to it from their next round on.
            do { try await store.advertisePeerEndpoint(endpoint, node: node) } catch {
                logger.error("could not advertise the peer endpoint", metadata: ["error": "\(error)"])
                await server.stop()
                throw ExitCode(1)
            }
        }
        let cluster = await ClusterPlacement.start(server: server, logger: logger)
        let trigger = Task { [logger] in
            let signal = await stop.wait()
            guard signal != 0 else { return }
            logger.info("draining", metadata: ["signal": "\(signal)"])
            // Shards first: peers take them at their next round while this node drains the rest (requests of
            // released shards are answered not_owner); leaving the cluster follows the last write (store close).
            if let cluster {
                await cluster.stop(releasing: true)
                // One placement round: peers route this node's released shards to their new owners before it
                // stops reading forwarded requests (meanwhile it answers them `not_owner` at once).
                if server.peerEndpoint != nil { try? await Task.sleep(for: ClusterPlacement.roundInterval + .milliseconds(100)) }
            }
            await group.triggerGracefulShutdown()
        }
        defer { trigger.cancel() }
        let running = Task { try await group.run() }
        // The liveness row is renewed on the database clock; losing it (another process took this node id over)
        // stops the server: its writes are fenced from then on anyway.
        let lease = options.runtime.liveness
        let heartbeat = (server.store as? PostgresStore).flatMap { store in
            store.node.map { node in
                Task { [logger] in
                    let heartbeat = NodeHeartbeat(store: store, node: node, configuration: LivenessConfiguration(), logger: logger)
                    await heartbeat.run(onRenewed: { lease?.renewed(sentAt: $0) }) {
                        await cluster?.stop(releasing: false)
                        await group.triggerGracefulShutdown()
                    }
                }
            }
        }
        defer { heartbeat?.cancel() }
        var lines = server.endpoints.description + "\n"
        if let endpoint = server.peerEndpoint { lines += "peer \(endpoint)\n" }
        if let httpServer, let address = http {
            guard let port = await httpServer.port() else {
                // The HTTP front could not listen: the group stopped the server (in order); say why, exit 2.
                let outcome = await running.result
                logger.error("cannot serve HTTP on \(address)", metadata: ["error": "\(outcome)"])
                throw ExitCode(2)
            }
            let host = httpServer.options.host.contains(":") ? "[\(httpServer.options.host)]" : httpServer.options.host
            lines += "http http://\(host):\(port)/\n"
        }
        // Unbuffered, so that a parent process reading a pipe sees the lines at once.
        FileHandle.standardOutput.write(Data((lines + "ready\n").utf8))
        do { try await running.value } catch {
            logger.error("service group ended with an error", metadata: ["error": "\(error)"])
            await server.stop()
            throw ExitCode(1)
        }
    }
}

/// `abm serve --store postgresql://…`: the placement rounds of this node (`ClusterMember`), stopped once.
final class ClusterPlacement: Sendable {
    let member: ClusterMember
    private let rounds: Task<Void, Never>
    private let logger: Logger

    private init(member: ClusterMember, logger: Logger) {
        self.member = member
        self.logger = logger
        rounds = Task { await member.run(every: Self.roundInterval) }
    }

    /// How often placement runs (and the routing table is read again).
    static let roundInterval: Duration = .milliseconds(500)

    /// Starts the rounds when the server's store is a PostgreSQL store it joined; nil otherwise.
    static func start(server: AbmServer, logger: Logger) async -> ClusterPlacement? {
        guard let store = server.store as? PostgresStore, let node = store.node else { return nil }
        let member = ClusterMember(runtime: server.runtime, directory: store, nodeId: node.nodeId, routes: server.routes,
                                   logger: logger)
        do { try await member.round() } catch {
            logger.warning("first placement round failed; the next ones retry", metadata: ["error": "\(error)"])
        }
        logger.info("shards placed", metadata: ["owned": "\(server.runtime.ownedShards.count)"])
        return ClusterPlacement(member: member, logger: logger)
    }

    /// Ends the rounds; with `releasing`, gives every shard up (their turns finish first).
    func stop(releasing: Bool) async {
        rounds.cancel()
        await rounds.value
        guard releasing else { return }
        do {
            let released = try await member.releaseAll()
            logger.info("shards released", metadata: ["count": "\(released.count)"])
        } catch {
            logger.warning("shards not released; peers take them when this node leaves", metadata: ["error": "\(error)"])
        }
    }
}

/// Waits for the first of `signals` (their default action is disabled, so they do not kill the process).
final class SignalWaiter {
    private let sources: [any DispatchSourceSignal]
    private let stream: AsyncStream<Int32>

    init(signals: [Int32]) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        self.stream = stream
        sources = signals.map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { continuation.yield(sig) }
            source.resume()
            return source
        }
    }

    /// The next signal received (each delivery once), or 0 when the task is cancelled.
    func wait() async -> Int32 {
        for await sig in stream { return sig }
        return 0
    }
}
