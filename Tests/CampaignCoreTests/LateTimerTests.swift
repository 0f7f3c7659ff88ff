import AbmWire
import Foundation
import Testing
@testable import CampaignCore

/// Issue #8, fault 1: after downtime the missed touches must not all go out at once.
@Suite struct LateTimerTests {
    @Test func aLateTimerSendsOneTouchAtTheFiringInstantAndCountsTheNextIntervalFromIt() throws {
        var h = Harness()
        // Monday 09:00 in New York: the first touch goes out at once; the next is planned two days later.
        _ = h.lead(flatLead(), now: at("2026-03-02T14:00:00Z"))
        let planned = try #require(h.timer)
        // Restarted two months later, on a Tuesday at 11:00 in New York (inside the window).
        let now = at("2026-05-05T15:00:00Z")
        #expect(now.timeIntervalSince(planned) > 59 * 86_400)
        h.timer = nil
        h.send(.timerFired(dueAt: planned), now: now)
        #expect(h.touches.count == 2)
        let late = try #require(h.touches.last)
        #expect(late.at == now)
        #expect(late.str("planned_at") == WireTime.format(planned))
        // The next interval (3 days) counts from the actual send, then moves into the window.
        let next = try #require(h.timer)
        #expect(next >= now.addingTimeInterval(3 * 86_400))
        #expect(h.state.campaign?.lastStepAt == now)
        // A touch on time carries no planned_at (planned and actual are the same).
        #expect(h.touches[0].fields["planned_at"] == nil)
    }

    @Test func aLateTimerOutsideTheWindowWaitsForTheContactsNextOpening() throws {
        var h = Harness()
        _ = h.lead(flatLead(), now: at("2026-03-02T14:00:00Z"))
        let planned = try #require(h.timer)
        // Saturday: nothing goes out now; the touch is moved to Monday 09:00 in New York.
        h.timer = nil
        h.send(.timerFired(dueAt: planned), now: at("2026-05-02T15:00:00Z"))
        #expect(h.touches.count == 1)
        let opening = try #require(h.timer)
        #expect(opening == at("2026-05-04T13:00:00Z"))
        h.timer = nil
        h.send(.timerFired(dueAt: opening), now: opening)
        #expect(h.touches.count == 2)
        #expect(h.touches[1].at == opening)
        // Re-planned for the opening and sent then: on time for the timer that sent it.
        #expect(h.touches[1].fields["planned_at"] == nil)
    }

    /// Whatever the downtime, no two touches to one person are closer than `response_timeout_hours`: the runtime,
    /// restarted at `restart`, fires every overdue timer at once (now = `restart`), then fires on time.
    @Test func aRestartAfterDowntimeNeverCrowdsTouchesToOnePerson() {
        let start = at("2026-03-02T14:00:00Z")
        let downtimes: [TimeInterval] = [3_600, 108_000, 259_200, 1_728_000, 5_184_000]
        for downtime in downtimes {
            var h = Harness(config: config(["max_touchpoints": 14]))
            _ = h.lead(flatLead(colleagues: [colleague("a@acme.com", name: "Ann Lee", title: "VP Engineering"),
                                             colleague("b@acme.com", name: "Bo Park", title: "Director of Data")]),
                       now: start)
            let restart = start.addingTimeInterval(downtime)
            // The instant each touch actually went out (the `now` of the turn that emitted it).
            var sentAt: [(contact: String, at: Date, stamped: Date)] = h.touches.map { ($0.str("contact_id")!, start, $0.at) }
            var guardCount = 0
            while let due = h.timer, guardCount < 200 {
                let now = max(due, restart)
                let before = h.events.count
                h.timer = nil
                h.send(.timerFired(dueAt: due), now: now)
                for e in h.events[before...] where e.type == .touchpointDue {
                    sentAt.append((e.str("contact_id")!, now, e.at))
                }
                guardCount += 1
            }
            #expect(h.state.campaign?.status == .completed)
            var last: [String: Date] = [:]
            for s in sentAt {
                #expect(s.stamped == s.at, "downtime \(downtime)s: stamped \(s.stamped), sent \(s.at)")
                if let prev = last[s.contact] {
                    #expect(s.at.timeIntervalSince(prev) >= 48 * 3_600,
                            "downtime \(downtime)s: \(s.contact) touched at \(prev) and \(s.at)")
                }
                last[s.contact] = s.at
            }
        }
    }
}
