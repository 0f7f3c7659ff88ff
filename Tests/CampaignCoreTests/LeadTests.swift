import AbmWire
import Foundation
import Testing
@testable import CampaignCore

@Suite struct LeadTests {
    let t0 = at("2026-03-05T15:00:00Z") // Thursday, 10:00 in New York

    func rejected(_ lead: JSONValue) -> AbmError? {
        var h = Harness()
        if case .failure(let e) = h.lead(lead, now: t0) {
            #expect(h.events.isEmpty)
            #expect(h.state == AccountState(accountId: "acme"))
            return e
        }
        return nil
    }

    @Test func leadWithoutAccountIdIsRejected() {
        var h = Harness(account: "")
        let r = h.lead(["email": "a@b.com"], now: t0)
        guard case .failure(let e) = r else { Issue.record("accepted"); return }
        #expect(e.code == "missing_field")
        #expect(e.field == "lead.account_id")
    }

    @Test func qualificationTierGatesTheLead() {
        let lead: (String) -> JSONValue = { ["account_id": "acme", "email": "a@acme.com", "qualification_tier": .string($0)] }
        #expect(rejected(lead("cool"))?.field == "lead.qualification_tier")
        #expect(rejected(lead("COLD"))?.code == "invalid_field")
        #expect(rejected(lead("lukewarm"))?.field == "lead.qualification_tier")
        for ok in ["warm", "Hot", "SCORCHING"] { #expect(rejected(lead(ok)) == nil, "\(ok)") }
        #expect(rejected(["account_id": "acme", "email": "a@acme.com"]) == nil)  // no tier: not gated
        var h = Harness(config: config(["min_qualification_tier": .null]))
        #expect((try? h.lead(lead("unqualified"), now: t0).get()) != nil)
        var cold = Harness(config: config(["min_qualification_tier": "cold"]))
        #expect((try? cold.lead(lead("cool"), now: t0).get()) != nil)
        #expect(configError(["min_qualification_tier": "tepid"])?.field == "min_qualification_tier")
    }

    @Test func primaryValidation() {
        #expect(rejected(["account_id": "acme", "name": "No Mail"])?.field == "lead.email")
        #expect(rejected(["account_id": "acme", "name": "No Mail"])?.code == "missing_field")
        #expect(rejected(["account_id": "acme", "email": "not-an-email"])?.code == "invalid_field")
        #expect(rejected(["account_id": "acme", "email": "a@b"])?.field == "lead.email")
        #expect(rejected(["account_id": "acme", "email": "a@b.com", "timezone": "Moon/Base"])?.field == "lead.timezone")
        #expect(rejected(["account_id": "acme", "email": "a@b.com", "name": 42])?.field == "lead.name")
        #expect(rejected(["account_id": "acme", "email": "a@b.com", "account_contacts": "x"])?.field == "lead.account_contacts")
        #expect(rejected(["account_id": "other", "email": "a@b.com"])?.field == "lead.account_id")
        // The protocol says object or null: anything else is refused, not ignored.
        let meta = rejected(["account_id": "acme", "email": "a@b.com", "metadata": "vip"])
        #expect(meta?.code == .invalidField)
        #expect(meta?.field == "lead.metadata")
        #expect(rejected(["account_id": "acme", "email": "a@b.com", "metadata": .null]) == nil)
    }

    @Test func emailIsTrimmedAndLowerCased() throws {
        var h = Harness()
        _ = try h.lead(flatLead(email: "  Sarah.Chen@ACME.com "), now: t0).get()
        #expect(h.state.campaign?.contacts[0].email == "sarah.chen@acme.com")
    }

    @Test func badColleaguesAreSkippedWithWarningsNamingTheField() throws {
        var h = Harness()
        let t = try h.lead(flatLead(colleagues: [
            colleague("ok@acme.com", name: "Ok Person"),
            colleague("broken", name: "Bad Mail"),
            colleague("tz@acme.com", name: "Bad Zone", timezone: "Nowhere/Land"),
            ["name": "No Mail"],
        ]), now: t0).get()
        #expect(h.state.campaign?.contacts.count == 2)
        #expect(t.outcome.warnings.count == 3)
        #expect(t.outcome.warnings.contains { $0.hasPrefix("lead.account_contacts[1].email") })
        #expect(t.outcome.warnings.contains { $0.hasPrefix("lead.account_contacts[2].timezone") })
        #expect(t.outcome.warnings.contains { $0.hasPrefix("lead.account_contacts[3].email") })
    }

    /// Prototype behaviour: no name → "Unknown"; and the greeting then says "there", never "Unknown".
    @Test func missingNameIsUnknown() throws {
        var h = Harness()
        _ = try h.lead(["account_id": "acme", "email": "x@acme.com"], now: t0).get()
        #expect(h.state.campaign?.contacts[0].name == "Unknown")
        let msg = h.touches.first?.str("message") ?? ""
        #expect(msg.hasPrefix("Hi there,"))
        #expect(!msg.contains("Unknown"))
    }

    @Test func phoneIsNormalisedAndAnUnusablePhoneOnlyRemovesPhoneChannels() throws {
        var h = Harness()
        let t = try h.lead(flatLead(phone: "+1 (415) 555-0100", colleagues: [
            colleague("c@acme.com", name: "Cee Colleague", phone: "call me maybe"),
        ]), now: t0).get()
        let contacts = h.state.campaign!.contacts
        #expect(contacts[0].phone == "+14155550100")
        #expect(contacts[1].phone == nil)
        #expect(contacts.count == 2)
        #expect(t.outcome.warnings.contains { $0.hasPrefix("lead.account_contacts[0].phone") })
    }

    /// Prototype behaviour: duplicate emails merged (within a lead and across leads).
    @Test func duplicateEmailsAreMerged() throws {
        var h = Harness()
        _ = try h.lead(flatLead(phone: nil, colleagues: [
            colleague("SARAH.CHEN@acme.com", name: "Sarah Again", phone: "+14155550199"),
            colleague("bob@acme.com", name: "Bob"),
            colleague("bob@acme.com", name: "Bob Twice", title: "VP Sales"),
        ]), now: t0).get()
        var contacts = h.state.campaign!.contacts
        #expect(contacts.count == 2)
        #expect(contacts[0].phone == "+14155550199") // filled from the duplicate
        #expect(contacts[1].title == "VP Sales")
        // Across leads: the same people again add nobody.
        _ = try h.lead(flatLead(colleagues: [colleague("bob@acme.com")]), now: t0.addingTimeInterval(60)).get()
        contacts = h.state.campaign!.contacts
        #expect(contacts.count == 2)
        #expect(!h.types().contains("contact.added"))
    }

    @Test func idsAreSendersOrGeneratedAndNeverCollide() throws {
        var h = Harness()
        _ = try h.lead(flatLead(colleagues: [
            colleague("a@acme.com"),                      // generated
            colleague("b@acme.com", id: "contact-1"),      // sender took what would have been generated
        ], extra: ["id": "p-1"]), now: t0).get()
        let ids = h.state.campaign!.contacts.map(\.id)
        #expect(Set(ids).count == ids.count)
        #expect(ids.contains("p-1") && ids.contains("contact-1"))
        #expect(ids.count == 3)
    }

    /// Issue #8, fault 5: a colleague whose id belongs to someone else is refused at the ack, naming the field,
    /// and nothing is stored (it used to be skipped with a warning, the lead accepted).
    @Test func aColleagueIdUsedByAnotherPersonRefusesTheLead() throws {
        var h = Harness()
        let before = h.state
        let r = h.lead(flatLead(colleagues: [
            colleague("a@acme.com"),
            colleague("c@acme.com", id: "p-1"),           // the primary's id, another address
        ], extra: ["id": "p-1"]), now: t0)
        guard case .failure(let e) = r else { Issue.record("accepted: \(r)"); return }
        #expect(e.code == ErrorCode.invalidField)
        #expect(e.field == "lead.account_contacts[1].id")
        #expect(h.state == before && h.events.isEmpty)

        // Two colleagues of one lead claiming one id.
        let twice = h.lead(flatLead(colleagues: [colleague("a@acme.com", id: "x"), colleague("b@acme.com", id: "x")]),
                           now: t0)
        #expect((try? twice.get()) == nil)
        if case .failure(let e) = twice { #expect(e.field == "lead.account_contacts[1].id") }

        // A later lead whose colleague takes a running campaign's id: refused, the campaign unchanged.
        _ = try h.lead(flatLead(extra: ["id": "p-1"]), now: t0).get()
        let running = h.state
        let later = h.lead(flatLead(colleagues: [colleague("z@acme.com", id: "p-1")]), now: t0.addingTimeInterval(60))
        if case .failure(let e) = later { #expect(e.field == "lead.account_contacts[0].id") } else { Issue.record("accepted") }
        #expect(h.state == running)

        // The same person (same address) with the same id is a duplicate: merged, not refused.
        _ = try h.lead(flatLead(colleagues: [colleague("sarah.chen@acme.com", title: "CTO", id: "p-1")]),
                       now: t0.addingTimeInterval(120)).get()
        #expect(h.state.campaign!.contacts.count == 1)
    }

    @Test func secondLeadMergesIntoRunningCampaign() throws {
        var h = Harness()
        let first = try h.lead(flatLead(), now: t0).get()
        let second = try h.lead(flatLead(email: "new.person@acme.com", name: "New Person", title: "CEO",
                                         colleagues: [colleague("other@acme.com", name: "Other")]),
                                now: t0.addingTimeInterval(3600)).get()
        #expect(second.outcome.campaignId == first.outcome.campaignId)
        #expect(h.types().filter { $0 == "campaign.started" }.count == 1)
        #expect(h.types().filter { $0 == "contact.added" }.count == 2)
        let camp = h.state.campaign!
        // The new lead's primary joins as a colleague; the original primary stays first.
        #expect(camp.contacts[0].email == "sarah.chen@acme.com")
        #expect(camp.contacts.filter(\.isPrimary).count == 1)
        #expect(camp.contacts[1].email == "new.person@acme.com") // CEO scores highest among colleagues
    }

    @Test func leadAfterCompletionStartsANewCampaignWithANewId() throws {
        var h = Harness(config: config(["max_touchpoints": 1]))
        let a = try h.lead(flatLead(), now: t0).get()
        #expect(h.state.campaign?.status == .completed)
        let b = try h.lead(flatLead(), now: t0.addingTimeInterval(86_400)).get()
        #expect(a.outcome.campaignId == "acme-c1")
        #expect(b.outcome.campaignId == "acme-c2")
        let ids = h.touches.compactMap { $0.str("touchpoint_id") }
        #expect(ids == ["acme-c1:1", "acme-c2:1"])
        // After a cancel, too.
        _ = h.send(.command(.cancel), now: t0.addingTimeInterval(90_000))
        let c = try h.lead(flatLead(), now: t0.addingTimeInterval(100_000)).get()
        #expect(c.outcome.campaignId == "acme-c3" || h.state.campaign?.id == "acme-c3")
    }

    @Test(arguments: [
        (JSONValue(true), true), (JSONValue("2026-03-10T10:00:00Z"), true), (JSONValue("yes"), true),
        (JSONValue(false), false), (JSONValue("false"), false), (JSONValue("no"), false), (JSONValue("0"), false),
        (JSONValue(""), false), (JSONValue.null, false),
    ])
    func meetingScheduledMetadata(value: JSONValue, pauses: Bool) throws {
        var h = Harness()
        _ = try h.lead(flatLead(extra: ["metadata": ["company_name": "Acme", "meeting_scheduled": value]]), now: t0).get()
        #expect((h.state.campaign?.status == .paused) == pauses)
        if pauses {
            #expect(h.state.campaign?.reason == "meeting_scheduled")
            #expect(h.touches.isEmpty)
            #expect(h.types().contains("conflict.detected"))
        } else {
            #expect(h.touches.count == 1)
        }
    }

    @Test func nestedPrimaryShapeIsAccepted() throws {
        var h = Harness()
        _ = try h.lead(["account_id": "acme", "contact": ["email": "n@acme.com", "name": "Nested Person"]], now: t0).get()
        #expect(h.state.campaign?.contacts[0].email == "n@acme.com")
    }

    @Test func alreadySuppressedContactIsKeptButNeverTouched() throws {
        var h = Harness()
        h.suppressed = ["sarah.chen@acme.com"]
        let t = try h.lead(flatLead(colleagues: [colleague("bob@acme.com", name: "Bob Bee")]), now: t0).get()
        #expect(t.outcome.warnings.contains { $0.contains("suppression list") })
        h.run(until: at("2026-06-01T00:00:00Z"))
        #expect(!h.touches.isEmpty)
        #expect(h.touches.allSatisfy { $0.str("contact_email") == "bob@acme.com" })
    }
}
