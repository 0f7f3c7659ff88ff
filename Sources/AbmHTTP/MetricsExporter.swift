import AbmWire
import CampaignCore
import CampaignGateway
import CampaignRuntime

import Prometheus

/// The Prometheus side of the metrics: a registry that the runtime's and gateway's swift-metrics
/// instruments write into (`factory`), plus gauges of the runtime's state read at scrape time.
public final class MetricsExporter: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// Give it to `RuntimeConfiguration.metricsFactory` before the server starts.
    public let factory: PrometheusMetricsFactory

    private let campaigns: [CampaignStatus: Prometheus.Gauge]
    private let resident, passivated, parked, timersPending, timersOverdue, outboxLag, lastSeq, publishedSeq: Prometheus.Gauge
    private let ready: Prometheus.Gauge

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Request and commit latencies are sub-millisecond to a few hundred ms.
        let latency: [Duration] = [.microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
                                   .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                   .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)]
        factory.durationHistogramBuckets = [GatewayMetrics.ackLatency: latency, RuntimeMetrics.commitDuration: latency]
        factory.valueHistogramBuckets = [RuntimeMetrics.commitBatchWrites: RuntimeMetrics.commitBatchBuckets]
        self.registry = registry
        self.factory = factory
        var campaigns: [CampaignStatus: Prometheus.Gauge] = [:]
        for status in CampaignStatus.allCases {
            campaigns[status] = Self.gauge(registry, "abm_campaigns", "Campaigns by status", labels: [("status", status.rawValue)])
        }
        self.campaigns = campaigns
        resident = Self.gauge(registry, "abm_campaigns_resident", "Campaigns whose state is in memory")
        passivated = Self.gauge(registry, "abm_campaigns_passivated", "Campaigns stored but not in memory")
        parked = Self.gauge(registry, "abm_campaigns_parked", "Campaigns parked after repeated failures")
        timersPending = Self.gauge(registry, "abm_timers_pending", "Scheduled touches")
        timersOverdue = Self.gauge(registry, "abm_timers_overdue", "Scheduled touches already due and not fired")
        outboxLag = Self.gauge(registry, "abm_outbox_lag_events", "Events committed and not yet published")
        lastSeq = Self.gauge(registry, "abm_events_last_seq", "The last event seq committed")
        publishedSeq = Self.gauge(registry, "abm_events_published_seq", "The last event seq published")
        ready = Self.gauge(registry, "abm_ready", "1 when the server takes requests (as /readyz)")
    }

    private static func gauge(_ registry: PrometheusCollectorRegistry, _ name: String, _ help: String,
                              labels: [(String, String)] = []) -> Prometheus.Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    /// The exposition text (Prometheus text format 0.0.4), with the state gauges read now. When the
    /// runtime's counts cannot be read, the gauges keep their last values and `abm_ready` is 0.
    public func scrape(_ runtime: CampaignRuntime) async -> String {
        if let stats = try? await runtime.campaignStats() {
            for (status, gauge) in campaigns { gauge.set(Int64(stats.byStatus[status] ?? 0)) }
            resident.set(Int64(stats.resident))
            passivated.set(Int64(stats.passivated))
            parked.set(Int64(stats.parked))
            timersPending.set(Int64(stats.timersPending))
            timersOverdue.set(Int64(stats.timersOverdue))
            outboxLag.set(stats.outboxLag)
            lastSeq.set(stats.lastSeq)
            publishedSeq.set(stats.publishedSeq)
        }
        ready.set(Int64(await runtime.readiness() == .ready ? 1 : 0))
        return registry.emitToString()
    }
}
