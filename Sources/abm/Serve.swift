import ArgumentParser
import CampaignCore
import CampaignGateway
import Dispatch
import Foundation
import Logging

/// `abm serve`: the runtime behind its three ZeroMQ sockets, until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the campaign runtime: ingress and control ROUTERs, events PUB.",
        discussion: """
        On start it prints one line per bound socket, `<name> <endpoint>` (ingress, control, events), \
        then `ready`, on standard output; logs go to standard error. SIGTERM or SIGINT drains (requests \
        in flight are acknowledged, events published) and exits 0.
        """)

    @Option(help: "Ingress ROUTER endpoint (lead, response).")
    var ingress: String?

    @Option(help: "Control ROUTER endpoint (pause, resume, cancel, status, events, clock.advance).")
    var control: String?

    @Option(help: "Events PUB endpoint.")
    var events: String?

    @Option(name: .customLong("data-dir"), help: "Directory of the SQLite store (created when missing); `:memory:` keeps nothing. Default ./abm-data.")
    var dataDir: String?

    @Option(name: .customLong("virtual-clock"),
            help: "Run on a virtual clock starting at this ISO-8601 instant (e.g. 2026-03-02T09:00:00Z); enables clock.advance.")
    var virtualClock: String?

    @Option(help: "JSON configuration file: `campaign` (SPEC keys, templates), `runtime` (max_resident_campaigns, …), `endpoints`, `data_dir`, `virtual_clock`, `log_level`.")
    var config: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String?

    @Option(name: .customLong("drain-timeout"),
            help: "Seconds SIGTERM may spend answering requests already read (default 30); past it they are abandoned, never acked.")
    var drainTimeout: Double?

    func validate() throws {
        if let virtualClock, WireTime.parse(virtualClock) == nil {
            throw ValidationError("--virtual-clock: `\(virtualClock)` is not an ISO-8601 instant like 2026-03-02T09:00:00Z")
        }
        if let drainTimeout, !(drainTimeout >= 0 && drainTimeout <= 86_400) {
            throw ValidationError("--drain-timeout: must be a number of seconds in 0…86400")
        }
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level: `\(logLevel)` is not one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        var options = ServerOptions(dataDirectory: "./abm-data")
        if let config {
            do { try ServerConfigFile(contentsOf: config).apply(to: &options) } catch {
                throw ValidationError("--config: \(error.message)")
            }
        }
        if let ingress { options.endpoints.ingress = ingress }
        if let control { options.endpoints.control = control }
        if let events { options.endpoints.events = events }
        if let dataDir { options.dataDirectory = dataDir }
        if let virtualClock { options.virtualClockStart = WireTime.parse(virtualClock) }
        if let drainTimeout { options.drainTimeout = .milliseconds(Int(drainTimeout * 1000)) }
        let level = logLevel.flatMap(Logger.Level.init(rawValue:)) ?? options.logger.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "abm.server")
        logger.logLevel = level
        options.logger = logger

        // Signals are taken over before the sockets exist, so that an early SIGTERM still drains.
        let stop = SignalWaiter(signals: [SIGTERM, SIGINT])
        let server = try await AbmServer.start(options: options)
        // Unbuffered, so that a parent process reading a pipe sees the lines at once.
        FileHandle.standardOutput.write(Data((server.endpoints.description + "\nready\n").utf8))
        let signal = await stop.wait()
        logger.info("draining", metadata: ["signal": "\(signal)"])
        await server.stop()
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

    func wait() async -> Int32 {
        for await sig in stream { return sig }
        return 0
    }
}
