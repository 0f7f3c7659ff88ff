import AbmWire
import Foundation
import Testing
@testable import CampaignCore

/// Each touch, and the planned one, names the rule that set its time (docs/campaign-behaviour.md, "Timing").
@Suite struct DelayRuleTests {
    func delay(_ e: DomainEvent) -> String? { e.str("delay") }

    @Test func eachTouchNamesWhatHeldItBack() throws {
        // Monday 14:00 UTC is 09:00 in New York: the first touch goes at once, held by nothing.
        var h = Harness()
        _ = h.lead(flatLead(colleagues: [colleague("bob@acme.com", name: "Bob Bee", title: "CEO")]), now: at("2026-03-02T14:00:00Z"))
        #expect(h.touches.count == 1)
        #expect(delay(h.touches[0]) == nil)
        #expect(h.state.campaign?.next?.delay == .interval)
        h.run(until: at("2026-03-05T00:00:00Z"))
        #expect(delay(h.touches[1]) == "interval")
        // Out of office until the 20th: the next touch waits for it, and says so.
        _ = h.send(.response(ResponseInput(accountId: "acme", contactEmail: "sarah.chen@acme.com", kind: .outOfOffice,
                                           returnDate: "2026-03-20")), now: at("2026-03-05T12:00:00Z"))
        #expect(h.state.campaign?.next?.delay == .outOfOffice)
        let status = try #require(StatusView.render(h.state, config: .default, now: at("2026-03-05T12:00:00Z").timeIntervalSince1970))
        #expect(status["next_touch"]?["delay"] == "out_of_office")
        h.run(until: at("2026-03-21T00:00:00Z"))
        #expect(h.touches.last.map(delay) == "out_of_office")
    }

    @Test func theWindowAndHolidaysAreToldApart() throws {
        // Saturday: the window opens Monday 09:00 in the contact's zone.
        var h = Harness()
        _ = h.lead(flatLead(colleagues: []), now: at("2026-03-07T15:00:00Z"))
        #expect(h.touches.isEmpty)
        #expect(h.state.campaign?.next?.delay == .sendWindow)
        // A holiday on that Monday moves it again: the holiday is the reason.
        var hol = Harness(config: config(["holidays": ["2026-03-09"]]))
        _ = hol.lead(flatLead(colleagues: []), now: at("2026-03-07T15:00:00Z"))
        #expect(hol.state.campaign?.next?.delay == .holiday)
        hol.run(until: at("2026-03-12T00:00:00Z"))
        #expect(hol.touches.first.map(delay) == "holiday")
    }

    @Test func aColleagueWaitsForTheColleagueDelay() throws {
        var h = Harness(config: config(["primary_focus_steps": 1, "touchpoint_intervals_days": [0], "send_window": alwaysOpen,
                                        "colleague_message_delay_days": 3, "response_timeout_hours": 100]))
        _ = h.lead(flatLead(colleagues: [colleague("bob@acme.com", name: "Bob Bee", title: "CEO")]), now: at("2026-03-02T14:00:00Z"))
        #expect(h.state.campaign?.next?.delay == .colleagueDelay)
        h.run(until: at("2026-03-06T00:00:00Z"))
        #expect(h.touches.first { $0.str("contact_email") == "bob@acme.com" }.map(delay) == "colleague_delay")
    }
}
