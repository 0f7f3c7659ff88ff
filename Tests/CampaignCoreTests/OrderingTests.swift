import AbmWire
import Foundation
import Testing
@testable import CampaignCore

@Suite struct OrderingTests {
    let t0 = at("2026-03-05T15:00:00Z")

    /// Prototype defect §8.2: substring matching made every Director a CTO (95).
    @Test func titleScoresMatchWholeWords() {
        let s = TitleScores.default
        #expect(s.score("Director") == 70)
        #expect(s.score("Medical Director") == 70)
        #expect(s.score("Doctor") == 0)
        #expect(s.score("Contractor") == 0)
        #expect(s.score("Team Leader") == 0)
        #expect(s.score("Team Lead") == 40)
        #expect(s.score("CEO & Founder") == 100)
        #expect(s.score("Chief Executive Officer") == 100)
        #expect(s.score("Founder") == 100)
        #expect(s.score("Chief Innovation Officer") == 95)
        #expect(s.score("Chief Medical Officer") == 95)
        #expect(s.score("cfo") == 95)
        #expect(s.score("President") == 90)
        #expect(s.score("Vice President of Sales") == 80)
        #expect(s.score("vice president of sales") == 80)
        #expect(s.score("SVP Marketing") == 80)
        #expect(s.score("Head of Data") == 80)
        #expect(s.score("Office Manager") == 50)
        #expect(s.score("Engineer") == 0)
        #expect(s.score(nil) == 0)
        #expect(s.score("") == 0)
    }

    @Test func primaryFirstThenColleaguesByScoreTiesByArrival() throws {
        var h = Harness()
        _ = try h.lead(flatLead(title: "Engineering Manager", colleagues: [
            colleague("vp1@acme.com", title: "VP Sales"),
            colleague("dir@acme.com", title: "Director"),
            colleague("ceo@acme.com", title: "CEO"),
            colleague("vp2@acme.com", title: "VP Marketing"),
        ]), now: t0).get()
        let emails = h.state.campaign!.contacts.map(\.email)
        #expect(emails == ["sarah.chen@acme.com", "ceo@acme.com", "vp1@acme.com", "vp2@acme.com", "dir@acme.com"])
    }

    /// docs/campaign-behaviour.md: the first primary_focus_steps steps go to the top contact; then colleagues are introduced one per step,
    /// best score first, while fewer than max_concurrent_contacts are in play; then back to the top and round.
    @Test func stepSequenceFollowsFocusIntroductionAndRound() throws {
        var h = Harness(config: config(["max_touchpoints": 9]))
        _ = try h.lead(flatLead(colleagues: [
            colleague("dir@acme.com", name: "Dee Dir", title: "Director"),
            colleague("vp@acme.com", name: "Vic Vp", title: "VP Sales"),
            colleague("mgr@acme.com", name: "Mo Mgr", title: "Manager"),
        ]), now: t0).get()
        h.run(until: at("2027-01-01T00:00:00Z"))
        let who = h.touches.map { $0.str("contact_email")!.split(separator: "@")[0] }
        #expect(who == ["sarah.chen", "sarah.chen", "sarah.chen", "vp", "dir", "sarah.chen", "vp", "dir", "sarah.chen"])
        // The manager never got a place: three contacts were in play.
        #expect(!who.contains("mgr"))
        #expect(h.touches.map { $0.str("reason")! }.prefix(6) == ["focus_step", "focus_step", "focus_step",
                                                                  "introduce_colleague", "introduce_colleague", "round_robin"])
    }

    @Test func maxConcurrentContactsLimitsContactsInPlay() throws {
        var h = Harness(config: config(["max_touchpoints": 12, "max_concurrent_contacts": 2]))
        _ = try h.lead(flatLead(colleagues: [
            colleague("a@acme.com", title: "CEO"), colleague("b@acme.com", title: "CTO"),
        ]), now: t0).get()
        h.run(until: at("2028-01-01T00:00:00Z"))
        let distinct = Set(h.touches.map { $0.str("contact_email")! })
        #expect(distinct == ["sarah.chen@acme.com", "a@acme.com"])
    }

    /// A contact who unsubscribes frees its place: the next colleague is introduced.
    @Test func aContactLeavingPlayFreesItsPlace() throws {
        var h = Harness(config: config(["max_touchpoints": 12, "max_concurrent_contacts": 2, "auto_pause_on_response": false]))
        _ = try h.lead(flatLead(colleagues: [
            colleague("a@acme.com", title: "CEO"), colleague("b@acme.com", title: "CTO"),
        ]), now: t0).get()
        h.run(until: at("2026-03-25T00:00:00Z"))
        #expect(h.touches.contains { $0.str("contact_email") == "a@acme.com" })
        _ = h.send(.response(ResponseInput(accountId: "acme", contactEmail: "a@acme.com", kind: .unsubscribe)),
                   now: at("2026-03-25T00:00:00Z"))
        h.run(until: at("2028-01-01T00:00:00Z"))
        #expect(h.touches.contains { $0.str("contact_email") == "b@acme.com" })
    }

    /// docs/campaign-behaviour.md: no colleague is touched earlier than colleague_message_delay_days after the primary's first touch;
    /// until then the step goes to the contacts in play.
    @Test func colleagueDelayIsRespected() throws {
        var h = Harness(config: config(["primary_focus_steps": 1, "touchpoint_intervals_days": [1],
                                        "response_timeout_hours": 0, "colleague_message_delay_days": 3,
                                        "send_window": alwaysOpen]))
        _ = try h.lead(flatLead(timezone: "UTC", colleagues: [colleague("a@acme.com", name: "Al Colleague", title: "CEO",
                                                                          timezone: "UTC")]), now: t0).get()
        h.run(until: at("2026-04-01T00:00:00Z"))
        let first = h.touches.first { $0.str("contact_email") == "a@acme.com" }!
        #expect(first.at.timeIntervalSince(t0) >= 3 * 86_400)
        // Before the delay the steps went to the primary (days 1, 2), then the colleague came in on day 3.
        let primaryTouchesBefore = h.touches.filter { $0.at < first.at }.count
        #expect(primaryTouchesBefore == 3)
        #expect(first.at == t0.addingTimeInterval(3 * 86_400))
    }

    @Test func withNoEligibleContactTheCampaignCompletes() throws {
        var h = Harness(config: config(["auto_pause_on_response": false]))
        _ = try h.lead(flatLead(), now: t0).get()
        _ = h.send(.response(ResponseInput(accountId: "acme", contactEmail: "sarah.chen@acme.com", kind: .reply)),
                   now: t0.addingTimeInterval(60))
        #expect(h.state.campaign?.status == .completed)
        #expect(h.state.campaign?.reason == "no_eligible_contacts")
        #expect(h.timer == nil)
        #expect(h.events.last?.type == .campaignCompleted)
    }

    /// The top contact is the first eligible one: when the primary is out, the best colleague gets the focus steps.
    @Test func topContactIsFirstEligible() throws {
        var h = Harness()
        h.suppressed = ["sarah.chen@acme.com"]
        _ = try h.lead(flatLead(colleagues: [colleague("a@acme.com", title: "Manager"), colleague("b@acme.com", title: "CEO")]),
                       now: t0).get()
        h.run(until: at("2026-03-20T00:00:00Z"))
        #expect(h.touches.prefix(3).allSatisfy { $0.str("contact_email") == "b@acme.com" })
    }
}

@Suite struct ChannelTests {
    let t0 = at("2026-03-05T15:00:00Z")

    /// Prototype behaviour: email, email, sms, sms, call, call, then email.
    @Test func escalationLadder() {
        var h = Harness(config: config(["max_touchpoints": 8]))
        _ = h.lead(flatLead(), now: t0)
        h.run(until: at("2027-01-01T00:00:00Z"))
        #expect(h.touches.map { $0.str("channel")! } == ["email", "email", "sms", "sms", "call", "call", "email", "email"])
    }

    /// Prototype behaviour: no phone → email only.
    @Test func noPhoneMeansEmailOnly() {
        var h = Harness()
        _ = h.lead(flatLead(phone: nil), now: t0)
        h.run(until: at("2027-01-01T00:00:00Z"))
        #expect(h.touches.count == 7)
        #expect(h.touches.allSatisfy { $0.str("channel") == "email" })
    }

    @Test func attemptsPerChannelAndLinkedInFromTheLadder() {
        var h = Harness(config: config(["attempts_per_channel": 1, "channel_escalation": ["linkedin", "email", "call"],
                                        "max_touchpoints": 5]))
        _ = h.lead(flatLead(extra: ["linkedin_url": "https://linkedin.com/in/sarah"]), now: t0)
        h.run(until: at("2027-01-01T00:00:00Z"))
        #expect(h.touches.map { $0.str("channel")! } == ["linkedin", "email", "call", "linkedin", "email"])
        #expect(h.touches[0].str("contact_linkedin_url") == "https://linkedin.com/in/sarah")
        #expect(h.touches[2].str("call_script") != nil)
        #expect(h.touches[2].str("contact_phone") == "+14155550100")
    }

    @Test func channelsAreCountedPerContact() throws {
        var h = Harness(config: config(["max_touchpoints": 7, "primary_focus_steps": 1, "colleague_message_delay_days": 0]))
        _ = try h.lead(flatLead(colleagues: [colleague("a@acme.com", phone: "+14155550111")]), now: t0).get()
        h.run(until: at("2027-01-01T00:00:00Z"))
        for email in ["sarah.chen@acme.com", "a@acme.com"] {
            let chans = h.touches.filter { $0.str("contact_email") == email }.map { $0.str("channel")! }
            #expect(Array(chans.prefix(2)) == ["email", "email"])
        }
    }
}
