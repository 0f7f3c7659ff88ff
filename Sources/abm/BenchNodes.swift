import AbmClientKit
import AbmWire
import ArgumentParser
import Foundation
import ZeroMQ

/// `abm bench-nodes`: the figures of running servers (one node, or the nodes of a cluster), next to a no-op
/// ROUTER measured in the same run. Benchmarks/cluster-bench drives it for SQLite and 1, 2, 3 PostgreSQL nodes.
struct BenchNodes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-nodes",
        abstract: "Benchmark running servers: acked leads/s over their ingress sockets, then touchpoints/s of a clock.advance on every node.",
        discussion: """
        The servers must run with --virtual-clock (the same instant on every node) and an empty store. \
        (0) the reference: --producers DEALERs × --window in flight against a no-op ROUTER in this process. \
        (1) ingest: the same load against the servers, producer P connected to --ingress[P mod N]; a node \
        forwards the leads of accounts another node owns (abm serve --peer). Leads/s from the start barrier \
        to the last ack. (2) touchpoints: one clock.advance of --advance-days sent to every --control at once; \
        touchpoints/s = touchpoint.due events committed (counted by replay) / the time until the last node \
        answered. Build with `swift build -c release --product abm` first.
        """)

    @Option(help: "Ingress endpoints of the nodes, comma-separated.") var ingress: String
    @Option(help: "Control endpoints of the nodes, comma-separated (one per node).") var control: String
    @Option(help: "Leads in total, split over the producers.") var leads: Int = 100_000
    @Option(help: "Producer connections (DEALERs).") var producers: Int = 4
    @Option(help: "Requests in flight per producer.") var window: Int = 1000
    @Option(name: .customLong("advance-days"), help: "Days of the clock.advance in (2).") var advanceDays: Int = 30
    @Option(help: "ingest: (0) and (1) only; advance: (2) only, after an ingest run (to measure each phase from outside).")
    var phase: Phase?

    enum Phase: String, ExpressibleByArgument { case ingest, advance }

    private var ingressList: [String] { ingress.split(separator: ",").map(String.init) }
    private var controlList: [String] { control.split(separator: ",").map(String.init) }

    func validate() throws {
        guard !ingressList.isEmpty, !controlList.isEmpty else { throw ValidationError("--ingress and --control need an endpoint each at least") }
        guard leads >= producers, producers >= 1, producers <= 64 else { throw ValidationError("need 1…64 producers and at least one lead each") }
        guard window >= 1, window <= 100_000 else { throw ValidationError("--window must be in 1…100000") }
        guard advanceDays >= 1, advanceDays <= 365 else { throw ValidationError("--advance-days must be in 1…365") }
    }

    func run() async throws {
        let context = try ZMQContext(ioThreads: 2)
        if phase != .advance { try await ingestPhase(context) }
        if phase != .ingest { try await advancePhase(context) }
    }

    /// The load average over the last minute, 5 and 15 minutes.
    private var loadAverage: String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }

    private func ingestPhase(_ context: ZMQContext) async throws {
        let progress = Progress()
        let perProducer = leads / producers
        let total = perProducer * producers
        let (producers, window, ingress) = (self.producers, self.window, ingressList)
        progress.line("bench-nodes: \(total) leads over \(producers) DEALERs × \(window) in flight, \(ingress.count) ingress endpoint(s)")

        let noop = try await onThread(name: "abm-bench-noop-load") {
            let router = try NoOpRouter(context: context, expected: total)
            let outcome = try LeadLoad.run(context: context, endpoint: router.endpoint, producers: producers,
                                           perProducer: perProducer, window: window, prefix: "noop")
            router.wait()
            return outcome
        }
        progress.line(String(format: "no-op ROUTER: %.0f acks/s", noop.rate))

        let clientCPU = ProcessCPU.now()
        let ingest = try await onThread(name: "abm-bench-load") {
            try LeadLoad.run(context: context, endpoints: ingress, producers: producers, perProducer: perProducer,
                             window: window, prefix: "acct-\(UUID().uuidString.prefix(6))",
                             progress: { progress.update("servers: \($0) acked") })
        }
        let clientSeconds = ProcessCPU.now().since(clientCPU)
        print(String(format: """
        nodes %d: %9.0f acked leads/s (%d leads, %.3f s, %d refused); no-op ROUTER %9.0f acks/s; ratio %.3f; \
        client CPU %.1f s; load average %@
        """, ingress.count, ingest.rate, ingest.leads, ingest.seconds, ingest.refused, noop.rate, ingest.rate / noop.rate,
                     clientSeconds, loadAverage))
        if ingest.refused > 0 {
            print("first refusal: \(ingest.firstRefusal ?? "?")")
            throw ExitCode(1)
        }
    }

    private func advancePhase(_ context: ZMQContext) async throws {
        let control = controlList
        let beforeAdvance = try await lastSeq(context, control[0])
        let seconds = Double(advanceDays) * 86_400
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (k, endpoint) in control.enumerated() {
                group.addTask {
                    _ = try await onThread(name: "abm-bench-advance-\(k)") {
                        let channel = try RequestChannel(context: context, endpoint: endpoint)
                        let reply = try channel.request(Requests.clockAdvance(seconds: seconds, id: "bench-advance-\(UUID().uuidString)"),
                                                        timeoutMilliseconds: 1_800_000)
                        guard reply["ok"] == .bool(true) else { throw BenchError("clock.advance at \(endpoint): \(reply)") }
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = started.duration(to: .now)
        let advanceSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let (touchpoints, events) = try await count(context, control[0], after: beforeAdvance)
        print(String(format: "nodes %d: %9.0f touchpoints/s (%d touchpoint.due of %d events in a %d-day advance of every node, %.3f s); load average %@",
                     control.count, Double(touchpoints) / advanceSeconds, touchpoints, events, advanceDays, advanceSeconds,
                     loadAverage))
    }

    /// The log's last seq (an `events` request: its reply carries `last_seq`).
    private func lastSeq(_ context: ZMQContext, _ endpoint: String) async throws -> Int64 {
        try await onThread(name: "abm-bench-seq") {
            let channel = try RequestChannel(context: context, endpoint: endpoint)
            let reply = try channel.request(Requests.events(afterSeq: Int64.max - 1, limit: 1), timeoutMilliseconds: 30_000)
            guard case .int(let seq)? = reply["last_seq"] else { throw BenchError("events at \(endpoint): \(reply)") }
            return seq
        }
    }

    /// Touchpoints (`touchpoint.due`) and events in the log after `after`, by replay.
    private func count(_ context: ZMQContext, _ endpoint: String, after: Int64) async throws -> (touchpoints: Int, events: Int) {
        try await onThread(name: "abm-bench-count") {
            let channel = try RequestChannel(context: context, endpoint: endpoint)
            var (touchpoints, events, seq) = (0, 0, after)
            while true {
                let reply = try channel.request(Requests.events(afterSeq: seq, limit: WireLimits.maxEventsLimit),
                                                timeoutMilliseconds: 30_000)
                guard let page = reply["events"]?.arrayValue else { throw BenchError("events at \(endpoint): \(reply)") }
                for event in page {
                    guard case .int(let s)? = event["seq"] else { throw BenchError("an event without seq: \(event)") }
                    seq = s
                    events += 1
                    if event["type"] == .string("touchpoint.due") { touchpoints += 1 }
                }
                if page.count < WireLimits.maxEventsLimit { break }
            }
            return (touchpoints, events)
        }
    }
}
