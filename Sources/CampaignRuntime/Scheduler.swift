import AbmWire
import CampaignStore
import Foundation
import Logging

/// Fires due timers. One loop sleeps until the earliest timer in the `TimerIndex` (or until woken by an
/// earlier one), then fires everything due.
///
/// Batching, for throughput: the timers that are due together are fired in chunks (`Coordinator.fireTimers`:
/// the chunk's accounts decide one after the other, their writes go to the group committer as one
/// submission), with several chunks in flight (up to `concurrency` turns), so that no timer turn needs a
/// task or a continuation of its own.
/// With the wall clock, "together" is everything due by now. With a `ManualClock`, it is every timer
/// due at the same instant: the clock is stepped through the due times in order (so each turn sees
/// `now` = its due time), and the next instant starts only when the previous one's turns have
/// committed. Each account has one timer and its turns are serial, so per-account order always holds.
actor Scheduler: ManualClockDriver {
    private let clock: any RuntimeClock
    private let manual: ManualClock?
    private let timers: TimerIndex
    private let coordinator: Coordinator
    private let groupLimit: Int
    private let concurrency: Int
    /// Timer turns per batch (`Coordinator.fireTimers`); `concurrency / chunkSize` batches run at once.
    private let chunkSize: Int
    private static let maxChunk = 128
    private let afterAdvance: @Sendable (Date) async -> Void

    private var loopTask: Task<Void, Never>?
    private var stopped = false
    private var pumping = false
    private var pumpWaiters: [CheckedContinuation<Void, Never>] = []
    private var wakeContinuation: CheckedContinuation<Void, Never>?
    private var pendingWake = false
    private var sleepTask: Task<Void, Never>?

    private(set) var fired = 0

    init(clock: any RuntimeClock, timers: TimerIndex, coordinator: Coordinator, groupLimit: Int, concurrency: Int,
         afterAdvance: @escaping @Sendable (Date) async -> Void) {
        self.clock = clock
        self.manual = clock as? ManualClock
        self.timers = timers
        self.coordinator = coordinator
        self.groupLimit = max(1, groupLimit)
        self.concurrency = max(1, concurrency)
        self.chunkSize = max(1, min(Self.maxChunk, self.concurrency / 4))
        self.afterAdvance = afterAdvance
    }

    func start() {
        guard loopTask == nil else { return }
        manual?.attach(self)
        loopTask = Task { await self.loop() }
    }

    /// Stops the loop after the turns in flight have finished.
    func stop() async {
        stopped = true
        wake()
        await loopTask?.value
        loopTask = nil
    }

    func wake() {
        if let c = wakeContinuation {
            wakeContinuation = nil
            c.resume()
        } else {
            pendingWake = true
        }
    }

    /// `ManualClock.advance(to:)`: everything due up to `target`, in due-time order, then the clock
    /// rests at `target`; returns after the turns committed and `afterAdvance` ran (publishing).
    func advance(_ clock: ManualClock, to target: Date) async {
        await pump(upTo: target)
        clock.move(to: target)
        // Turns started by requests while the clock moved may have set timers at or before the target.
        await pump(upTo: target)
        await afterAdvance(clock.now)
    }

    /// Fires whatever is due at the clock's current time (used after start and by tests).
    func runDue() async {
        await pump(upTo: clock.now)
    }

    private func loop() async {
        while !stopped {
            await pump(upTo: clock.now)
            if stopped { break }
            let next = timers.arm()
            await waitUntil(next)
            timers.disarm()
        }
    }

    private func waitUntil(_ deadline: Date?) async {
        if pendingWake {
            pendingWake = false
            return
        }
        await withCheckedContinuation { c in
            wakeContinuation = c
            if let deadline {
                sleepTask = Task { [clock] in
                    do { try await clock.sleep(until: deadline) } catch { return }
                    self.wake()
                }
            }
        }
        pendingWake = false
        sleepTask?.cancel()
        sleepTask = nil
    }

    private func pump(upTo limit: Date) async {
        await acquirePump()
        defer { releasePump() }
        while !stopped {
            // With the wall clock, time moves on while a group runs: take what became due meanwhile.
            let upTo = manual == nil ? max(limit, clock.now) : limit
            let group = timers.popGroup(upTo: upTo, sameInstant: manual != nil, limit: groupLimit)
            guard let first = group.first else { break }
            manual?.move(to: first.fireAt)
            await fire(group, now: clock.now)
            if stopped { break }
        }
    }

    private func fire(_ group: [TimerIndex.Entry], now: Date) async {
        fired += group.count
        let coordinator = self.coordinator
        let due = group.map { (accountId: $0.accountId, dueAt: $0.dueAt, now: max(now, $0.dueAt)) }
        if due.count <= chunkSize {
            await coordinator.fireTimers(due)
            return
        }
        // Chunks of timer turns: each chunk decides its accounts one after the other and commits their
        // writes as one submission; several chunks in flight keep the committer busy while others decide.
        await withTaskGroup(of: Void.self) { tasks in
            var inFlight = 0
            var start = 0
            while start < due.count {
                if inFlight * chunkSize >= concurrency {
                    await tasks.next()
                    inFlight -= 1
                }
                let chunk = Array(due[start..<min(start + chunkSize, due.count)])
                start += chunk.count
                // Below request priority: a response must not queue behind a burst of timer turns.
                tasks.addTask(priority: .utility) { await coordinator.fireTimers(chunk) }
                inFlight += 1
            }
        }
    }

    private func acquirePump() async {
        if !pumping {
            pumping = true
            return
        }
        await withCheckedContinuation { pumpWaiters.append($0) }
    }

    private func releasePump() {
        if !pumpWaiters.isEmpty {
            pumpWaiters.removeFirst().resume()
        } else {
            pumping = false
        }
    }
}
