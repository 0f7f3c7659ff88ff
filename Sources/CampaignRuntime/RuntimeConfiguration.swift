import AbmWire
import CoreMetrics
import Foundation
import Logging

/// Tuning of the runtime. Every value has a default that suits one process with SQLite.
public struct RuntimeConfiguration: Sendable {
    /// Campaigns kept in memory at most; idle ones beyond it are passivated (nil: no cap).
    public var maxResidentCampaigns: Int?
    /// Campaigns with no turn for one to two of these intervals (wall-clock seconds) are passivated, so that
    /// memory returns to its baseline after a burst (nil: never). Default 30 s.
    public var idleSweepInterval: TimeInterval?
    /// Writes per group commit at most.
    public var maxCommitBatch: Int
    /// Failed turns in a row after which a campaign is parked.
    public var maxFailures: Int
    /// First retry delay after a failed timer turn (doubles each time), in clock seconds.
    public var retryBackoff: TimeInterval
    /// Longest retry delay, in clock seconds.
    public var maxRetryBackoff: TimeInterval
    /// Timers fired per scheduler group at most.
    public var timerGroupLimit: Int
    /// Timer turns in flight at once (at `.utility` priority). Enough to fill group commits; more only
    /// lengthens the queue a request waits behind.
    public var timerConcurrency: Int
    /// The outbox records its progress (`markPublished`) after this many events, and when idle.
    public var markPublishedEvery: Int
    /// Where published events come from (`EventFeed`; default `.ownCommits`, one process per store). Several
    /// processes on one store set `.storeLog` so that each publishes the whole log.
    public var eventFeed: EventFeed = .ownCommits
    /// In a cluster, this node's liveness by its own clock: while it has run out, the outbox publishes nothing
    /// (`LivenessLease`). nil: always publish (one process per store).
    public var liveness: LivenessLease?
    /// This process's name as a shard owner (stored in the lease rows; shows who took a store over).
    public var owner: String
    /// Whether `start()` takes every shard's lease over (one process per store). False in a cluster: the runtime
    /// starts owning nothing and a `ClusterMember` acquires and releases shards as `ShardPlacement` says.
    public var takesAllShardsAtStart = true
    /// How long events and request ids are kept (`RetentionPolicy`: events forever, request ids 30 days).
    public var retention: RetentionPolicy = RetentionPolicy()
    public var logger: Logger
    /// Where the runtime's metrics go (`RuntimeMetrics`); nil: the process-wide `MetricsSystem.factory`
    /// (a no-op until bootstrapped).
    public var metricsFactory: (any MetricsFactory)?

    public init(maxResidentCampaigns: Int? = nil, idleSweepInterval: TimeInterval? = 30, maxCommitBatch: Int = 1000, maxFailures: Int = 5,
                retryBackoff: TimeInterval = 1, maxRetryBackoff: TimeInterval = 600,
                timerGroupLimit: Int = 10_000, timerConcurrency: Int = 512, markPublishedEvery: Int = 10_000,
                owner: String = RuntimeConfiguration.defaultOwner, logger: Logger = Logger(label: "abm.runtime")) {
        self.maxResidentCampaigns = maxResidentCampaigns
        self.idleSweepInterval = idleSweepInterval
        self.maxCommitBatch = maxCommitBatch
        self.maxFailures = maxFailures
        self.retryBackoff = retryBackoff
        self.maxRetryBackoff = maxRetryBackoff
        self.timerGroupLimit = timerGroupLimit
        self.timerConcurrency = timerConcurrency
        self.markPublishedEvery = markPublishedEvery
        self.owner = owner
        self.logger = logger
    }

    /// `<host>:<pid>`.
    public static var defaultOwner: String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }
}
