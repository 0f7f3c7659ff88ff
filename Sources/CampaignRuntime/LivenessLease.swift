import NIOConcurrencyHelpers

/// A cluster node's liveness as its own clock sees it: valid for `ttl` from the moment the last successful
/// renewal of its liveness row was sent (the row, on the database clock, lives at least that long). Once it has
/// run out — the process was paused, or cut off from the database — peers may have taken its shards over, so
/// the node publishes nothing more (`Outbox`, `.storeLog`): the events in the log are its peers' to publish, and
/// a node that wakes from a pause past its lease sends its subscribers nothing before it stops.
public final class LivenessLease: Sendable {
    public let ttl: Duration
    private let lastRenewal = NIOLockedValueBox<ContinuousClock.Instant?>(nil)

    public init(ttl: Duration) {
        self.ttl = ttl
    }

    /// A renewal (or the join) sent at `sentAt` succeeded.
    public func renewed(sentAt: ContinuousClock.Instant) {
        lastRenewal.withLockedValue { last in
            if last.map({ sentAt > $0 }) ?? true { last = sentAt }
        }
    }

    /// Whether the last successful renewal is younger than the TTL (false before the first).
    public var isValid: Bool {
        guard let last = lastRenewal.withLockedValue({ $0 }) else { return false }
        return last.duration(to: .now) < ttl
    }
}
