import AbmWire
import AbmClientKit
import ArgumentParser
import CampaignCore
import CampaignGateway
import Foundation
import Logging
import Synchronization
import ZeroMQ

/// `abm bench`: (a) durable acknowledged lead ingest against an embedded server, next to a no-op
/// ROUTER in the same run; (b) response → `campaign.paused` latency under background lead load.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark: acked leads/s (server vs a no-op ROUTER) and response→pause latency under load.",
        discussion: """
        (a) --producers DEALER connections over tcp loopback, each keeping --window leads in flight, send \
        --leads distinct leads in total: first to a no-op ROUTER that acks without decoding or storing, \
        then to an embedded server (SQLite store in a temporary directory, virtual clock, so that no timer \
        fires meanwhile); leads/s from the start barrier to the last ack. \
        (b) While --background-rate leads/s stream in, sends --responses `reply` responses, one at a time, \
        for campaigns started in (a) and times each until its `campaign.paused` arrives on a SUB. \
        Build with `swift build -c release` first; a debug build measures the debug build.
        """)

    @Option(help: "Leads in total in (a), split over the producers.") var leads: Int = 100_000
    @Option(help: "Producer connections (DEALERs).") var producers: Int = 4
    @Option(help: "Requests in flight per producer.") var window: Int = 1000
    @Option(help: "Responses timed in (b).") var responses: Int = 1000
    @Option(name: .customLong("background-rate"),
            help: "Background leads/s during (b) (0 = none; default: half the server's rate measured in (a)).")
    var backgroundRate: Int?
    @Option(name: .customLong("data-dir"), help: "Directory for the store (default: a temporary one, removed).") var dataDir: String?
    @Option(name: .customLong("commit-batch"), help: "The server's runtime.max_commit_batch (writes per commit at most).")
    var commitBatch: Int?

    func validate() throws {
        guard leads >= producers, producers >= 1, producers <= 64 else { throw ValidationError("need 1…64 producers and at least one lead each") }
        guard window >= 1, window <= 100_000 else { throw ValidationError("--window must be in 1…100000") }
        guard responses >= 1, responses <= leads else { throw ValidationError("--responses must be in 1…--leads") }
        guard (backgroundRate ?? 0) >= 0 else { throw ValidationError("--background-rate must be ≥ 0") }
    }

    func run() async throws {
        let progress = Progress()
        let context = try ZMQContext(ioThreads: 2)
        let perProducer = leads / producers
        let total = perProducer * producers
        let (producers, window) = (self.producers, self.window)
        progress.line("bench: \(total) leads over \(producers) DEALERs × \(window) in flight, tcp loopback")

        // (a) baseline: the no-op ROUTER. CPU time of the whole process (getrusage) around each phase: the
        // no-op phase is what the clients and libzmq cost per ack, the server phase adds the server's cost.
        let noopCPU = ProcessCPU.now()
        let noop = try await onThread(name: "abm-bench-noop-load") {
            let router = try NoOpRouter(context: context, expected: total)
            let outcome = try LeadLoad.run(context: context, endpoint: router.endpoint, producers: producers,
                                           perProducer: perProducer, window: window, prefix: "noop",
                                           progress: { progress.update("no-op ROUTER: \($0) acked") })
            router.wait()
            return outcome
        }
        let noopMicros = ProcessCPU.now().since(noopCPU) / Double(max(1, noop.leads)) * 1e6
        progress.line(String(format: "no-op ROUTER: %d acks in %.3f s = %.0f acks/s", noop.leads, noop.seconds, noop.rate))

        // (a) the server.
        let temporary = dataDir == nil
        let directory = dataDir ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("abm-bench-\(UUID().uuidString.prefix(8))").path
        defer { if temporary { try? FileManager.default.removeItem(atPath: directory) } }
        var logger = Logger(label: "abm.bench")
        logger.logLevel = .warning
        var serverOptions = ServerOptions(endpoints: .ephemeral, dataDirectory: directory,
                                          virtualClockStart: WireTime.parse(DemoData.start), logger: logger)
        if let commitBatch { serverOptions.runtime.maxCommitBatch = commitBatch }
        let server = try await AbmServer.start(options: serverOptions)
        let endpoints = server.endpoints
        let outcome: Result<(LeadLoad.Outcome, [Double], LeadLoad.Outcome?, Int), any Error>
        var serverMicros = Double.nan
        do {
            let serverCPU = ProcessCPU.now()
            let ingest = try await onThread(name: "abm-bench-load") {
                try LeadLoad.run(context: context, endpoint: endpoints.ingress, producers: producers,
                                 perProducer: perProducer, window: window, prefix: "acct",
                                 progress: { progress.update("server: \($0) acked") })
            }
            serverMicros = ProcessCPU.now().since(serverCPU) / Double(max(1, ingest.leads)) * 1e6
            progress.line(String(format: "server: %d acks in %.3f s = %.0f leads/s (%d refused)%@",
                                 ingest.leads, ingest.seconds, ingest.rate, ingest.refused,
                                 ingest.firstRefusal.map { ", first: \($0)" } ?? ""))

            // (b) latency under background load.
            let accounts = (0..<responses).map { "acct-\($0 % producers)-\($0 / producers)" }
            let stop = StopFlag()
            // Below the server's capacity, so that (b) measures latency under load, not queueing.
            let rate = backgroundRate ?? Int(ingest.rate / 2)
            let background: Task<LeadLoad.Outcome?, any Error> = Task {
                guard rate > 0 else { return nil }
                let bgProducers = 2
                let count = min(rate * 60 / bgProducers, 1_000_000)
                return try await onThread(name: "abm-bench-background") {
                    try LeadLoad.run(context: context, endpoint: endpoints.ingress, producers: bgProducers,
                                     perProducer: count, window: window, prefix: "bg", rate: Double(rate),
                                     stop: { stop.isSet })
                }
            }
            let latencies = try await onThread(name: "abm-bench-latency") {
                // Let the background load reach its pace first.
                Thread.sleep(forTimeInterval: rate > 0 ? 0.5 : 0)
                defer { stop.set() }
                return try PauseLatency.measure(context: context, ingress: endpoints.ingress, events: endpoints.events,
                                                accounts: accounts, progress: { progress.update("latency: \($0) responses") })
            }
            stop.set()
            let bg = try await background.value
            outcome = .success((ingest, latencies, bg, rate))
        } catch {
            outcome = .failure(error)
        }
        await server.stop()
        let (ingest, latencies, bg, rate) = try outcome.get()
        let sorted = latencies.sorted()
        let p50 = PauseLatency.quantile(sorted, 0.5), p90 = PauseLatency.quantile(sorted, 0.9)
        let p99 = PauseLatency.quantile(sorted, 0.99), worst = sorted.last ?? .nan

        print(String(format: """
        (a) durable acked lead ingest, %d leads, %d DEALERs × %d in flight, tcp loopback, SQLite in %@:
            server:        %9.0f leads/s  (%.3f s, %d refused)
            no-op ROUTER:  %9.0f acks/s   (%.3f s)
            ratio server/no-op: %.2f
            CPU per acked lead (whole process, getrusage): %.1f µs; per no-op ack (clients + libzmq): %.1f µs;
            the server's own: %.1f µs
        (b) response → campaign.paused latency, %d responses one at a time%@:
            p50 %.3f ms   p90 %.3f ms   p99 %.3f ms   max %.3f ms
        """, total, producers, window, temporary ? "a temporary directory" : directory,
                     ingest.rate, ingest.seconds, ingest.refused, noop.rate, noop.seconds, ingest.rate / noop.rate,
                     serverMicros, noopMicros, serverMicros - noopMicros,
                     sorted.count,
                     bg.map { String(format: ", background %d leads acked at %.0f leads/s (target %d)", $0.leads, $0.rate, rate) }
                        ?? ", no background load",
                     p50, p90, p99, worst))
        if ingest.refused > 0 { throw ExitCode(1) }
    }
}

/// User + system CPU time of the whole process so far (getrusage), in seconds.
struct ProcessCPU {
    let seconds: Double

    static func now() -> ProcessCPU {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return ProcessCPU(seconds: s(usage.ru_utime) + s(usage.ru_stime))
    }

    func since(_ earlier: ProcessCPU) -> Double { seconds - earlier.seconds }
}

/// Tells the background producers to stop.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}
