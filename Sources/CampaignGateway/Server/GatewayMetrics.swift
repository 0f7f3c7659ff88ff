import AbmWire
import CampaignRuntime
import CoreMetrics
import Foundation

/// The gateway's swift-metrics instruments. Ingress is counted once per batch (a few counter updates per
/// batch of up to 256 requests, not one per request): the ingest path stays as fast as without metrics.
public struct GatewayMetrics: Sendable {
    /// `abm_requests_total{type, outcome}`: requests by wire type and outcome — `accepted`, `duplicate`,
    /// `rejected` (refused with an error code, malformed ones included) and `rate_limited`.
    public static let requests = "abm_requests_total"
    /// `abm_ack_latency_seconds{socket}`: from a request's arrival to its reply being queued for sending.
    /// Ingress records one observation per batch (all of a batch's requests are answered together);
    /// control one per request.
    public static let ackLatency = "abm_ack_latency_seconds"
    /// `abm_replay_requests_total`: `events` requests (subscribers catching up by seq).
    public static let replayRequests = "abm_replay_requests_total"
    /// `abm_forwarded_requests_total{outcome}`: requests this node forwarded to the node owning their account
    /// (`abm serve --peer`): `answered` (the owner's reply relayed) or `failed` (no answer: refused `internal`).
    public static let forwardedRequests = "abm_forwarded_requests_total"

    static let types = ["lead", "response", "pause", "resume", "cancel", "status", "events", "clock.advance", "list",
                        "stats", "unknown"]
    enum Outcome: String, CaseIterable { case accepted, duplicate, rejected, rateLimited = "rate_limited" }

    private let counters: [String: Counter]
    private let ingressLatency: CoreMetrics.Timer
    private let controlLatency: CoreMetrics.Timer
    let replays: Counter
    let forwardedAnswered: Counter
    let forwardedFailed: Counter

    init(factory: (any MetricsFactory)?) {
        let factory = factory ?? MetricsSystem.factory
        var counters: [String: Counter] = [:]
        for type in Self.types {
            for outcome in Outcome.allCases {
                counters[Self.key(type, outcome)] = Counter(label: Self.requests,
                                                            dimensions: [("type", type), ("outcome", outcome.rawValue)],
                                                            factory: factory)
            }
        }
        self.counters = counters
        ingressLatency = CoreMetrics.Timer(label: Self.ackLatency, dimensions: [("socket", "ingress")], factory: factory)
        controlLatency = CoreMetrics.Timer(label: Self.ackLatency, dimensions: [("socket", "control")], factory: factory)
        replays = Counter(label: Self.replayRequests, dimensions: [], factory: factory)
        forwardedAnswered = Counter(label: Self.forwardedRequests, dimensions: [("outcome", "answered")], factory: factory)
        forwardedFailed = Counter(label: Self.forwardedRequests, dimensions: [("outcome", "failed")], factory: factory)
    }

    private static func key(_ type: String, _ outcome: Outcome) -> String { type + "|" + outcome.rawValue }

    /// One forwarded request's outcome.
    func forwarded(_ outcome: ForwardOutcome) {
        switch outcome {
        case .reply: forwardedAnswered.increment()
        case .failed: forwardedFailed.increment()
        }
    }

    func count(_ type: String, _ outcome: Outcome, by n: Int = 1) {
        guard n > 0 else { return }
        (counters[Self.key(type, outcome)] ?? counters[Self.key("unknown", outcome)])?.increment(by: Int64(n))
    }

    /// One ingress batch answered: its acks tallied by type and status, and its latency once.
    func ingressBatch(_ requests: [IngressRequest], _ statuses: some Sequence<ReplyStatus>, since start: ContinuousClock.Instant) {
        var tally = [0, 0, 0, 0, 0, 0]  // lead accepted/duplicate/rejected, response accepted/duplicate/rejected
        for (request, status) in zip(requests, statuses) {
            let base: Int
            if case .lead = request { base = 0 } else { base = 3 }
            switch status {
            case .accepted: tally[base] += 1
            case .duplicate: tally[base + 1] += 1
            case .rejected: tally[base + 2] += 1
            }
        }
        for (i, type) in ["lead", "response"].enumerated() {
            count(type, .accepted, by: tally[i * 3])
            count(type, .duplicate, by: tally[i * 3 + 1])
            count(type, .rejected, by: tally[i * 3 + 2])
        }
        ingressLatency.recordNanoseconds(RuntimeMetrics.nanoseconds(since: start))
    }

    func controlAnswered(_ type: String, ok: Bool, since start: ContinuousClock.Instant) {
        count(type, ok ? .accepted : .rejected)
        controlLatency.recordNanoseconds(RuntimeMetrics.nanoseconds(since: start))
    }
}
