import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import Logging
import NIOConcurrencyHelpers

/// What every campaign actor shares: one reference per actor instead of ten, which keeps a resident
/// campaign small.
final class RuntimeEnvironment: Sendable {
    let store: any CampaignStorage
    let clock: any RuntimeClock
    let decider: any CampaignDecider
    let codec: any StateCodec
    let eventEncoder: any EventBodyEncoder
    let committer: GroupCommitter
    let timers: TimerIndex
    let suppressions: SuppressionList
    let ownership: ShardOwnership
    let engineContext: EngineContext
    let wake: SchedulerWake
    let logger: Logger

    init(store: any CampaignStorage, clock: any RuntimeClock, decider: any CampaignDecider, codec: any StateCodec,
         eventEncoder: any EventBodyEncoder, committer: GroupCommitter, timers: TimerIndex,
         suppressions: SuppressionList, ownership: ShardOwnership, wake: SchedulerWake, logger: Logger) {
        self.store = store
        self.clock = clock
        self.decider = decider
        self.codec = codec
        self.eventEncoder = eventEncoder
        self.committer = committer
        self.timers = timers
        self.suppressions = suppressions
        self.ownership = ownership
        self.engineContext = EngineContext(isSuppressed: { [suppressions] in suppressions.contains($0) })
        self.wake = wake
        self.logger = logger
    }
}

/// Wakes the scheduler when a timer earlier than the one it sleeps for is set. Holds the scheduler
/// weakly so that a dropped runtime is not kept alive by its campaigns.
final class SchedulerWake: Sendable {
    private struct Box { weak var scheduler: Scheduler? }
    private let box = NIOLockedValueBox(Box())

    func attach(_ scheduler: Scheduler) {
        box.withLockedValue { $0.scheduler = scheduler }
    }

    func callAsFunction() {
        guard let scheduler = box.withLockedValue({ $0.scheduler }) else { return }
        Task { await scheduler.wake() }
    }
}
