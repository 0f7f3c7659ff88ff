import AbmWire
import Foundation
import Testing
@testable import CampaignCore

/// `CampaignInput.erase` and `EventRedaction` (docs/campaign-behaviour.md, "Erasure").
@Suite struct EraseTests {
    let t0 = at("2026-03-02T14:00:00Z")

    @Test func erasingThePlannedContactBlanksItAndReplansToAnother() throws {
        var h = Harness()
        _ = h.lead(flatLead(colleagues: [colleague("bob@acme.com", name: "Bob Bee", title: "CEO")]), now: t0)
        h.run(until: at("2026-03-04T00:00:00Z"))
        #expect(h.state.campaign?.next?.contactId == h.state.campaign?.contacts[0].id)  // Sarah holds the next touch
        let erasedAt = at("2026-03-04T12:00:00Z")
        let t = try h.send(.erase(email: "sarah.chen@acme.com", emailSHA256: "h"), now: erasedAt).get()
        let sarah = try #require(h.state.campaign?.contacts[0])
        #expect(sarah.standing == .erased)
        #expect([sarah.email, sarah.name] == [Erased.text, Erased.text])
        #expect(sarah.phone == nil && sarah.title == nil && sarah.timezone == nil)
        #expect(t.effects.contains(.cancelTimer))
        #expect(h.state.campaign?.next?.contactId != sarah.id)
        let audit = try #require(h.events.last { $0.type == .contactErased })
        #expect(audit.fields["email_sha256"] == "h")
        #expect(audit.fields["contact_id"] == .string(sarah.id))
        h.run(until: at("2027-01-01T00:00:00Z"))
        let later = h.touches.filter { $0.at > erasedAt }
        #expect(!later.isEmpty)
        #expect(later.allSatisfy { $0.str("contact_email") == "bob@acme.com" })
        // Colleagues are no longer told who referred them.
        #expect(later.allSatisfy { $0.fields["reference"] == nil && !($0.str("message") ?? "").contains(Erased.text) })
    }

    @Test func anAddressOnlyRememberedAsAnsweringIsForgotten() throws {
        var h = Harness()
        _ = h.lead(flatLead(), now: t0)
        _ = h.send(.response(ResponseInput(accountId: "acme", contactEmail: "zoe@acme.com", kind: .bounce)), now: t0)
        #expect(h.state.campaign?.outsiders["zoe@acme.com"] != nil)
        _ = try h.send(.erase(email: "zoe@acme.com", emailSHA256: "z"), now: t0).get()
        #expect(h.state.campaign?.outsiders["zoe@acme.com"] == nil)
        #expect(h.events.last?.type == .contactErased)
        #expect(h.events.last?.fields["contact_id"] == .null)
    }

    @Test func redactionScrubsObjectsAboutThePersonAndTheirWordsElsewhere() throws {
        let body = Array(#"{"seq":7,"type":"touchpoint.due","contact_email":"bob@acme.com","contact_name":"Bob Bee","message":"Hi Bob, Sarah Chen suggested I write. Sarahs and Sarah-Jane are others.","reference":{"contact_id":"c1","name":"Sarah Chen"},"step":3}"#.utf8)
        let out = try #require(EventRedaction.redact(body, email: "sarah@acme.com", personal: ["Sarah Chen", "Sarah"]))
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.hasPrefix(#"{"seq":7,"#))
        #expect(text.contains(#""message":"Hi Bob, [erased] suggested I write. Sarahs and [erased]-Jane are others.""#))
        #expect(text.contains(#""reference":{"contact_id":"c1","name":"[erased]"}"#))
        #expect(text.contains(#""contact_name":"Bob Bee""#))
        // The person's own touch: every personal field, the message included.
        let own = Array(#"{"seq":8,"contact_email":"sarah@acme.com","contact_name":"Sarah Chen","contact_phone":"+1415","message":"Hi Sarah","step":1,"subject":"For Sarah"}"#.utf8)
        let scrubbed = String(decoding: try #require(EventRedaction.redact(own, email: "sarah@acme.com", personal: [])), as: UTF8.self)
        #expect(scrubbed == #"{"seq":8,"contact_email":"[erased]","contact_name":"[erased]","contact_phone":"[erased]","message":"[erased]","step":1,"subject":"[erased]"}"#)
        // Nothing of the person: unchanged (nil).
        #expect(EventRedaction.redact(Array(#"{"seq":9,"message":"Hi Bob"}"#.utf8), email: "sarah@acme.com", personal: ["Sarah"]) == nil)
    }
}
