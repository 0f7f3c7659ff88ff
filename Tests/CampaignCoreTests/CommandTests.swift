import AbmWire
import Foundation
import Testing
@testable import CampaignCore

@Suite struct CommandTests {
    let t0 = at("2026-03-05T15:00:00Z")

    func started() -> Harness {
        var h = Harness()
        _ = h.lead(flatLead(), now: t0)
        return h
    }

    @Test func unknownAccountIsNotFound() {
        var h = Harness()
        for c in [CampaignCommand.pause(reason: nil), .resume, .cancel] {
            guard case .failure(let e) = h.send(.command(c), now: t0) else { Issue.record("accepted"); continue }
            #expect(e.code == "not_found")
        }
        #expect(h.engine.status(h.state, now: t0) == nil)
    }

    @Test func pauseResumeCancelAndCommandsAlreadyInEffect() throws {
        var h = started()
        _ = try h.send(.command(.resume), now: t0).get() // active: ok, nothing changes
        #expect(h.events.count == 2)
        _ = try h.send(.command(.pause(reason: "holiday freeze")), now: t0.addingTimeInterval(60)).get()
        #expect(h.state.campaign?.status == .paused && h.state.campaign?.reason == "holiday freeze")
        #expect(h.timer == nil)
        let n = h.events.count
        _ = try h.send(.command(.pause(reason: "again")), now: t0.addingTimeInterval(120)).get()
        #expect(h.events.count == n && h.state.campaign?.reason == "holiday freeze")
        _ = try h.send(.command(.cancel), now: t0.addingTimeInterval(180)).get()
        #expect(h.state.campaign?.status == .cancelled)
        _ = try h.send(.command(.cancel), now: t0.addingTimeInterval(240)).get()
        #expect(h.types().filter { $0 == "campaign.cancelled" }.count == 1)
        for c in [CampaignCommand.pause(reason: nil), .resume] {
            guard case .failure(let e) = h.send(.command(c), now: t0) else { Issue.record("accepted"); continue }
            #expect(e.code == "invalid_state")
        }
        // A cancelled campaign never emits again.
        h.run(until: at("2027-01-01T00:00:00Z"))
        _ = h.send(.timerFired(dueAt: at("2026-03-09T14:00:00Z")), now: at("2026-03-09T14:00:00Z"))
        #expect(h.touches.count == 1)
    }

    @Test func commandsOnACompletedCampaignAreRefused() {
        var h = Harness(config: config(["max_touchpoints": 1]))
        _ = h.lead(flatLead(), now: t0)
        for c in [CampaignCommand.pause(reason: nil), .resume, .cancel] {
            guard case .failure(let e) = h.send(.command(c), now: t0) else { Issue.record("accepted"); continue }
            #expect(e.code == "invalid_state")
        }
    }

    /// docs/campaign-behaviour.md: after resume the next touch is due at the later of its planned time and the moment of resuming, then
    /// moved into the window; the minimum gap still applies.
    @Test func resumeTiming() throws {
        // Planned time in the future: kept.
        var h = started()
        let planned = h.timer!
        _ = try h.send(.command(.pause(reason: nil)), now: t0.addingTimeInterval(3600)).get()
        _ = try h.send(.command(.resume), now: t0.addingTimeInterval(7200)).get()
        #expect(h.timer == planned)
        #expect(h.types().contains("campaign.resumed"))
        // Planned time passed while paused: due at resume, moved into the window (Saturday → Monday 09:00).
        var late = started()
        _ = try late.send(.command(.pause(reason: nil)), now: t0.addingTimeInterval(3600)).get()
        _ = try late.send(.command(.resume), now: at("2026-03-14T15:00:00Z")).get() // Saturday
        let l = local(late.timer!, "America/New_York")
        #expect(l.day == "2026-03-16" && l.hour == 9)
        // Resumed inside the window after the planned time: the touch goes out at once.
        var now = started()
        _ = try now.send(.command(.pause(reason: nil)), now: t0.addingTimeInterval(3600)).get()
        _ = try now.send(.command(.resume), now: at("2026-03-17T15:00:00Z")).get() // Tuesday 11:00
        #expect(now.touches.count == 2)
        #expect(now.touches[1].at == at("2026-03-17T15:00:00Z"))
    }

    @Test func resumeKeepsTheMinimumGap() throws {
        var h = Harness(config: config(["touchpoint_intervals_days": [0], "response_timeout_hours": 48, "send_window": alwaysOpen]))
        _ = h.lead(flatLead(timezone: "UTC"), now: t0)
        _ = try h.send(.command(.pause(reason: nil)), now: t0.addingTimeInterval(60)).get()
        _ = try h.send(.command(.resume), now: t0.addingTimeInterval(3600)).get()
        #expect(h.timer == t0.addingTimeInterval(48 * 3600))
    }

    @Test func resumeAfterAReplyPause() throws {
        var h = started()
        _ = h.send(.response(ResponseInput(accountId: "acme", contactEmail: "sarah.chen@acme.com", kind: .reply)),
                   now: t0.addingTimeInterval(3600))
        _ = try h.send(.command(.resume), now: t0.addingTimeInterval(7200)).get()
        // The only contact replied: nobody is left to touch.
        #expect(h.state.campaign?.status == .completed)
        #expect(h.state.campaign?.reason == "no_eligible_contacts")
    }
}

@Suite struct StatusTests {
    @Test func statusHasTheContractShape() throws {
        var h = Harness()
        let t0 = at("2026-03-05T15:00:00Z")
        _ = h.lead(flatLead(colleagues: [colleague("bob@acme.com", name: "Bob Bee", title: "CEO")]), now: t0)
        h.run(until: at("2026-03-10T00:00:00Z"))
        let s = try #require(h.engine.status(h.state, now: at("2026-03-10T00:00:00Z")))
        #expect(s["campaign_id"] == "acme-c1")
        #expect(s["account_id"] == "acme")
        #expect(s["status"] == "active")
        #expect(s["reason"] == .null)
        #expect(s["steps"] == 2)
        #expect(s["next_due_at"] == "2026-03-12T13:00:00.000Z")
        let next = try #require(s["next_touch"])
        #expect(next["channel"] == "sms")
        #expect(next["contact_id"] == .string(h.state.campaign!.contacts[0].id))
        let contacts = try #require(s["contacts"]?.arrayValue)
        #expect(contacts.count == 2)
        #expect(contacts[0]["state"] == "in_play")
        #expect(contacts[0]["touches"] == 2)
        #expect(contacts[0]["touches_by_channel"] == ["email": 2])
        #expect(contacts[1]["state"] == "new")
        for c in contacts { for key in ["id", "email", "state", "touches"] { #expect(c[key] != nil) } }
        // The state round-trips through JSON and stays compact.
        let data = try JSONEncoder().encode(h.state)
        #expect(try JSONDecoder().decode(AccountState.self, from: data) == h.state)
        #expect(data.count < 1200)
    }
}
