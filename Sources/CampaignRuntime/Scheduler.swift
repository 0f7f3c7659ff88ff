import CampaignStore
import Foundation
import Logging

/// Fires due timers. One loop sleeps until the earliest timer in the `TimerIndex` (or until woken by an
/// earlier one), then fires everything due.
///
/// Batching, for throughput: the timers that are due together are fired concurrently (up to
/// `concurrency` turns in flight), so their writes meet in the group committer and commit together.
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
        if group.count == 1 {
            await coordinator.fireTimer(group[0].accountId, dueAt: group[0].dueAt, now: max(now, group[0].dueAt))
            return
        }
        await withTaskGroup(of: Void.self) { tasks in
            var inFlight = 0
            for e in group {
                if inFlight >= concurrency {
                    await tasks.next()
                    inFlight -= 1
                }
                // Below request priority: a response must not queue behind a burst of timer turns.
                tasks.addTask(priority: .utility) {
                    await coordinator.fireTimer(e.accountId, dueAt: e.dueAt, now: max(now, e.dueAt))
                }
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
