import AbmWire
import CampaignStore

/// Where committed events go, in `seq` order (the gateway publishes them on a ZeroMQ PUB socket).
/// Delivery is at least once across restarts: subscribers dedupe by `seq` or `touchpoint_id`.
public protocol EventPublisher: Sendable {
    func publish(_ events: [StoredEvent]) async
}

/// Drops everything (benchmarks, tools that only read the store).
public struct DiscardingPublisher: EventPublisher {
    public init() {}
    public func publish(_ events: [StoredEvent]) async {}
}
