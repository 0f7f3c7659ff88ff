import AbmWire
import CoreMetrics
import Foundation

/// The runtime's swift-metrics instruments, recorded once per commit or publish batch (never per
/// request). Names are Prometheus-style; the HTTP endpoint exports them (`/metrics`).
///
/// Gauges that describe the state (campaigns resident, timers, parked, outbox lag) are not kept here:
/// the exporter reads them at scrape time (`CampaignRuntime.campaignStats()`), which costs the runtime
/// nothing between scrapes.
public struct RuntimeMetrics: Sendable {
    /// Writes per group commit (a histogram: `abm_commit_batch_writes`).
    public static let commitBatchWrites = "abm_commit_batch_writes"
    /// Seconds per group commit, one transaction and fsync (`abm_commit_duration_seconds`).
    public static let commitDuration = "abm_commit_duration_seconds"
    /// Group commits that failed (each write is then retried alone).
    public static let commitFailures = "abm_commit_failures_total"
    /// Events handed to the events socket, republished ones included.
    public static let eventsPublished = "abm_events_published_total"

    /// The histogram buckets of `commitBatchWrites`.
    public static let commitBatchBuckets: [Double] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000]

    let batchWrites: Recorder
    let duration: CoreMetrics.Timer
    let failures: Counter
    let published: Counter

    /// Instruments made by `factory` (nil: the process-wide `MetricsSystem.factory`, a no-op until bootstrapped).
    public init(factory: (any MetricsFactory)? = nil) {
        let factory = factory ?? MetricsSystem.factory
        batchWrites = Recorder(label: Self.commitBatchWrites, dimensions: [], aggregate: true, factory: factory)
        duration = CoreMetrics.Timer(label: Self.commitDuration, dimensions: [], factory: factory)
        failures = Counter(label: Self.commitFailures, dimensions: [], factory: factory)
        published = Counter(label: Self.eventsPublished, dimensions: [], factory: factory)
    }

    func committed(writes: Int, since start: ContinuousClock.Instant) {
        batchWrites.record(writes)
        duration.recordNanoseconds(Self.nanoseconds(since: start))
    }

    public static func nanoseconds(since start: ContinuousClock.Instant) -> Int64 {
        let d = ContinuousClock.now - start
        return d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }
}
