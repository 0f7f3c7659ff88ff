import AbmWire
import Foundation
import Testing
@testable import CampaignCore

@Suite struct ResponseTests {
    let t0 = at("2026-03-05T15:00:00Z")

    func started(_ c: CampaignConfig = .default, colleagues: [JSONValue] = [colleague("bob@acme.com", name: "Bob Bee", title: "CEO")]) -> Harness {
        var h = Harness(config: c)
        _ = h.lead(flatLead(colleagues: colleagues), now: t0)
        return h
    }

    func respond(_ h: inout Harness, _ kind: ResponseKind, email: String? = "sarah.chen@acme.com", id: String? = nil,
                 returnDate: String? = nil, at when: Date) -> Result<Transition, AbmError> {
        h.send(.response(ResponseInput(accountId: "acme", contactEmail: email, contactId: id, kind: kind, returnDate: returnDate)),
               now: when)
    }

    @Test(arguments: [(ResponseKind.reply, "responded"), (.negative, "negative_sentiment")])
    func pausingResponses(kind: ResponseKind, reason: String) throws {
        var h = started()
        let when = at("2026-03-06T12:00:00Z")
        _ = try respond(&h, kind, email: "BOB@acme.com", at: when).get()
        #expect(h.state.campaign?.status == .paused)
        #expect(h.state.campaign?.reason == reason)
        #expect(h.timer == nil)
        #expect(Array(h.types().suffix(2)) == ["response.received", "campaign.paused"])
        let touchesBefore = h.touches.count
        // Pausing is instant: a timer that fires anyway emits nothing.
        _ = h.send(.timerFired(dueAt: at("2026-03-09T14:00:00Z")), now: at("2026-03-09T14:00:00Z"))
        h.run(until: at("2027-01-01T00:00:00Z"))
        #expect(h.touches.count == touchesBefore)
    }

    @Test func meetingScheduledCompletesTheCampaign() throws {
        var h = started()
        _ = try respond(&h, .meetingScheduled, at: at("2026-03-06T12:00:00Z")).get()
        #expect(h.state.campaign?.status == .completed)
        #expect(h.state.campaign?.reason == "meeting_scheduled")
        #expect(h.state.campaign?.contacts[0].standing == .meetingScheduled)
        #expect(h.timer == nil)
        #expect(Array(h.types().suffix(2)) == ["response.received", "campaign.completed"])
        #expect(h.events.last?.str("reason") == "meeting_scheduled")
        let touches = h.touches.count
        h.run(until: at("2027-01-01T00:00:00Z"))
        #expect(h.touches.count == touches)
    }

    @Test func meetingScheduledCompletesAPausedCampaignToo() throws {
        var h = started()
        _ = try respond(&h, .reply, email: "bob@acme.com", at: at("2026-03-06T12:00:00Z")).get()
        #expect(h.state.campaign?.status == .paused)
        _ = try respond(&h, .meetingScheduled, at: at("2026-03-07T12:00:00Z")).get()
        #expect(h.state.campaign?.status == .completed)
        #expect(h.state.campaign?.reason == "meeting_scheduled")
    }

    /// A lead after a finished campaign starts a new one, but whoever answered in the old one stays answered.
    @Test func aNewCampaignDoesNotTouchWhoAnsweredInThePreviousOne() throws {
        var h = started()
        _ = try respond(&h, .meetingScheduled, at: at("2026-03-06T12:00:00Z")).get()
        _ = try h.lead(flatLead(colleagues: [colleague("bob@acme.com", name: "Bob Bee", title: "CEO")]),
                       now: at("2026-03-09T14:00:00Z")).get()
        #expect(h.state.campaign?.id == "acme-c2")
        #expect(h.state.campaign?.contacts.first { $0.email == "sarah.chen@acme.com" }?.standing == .meetingScheduled)
        h.run(until: at("2027-01-01T00:00:00Z"))
        #expect(!h.touches.contains { $0.campaignId == "acme-c2" && $0.str("contact_email") == "sarah.chen@acme.com" })
        #expect(h.touches.contains { $0.campaignId == "acme-c2" && $0.str("contact_email") == "bob@acme.com" })
    }

    @Test func unknownContactIdIsRefusedUnknownEmailIsRecorded() throws {
        var h = started()
        #expect(respond(&h, .reply, email: nil, id: "nobody", at: at("2026-03-06T12:00:00Z")).failureCode == "not_found")
        #expect(h.state.campaign?.status == .active)
        _ = try respond(&h, .bounce, email: "stranger@acme.com", at: at("2026-03-06T12:00:00Z")).get()
        let suppressed = try #require(h.events.last { $0.type == .contactSuppressed })
        #expect(suppressed.fields["contact_id"] == .null)
        #expect(suppressed.str("reason") == "bounced")
    }

    @Test func replyFromAnUnknownAddressStillPauses() throws {
        var h = started()
        _ = try respond(&h, .reply, email: "stranger@acme.com", at: at("2026-03-06T12:00:00Z")).get()
        #expect(h.state.campaign?.status == .paused)
        let ev = h.events.first { $0.type == .responseReceived }!
        #expect(ev.fields["contact_id"] == .null)
    }

    @Test func withoutAutoPauseTheResponderIsJustNotTouchedAgain() throws {
        var h = started(config(["auto_pause_on_response": false, "primary_focus_steps": 1, "colleague_message_delay_days": 0]))
        _ = try respond(&h, .reply, at: at("2026-03-06T12:00:00Z")).get()
        #expect(h.state.campaign?.status == .active)
        h.run(until: at("2027-01-01T00:00:00Z"))
        let after = h.touches.filter { $0.at > at("2026-03-06T12:00:00Z") }
        #expect(!after.isEmpty)
        #expect(after.allSatisfy { $0.str("contact_email") == "bob@acme.com" })
    }

    @Test func unsubscribeSuppressesEverywhereAndTheCampaignGoesOn() throws {
        var h = started()
        _ = try respond(&h, .unsubscribe, at: at("2026-03-06T12:00:00Z")).get()
        #expect(h.suppressed.contains("sarah.chen@acme.com"))
        #expect(h.state.campaign?.status == .active)
        #expect(h.types().contains("contact.suppressed"))
        h.run(until: at("2027-01-01T00:00:00Z"))
        let after = h.touches.filter { $0.at > at("2026-03-06T12:00:00Z") }
        #expect(!after.isEmpty)
        #expect(after.allSatisfy { $0.str("contact_email") == "bob@acme.com" })
        // A person suppressed in one account is never touched by any campaign.
        var other = Harness(account: "globex")
        other.suppressed = h.suppressed
        _ = other.lead(flatLead(account: "globex", colleagues: [colleague("x@globex.com")]), now: at("2026-04-01T14:00:00Z"))
        other.run(until: at("2027-01-01T00:00:00Z"))
        #expect(!other.touches.contains { $0.str("contact_email") == "sarah.chen@acme.com" })
    }

    @Test func suppressionElsewhereIsCheckedBeforeEveryTouch() throws {
        var h = started(colleagues: [])
        h.run(until: at("2026-03-08T00:00:00Z"))
        #expect(h.touches.count == 1)
        h.suppressed.insert("sarah.chen@acme.com") // unsubscribed through another account
        h.run(until: at("2027-01-01T00:00:00Z"))
        #expect(h.touches.count == 1)
        #expect(h.types().contains("contact.suppressed"))
        #expect(h.state.campaign?.status == .completed)
        #expect(h.state.campaign?.reason == "no_eligible_contacts")
    }

    /// Someone who answered before being a contact is added later in that standing, never as reachable.
    @Test func answeredBeforeBeingAddedIsNeverTouched() throws {
        var h = started(config(["auto_pause_on_response": false]), colleagues: [])
        _ = try respond(&h, .bounce, email: "later@acme.com", at: at("2026-03-06T12:00:00Z")).get()
        let t = try h.lead(flatLead(email: "later@acme.com", name: "Late Comer"), now: at("2026-03-06T13:00:00Z")).get()
        #expect(t.outcome.warnings.contains { $0.contains("already answered") })
        #expect(h.state.campaign?.contacts.first { $0.email == "later@acme.com" }?.standing == .bounced)
        h.run(until: at("2027-01-01T00:00:00Z"))
        #expect(!h.touches.contains { $0.str("contact_email") == "later@acme.com" })
    }

    @Test func bounceMarksTheAddressAndTheCampaignGoesOn() throws {
        var h = started()
        _ = try respond(&h, .bounce, at: at("2026-03-06T12:00:00Z")).get()
        #expect(h.state.campaign?.status == .active)
        #expect(h.state.campaign?.contacts[0].standing == .bounced)
        // A worker learns it from the event stream: contact.suppressed, reason bounced, this contact.
        let suppressed = try #require(h.events.last { $0.type == .contactSuppressed })
        #expect(suppressed.str("reason") == "bounced")
        #expect(suppressed.str("contact_id") == h.state.campaign?.contacts[0].id)
        #expect(suppressed.str("email") == "sarah.chen@acme.com")
        #expect(!h.suppressed.contains("sarah.chen@acme.com"))
        h.run(until: at("2027-01-01T00:00:00Z"))
        #expect(h.touches.filter { $0.at > at("2026-03-06T12:00:00Z") }.allSatisfy { $0.str("contact_email") == "bob@acme.com" })
    }

    @Test func outOfOfficeDefaultsToSevenDays() throws {
        var h = started(colleagues: [])
        let when = at("2026-03-06T12:00:00Z")
        _ = try respond(&h, .outOfOffice, at: when).get()
        h.run(until: at("2027-01-01T00:00:00Z"))
        let next = h.touches.dropFirst().first!
        #expect(next.at >= when.addingTimeInterval(7 * 86_400))
    }

    @Test func outOfOfficeWithReturnDate() throws {
        var h = started(colleagues: [])
        _ = try respond(&h, .outOfOffice, returnDate: "2026-04-01", at: at("2026-03-06T12:00:00Z")).get()
        h.run(until: at("2027-01-01T00:00:00Z"))
        let next = h.touches.dropFirst().first!
        let l = local(next.at, "America/New_York")
        #expect(l.day == "2026-04-01" && l.hour == 9)
        #expect(respond(&h, .outOfOffice, returnDate: "soon", at: at("2026-03-07T12:00:00Z")).failureCode == "invalid_field")
    }

    @Test func responseValidation() {
        var h = started()
        let t = at("2026-03-06T12:00:00Z")
        #expect(respond(&h, .reply, email: nil, at: t).failureCode == "missing_field")
        #expect(respond(&h, .reply, email: "not an email", at: t).failureCode == "invalid_field")
        let bobId = h.state.campaign!.contacts.first { $0.email == "bob@acme.com" }!.id
        let mismatch = respond(&h, .reply, email: "sarah.chen@acme.com", id: bobId, at: t)
        #expect(mismatch.failureCode == "invalid_field")
        #expect(mismatch.failureField == "contact_id")
        #expect(respond(&h, .reply, email: nil, id: "nobody", at: t).failureCode == "not_found")
        #expect(h.state.campaign?.status == .active) // nothing applied
        // By id alone.
        #expect(respond(&h, .reply, email: nil, id: bobId, at: t).failureCode == nil)
        #expect(h.state.campaign?.status == .paused)
    }

    @Test func responseForAnAccountWithoutCampaign() throws {
        var h = Harness()
        let r = respond(&h, .reply, at: t0)
        #expect(r.failureCode == "not_found")
        _ = try respond(&h, .unsubscribe, email: "Someone@Else.com", at: t0).get()
        #expect(h.suppressed == ["someone@else.com"])
        #expect(h.events.allSatisfy { $0.campaignId == nil })
        #expect(h.state.campaign == nil)
    }

    @Test func responseToAFinishedCampaignIsRecordedWithoutChangingIt() throws {
        var h = started(config(["max_touchpoints": 1]))
        #expect(h.state.campaign?.status == .completed)
        _ = try respond(&h, .reply, at: at("2026-03-06T12:00:00Z")).get()
        #expect(h.state.campaign?.status == .completed)
        #expect(h.events.last?.type == .responseReceived)
        _ = try respond(&h, .unsubscribe, at: at("2026-03-06T12:00:00Z")).get()
        #expect(h.suppressed.contains("sarah.chen@acme.com"))
        #expect(h.state.campaign?.status == .completed)
    }

    /// conflict_check_enabled=false: lead metadata conflicts are not checked, but suppression still applies.
    @Test func conflictChecksDisabled() throws {
        var h = Harness(config: config(["conflict_check_enabled": false]))
        _ = try h.lead(flatLead(extra: ["metadata": ["meeting_scheduled": true]]), now: t0).get()
        #expect(h.state.campaign?.status == .active)
        #expect(h.touches.count == 1)
        h.suppressed.insert("sarah.chen@acme.com")
        h.run(until: at("2027-01-01T00:00:00Z"))
        #expect(h.touches.count == 1)
        #expect(!h.types().contains("conflict.detected"))
    }
}

extension Result where Success == Transition, Failure == AbmError {
    var failureCode: ErrorCode? {
        if case .failure(let e) = self { return e.code }
        return nil
    }
    var failureField: String? {
        if case .failure(let e) = self { return e.field }
        return nil
    }
}
