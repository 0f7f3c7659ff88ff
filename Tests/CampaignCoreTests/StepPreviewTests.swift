import AbmWire
import Foundation
import Testing
@testable import CampaignCore

/// `step` (an operator's override) and `preview` (nothing stored) (docs/campaign-behaviour.md, "Operator commands").
@Suite struct StepPreviewTests {
    let t0 = at("2026-03-02T14:00:00Z")

    @Test func stepSendsThePlannedTouchNowAndPlansTheNextFromNow() throws {
        var h = Harness()
        _ = h.lead(flatLead(colleagues: [colleague("bob@acme.com", name: "Bob Bee", title: "CEO")]), now: t0)
        let planned = try #require(h.state.campaign?.next)
        let now = at("2026-03-02T20:00:00Z")  // outside the window, before the interval
        _ = try h.send(.command(.step), now: now).get()
        let touch = try #require(h.touches.last)
        #expect(h.touches.count == 2 && touch.at == now)
        #expect(touch.str("contact_id") == planned.contactId && touch.fields["operator_step"] == true)
        #expect(h.state.campaign?.steps == 2)
        #expect(h.timer.map { $0 > now } == true)
        // Pauses and suppression still apply.
        _ = h.send(.command(.pause(reason: nil)), now: now)
        if case .failure(let e) = h.send(.command(.step), now: now) { #expect(e.code == "invalid_state") } else { Issue.record("stepped a paused campaign") }
        _ = h.send(.command(.resume), now: now)
        h.suppressed.insert("sarah.chen@acme.com")
        let before = h.touches.count
        _ = try h.send(.command(.step), now: at("2026-03-03T15:00:00Z")).get()
        #expect(!h.touches.dropFirst(before).contains { $0.str("contact_email") == "sarah.chen@acme.com" })
        #expect(h.types().contains("contact.suppressed"))
    }

    @Test func previewRendersTheNextTouchAndStoresNothing() throws {
        var h = Harness()
        // A lead not yet sent, on a Saturday: its first touch on Monday 09:00 New York time.
        let lead = flatLead(colleagues: [])
        let p = try h.engine.preview(h.state, lead: lead, now: at("2026-03-07T15:00:00Z"), context: h.context).get()
        #expect(h.state == AccountState(accountId: "acme"))
        #expect(p["touch"]?["contact_email"] == "sarah.chen@acme.com")
        #expect(p["touch"]?["due_at"] == "2026-03-09T13:00:00.000Z")
        #expect(p["touch"]?["local_time"] == "2026-03-09 09:00 (Mon)")
        #expect(p["touch"]?["timezone"] == "America/New_York")
        #expect(p["touch"]?["delay"] == "send_window")
        #expect(p["touch"]?["message"]?.stringValue?.contains("Hi Sarah") == true)
        // A campaign's planned touch; a suppressed contact shows as a conflict and the touch moves on.
        _ = h.lead(flatLead(colleagues: [colleague("bob@acme.com", name: "Bob Bee", title: "CEO")]), now: t0)
        let state = h.state
        h.suppressed.insert("sarah.chen@acme.com")
        let q = try h.engine.preview(h.state, lead: nil, now: t0, context: h.context).get()
        #expect(h.state == state)
        #expect(q["conflicts"]?.arrayValue?.contains { $0["type"] == "contact.suppressed" } == true)
        #expect(q["touch"]?["contact_email"] == "bob@acme.com")
        // Nothing to preview: not_found without a campaign; why_none when paused.
        if case .failure(let e) = h.engine.preview(AccountState(accountId: "x"), lead: nil, now: t0, context: h.context) {
            #expect(e.code == "not_found")
        } else { Issue.record("previewed an account without a campaign") }
        _ = h.send(.command(.pause(reason: nil)), now: t0)
        let paused = try h.engine.preview(h.state, lead: nil, now: t0, context: h.context).get()
        #expect(paused["touch"] == .null && paused["why_none"] == "the campaign is paused")
    }
}
