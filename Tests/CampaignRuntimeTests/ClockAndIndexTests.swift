import AbmWire
import Foundation
import NIOConcurrencyHelpers
import Testing

@testable import CampaignRuntime

@Suite struct ClockAndIndexTests {
    let t0 = Date(timeIntervalSince1970: 1_772_445_600)  // 2026-03-02T10:00:00Z, a Monday

    @Test func manualClockNeverRunsBackwards() async {
        let clock = ManualClock(start: t0)
        clock.move(to: t0.addingTimeInterval(-60))
        #expect(clock.now == t0)
        await clock.advance(by: 90)
        #expect(clock.now == t0.addingTimeInterval(90))
        await clock.advance(to: t0)
        #expect(clock.now == t0.addingTimeInterval(90))
    }

    @Test func manualClockWakesSleepersWhenTheirTimeComes() async throws {
        let clock = ManualClock(start: t0)
        let woke = NIOLockedValueBox(false)
        let sleeper = Task {
            try await clock.sleep(until: t0.addingTimeInterval(10))
            woke.withLockedValue { $0 = true }
        }
        clock.move(to: t0.addingTimeInterval(5))
        #expect(woke.withLockedValue { $0 } == false)
        clock.move(to: t0.addingTimeInterval(10))
        try await sleeper.value
        #expect(woke.withLockedValue { $0 })
    }

    @Test func cancelledSleepThrows() async {
        let clock = ManualClock(start: t0)
        let sleeper = Task { try await clock.sleep(until: t0.addingTimeInterval(10)) }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
    }

    @Test func timerIndexSkipsReplacedAndClearedTimers() {
        let index = TimerIndex()
        index.set("a", dueAt: t0.addingTimeInterval(10))
        index.set("b", dueAt: t0.addingTimeInterval(20))
        index.set("a", dueAt: t0.addingTimeInterval(30))  // replaces a@10
        index.set("c", dueAt: t0.addingTimeInterval(5))
        index.clear("c")
        #expect(index.nextFireAt() == t0.addingTimeInterval(20))
        let group = index.popGroup(upTo: t0.addingTimeInterval(100), sameInstant: false, limit: 10)
        #expect(group.map(\.accountId) == ["b", "a"])
    }

    @Test func timerIndexGroupsByInstantInOrder() {
        let index = TimerIndex()
        for (i, id) in ["x", "y", "z"].enumerated() { index.set(id, dueAt: t0.addingTimeInterval(Double(i / 2))) }
        let first = index.popGroup(upTo: t0.addingTimeInterval(100), sameInstant: true, limit: 10)
        #expect(first.map(\.accountId) == ["x", "y"])
        let second = index.popGroup(upTo: t0.addingTimeInterval(100), sameInstant: true, limit: 10)
        #expect(second.map(\.accountId) == ["z"])
    }

    @Test func retryKeepsTheTimersIdentity() {
        let index = TimerIndex()
        let due = t0.addingTimeInterval(10)
        index.set("a", dueAt: due)
        _ = index.popGroup(upTo: due, sameInstant: true, limit: 10)
        index.retry("a", at: t0.addingTimeInterval(60))
        let group = index.popGroup(upTo: t0.addingTimeInterval(60), sameInstant: true, limit: 10)
        #expect(group.count == 1)
        #expect(group.first?.dueAt == due)
        #expect(group.first?.fireAt == t0.addingTimeInterval(60))
    }

    @Test func armReportsOnlyEarlierTimers() {
        let index = TimerIndex()
        index.set("a", dueAt: t0.addingTimeInterval(10))
        #expect(index.arm() == t0.addingTimeInterval(10))
        #expect(index.set("b", dueAt: t0.addingTimeInterval(20)) == false)
        #expect(index.set("c", dueAt: t0.addingTimeInterval(5)) == true)
        index.disarm()
        #expect(index.set("d", dueAt: t0) == false)
    }
}
