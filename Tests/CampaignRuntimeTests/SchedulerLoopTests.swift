import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import Testing

@testable import CampaignRuntime

/// A publisher that lets a test wait (without sleeping) until some number of touchpoints was published.
actor WaitingPublisher: EventPublisher {
    private(set) var events: [StoredEvent] = []
    private var waiters: [(Int, CheckedContinuation<Void, Never>)] = []

    func publish(_ batch: [StoredEvent]) {
        events.append(contentsOf: batch)
        let touches = events.filter { $0.type == "touchpoint.due" }.count
        waiters.removeAll { w in
            if touches >= w.0 { w.1.resume(); return true }
            return false
        }
    }

    func waitForTouchpoints(_ n: Int) async {
        if events.filter({ $0.type == "touchpoint.due" }).count >= n { return }
        await withCheckedContinuation { waiters.append((n, $0)) }
    }
}

@Suite(.timeLimit(.minutes(1))) struct SchedulerLoopTests {
    @Test func theLoopFiresWhenTheClockPassesATimerWithoutAdvance() async throws {
        let publisher = WaitingPublisher()
        let clock = ManualClock(start: monday9)
        var config = RuntimeConfiguration()
        config.logger.logLevel = .critical
        let runtime = CampaignRuntime(store: InMemoryStore(), clock: clock, publisher: publisher, configuration: config)
        try await runtime.start()
        _ = await runtime.submitLead(requestId: "l", lead: lead("acme"))
        await publisher.waitForTouchpoints(1)  // due at once: the loop fires it
        // Move the clock (no driver involved): the sleeping loop wakes for the next due timer.
        clock.move(to: monday9.addingTimeInterval(2 * day))
        await publisher.waitForTouchpoints(2)
        let touches = await publisher.events.filter { $0.type == "touchpoint.due" }
        #expect(touches.map(\.at) == [monday9, monday9.addingTimeInterval(2 * day)])
        await runtime.shutdown()
    }

    @Test func wallClockFiresDueTimersByItself() async throws {
        let publisher = WaitingPublisher()
        var config = RuntimeConfiguration()
        config.logger.logLevel = .critical
        // Any instant is inside someone's send window: a contact in a zone where it is a weekday at 10:00 now.
        let runtime = CampaignRuntime(store: InMemoryStore(), clock: WallClock(), publisher: publisher, configuration: config)
        try await runtime.start()
        var l = lead("acme").objectValue!
        l["timezone"] = .string(Self.zoneInWindowNow())
        l["account_contacts"] = []
        let ack = await runtime.submitLead(requestId: "l", lead: .object(l))
        #expect(ack.status == .accepted)
        await publisher.waitForTouchpoints(1)
        #expect(await runtime.status(accountId: "acme")?["steps"] == 1)
        await runtime.shutdown()
    }

    /// A zone whose local time is now a weekday between 10:00 and 15:59.
    static func zoneInWindowNow() -> String {
        let now = Date()
        for id in TimeZone.knownTimeZoneIdentifiers {
            guard let tz = TimeZone(identifier: id) else { continue }
            var cal = Calendar(identifier: .gregorian)
            cal.timeZone = tz
            let c = cal.dateComponents([.weekday, .hour], from: now)
            if let w = c.weekday, let h = c.hour, (2...6).contains(w), (10...15).contains(h) { return id }
        }
        return "UTC"
    }
}
