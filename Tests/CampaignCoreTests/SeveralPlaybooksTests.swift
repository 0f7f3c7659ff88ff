import AbmWire
import Foundation
import Testing
@testable import CampaignCore

/// Several playbooks on one account (docs/campaign-behaviour.md, "Several playbooks on one account").
@Suite struct SeveralPlaybooksTests {
    /// The test kit's harness deciding with one version of each playbook.
    static func harness(_ definitions: [String: JSONValue]) -> Harness {
        var h = Harness(account: "acme")
        h.books = Playbooks(definitions.mapValues { d in
            Playbooks.Playbook(versions: [1: CampaignEngine(config: config(d))], latest: 1, acceptsLeads: true)
        })
        return h
    }

    static let t0 = at("2026-03-02T09:00:00Z")
    static let hour: TimeInterval = 3600

    static func playbook(_ extra: [String: JSONValue] = [:]) -> JSONValue {
        .object(["send_window": alwaysOpen, "touchpoint_intervals_days": [1], "max_touchpoints": 6]
            .merging(extra) { _, b in b })
    }

    static func lead(_ playbook: String, email: String = "pat@acme.example") -> JSONValue {
        flatLead(email: email, name: "Pat Lee", timezone: "UTC", extra: ["playbook": .string(playbook)])
    }

    @Test func twoPlaybooksSideBySideTouchOnePersonAtMostOncePerResponseTimeout() throws {
        var h = Self.harness(["default": Self.playbook(), "renewal": Self.playbook(), "upsell": Self.playbook()])
        let first = try h.send(.lead(Self.lead("renewal")), now: Self.t0).get()
        #expect(first.outcome.campaignId == "acme-c1")
        let second = try h.send(.lead(Self.lead("upsell")), now: Self.t0.addingTimeInterval(Self.hour)).get()
        #expect(second.outcome.campaignId == "acme-c2")
        #expect(h.state.others.count == 1 && h.state.others[0].playbook?.name == "upsell")
        h.run(until: Self.t0.addingTimeInterval(40 * 86_400))
        let touches = h.touches(to: "pat@acme.example")
        #expect(Set(touches.compactMap(\.campaignId)) == ["acme-c1", "acme-c2"])
        for (a, b) in zip(touches, touches.dropFirst()) {
            #expect(b.at.timeIntervalSince(a.at) >= 48 * Self.hour, "\(a.campaignId ?? "") \(a.at) then \(b.campaignId ?? "") \(b.at)")
        }
        // The other playbook's touch is why a campaign waits.
        #expect(touches.contains { $0.str("delay") == DelayRule.otherPlaybook.rawValue })
        // Both ran to their six touches; a campaign beside the first leaves the state when it ends.
        #expect(touches.count == 12)
        #expect(h.state.others.isEmpty && h.timer == nil)
    }

    /// Both due at once for one person: the higher priority's touch goes out, the other's waits.
    @Test(arguments: [("upsell", "acme-c2"), ("renewal", "acme-c1")])
    func theHigherPriorityGoesFirstWhenBothAreDue(first: String, campaign: String) throws {
        let interval: [String: JSONValue] = ["touchpoint_intervals_days": [2]]
        var h = Self.harness(["renewal": Self.playbook(interval.merging(["priority": first == "renewal" ? 10 : 0]) { _, b in b }),
                       "upsell": Self.playbook(interval.merging(["priority": first == "upsell" ? 10 : 0]) { _, b in b })])
        _ = try h.send(.lead(Self.lead("renewal")), now: Self.t0).get()
        _ = try h.send(.lead(Self.lead("upsell")), now: Self.t0).get()
        // renewal's second step and upsell's first are both due 48 hours later.
        #expect(h.state.campaign?.nextDueAt == Self.t0.addingTimeInterval(48 * Self.hour))
        #expect(h.state.others.first?.nextDueAt == Self.t0.addingTimeInterval(48 * Self.hour))
        h.run(until: Self.t0.addingTimeInterval(48 * Self.hour))
        let at48 = h.touches(to: "pat@acme.example").filter { $0.at == Self.t0.addingTimeInterval(48 * Self.hour) }
        #expect(at48.map(\.campaignId) == [campaign])
        // The other waits for the minimum gap, saying why.
        let other = [h.state.campaign!] + h.state.others
        let waiting = try #require(other.first { $0.id != campaign })
        #expect(waiting.next?.delay == .otherPlaybook)
        #expect(waiting.nextDueAt! >= Self.t0.addingTimeInterval(96 * Self.hour))
    }

    @Test func aResponsePausesEveryPlaybookOfTheAccountUnlessOneSaysOtherwise() throws {
        var h = Self.harness(["renewal": Self.playbook(), "upsell": Self.playbook(), "quiet": Self.playbook(["pause_on_account_response": false])])
        _ = try h.send(.lead(Self.lead("renewal")), now: Self.t0).get()
        _ = try h.send(.lead(Self.lead("upsell", email: "sam@acme.example")), now: Self.t0).get()
        _ = try h.send(.lead(Self.lead("quiet", email: "kim@acme.example")), now: Self.t0).get()
        #expect(h.state.others.count == 2)
        // Pat, only in renewal, replies: renewal and upsell pause; quiet goes on.
        _ = try h.send(.response(ResponseInput(accountId: "acme", contactEmail: "pat@acme.example", kind: .reply)),
                   now: Self.t0.addingTimeInterval(Self.hour)).get()
        let byPlaybook = Dictionary(uniqueKeysWithValues: ([h.state.campaign!] + h.state.others).map { ($0.playbook!.name, $0) })
        #expect(byPlaybook["renewal"]?.status == .paused && byPlaybook["renewal"]?.reason == "responded")
        #expect(byPlaybook["upsell"]?.status == .paused && byPlaybook["upsell"]?.reason == "responded")
        #expect(byPlaybook["quiet"]?.status == .active)
        #expect(h.events.filter { $0.type == .campaignPaused }.count == 2)
        // The account's timer is quiet's.
        #expect(h.timer == byPlaybook["quiet"]?.nextDueAt)
        h.run(until: Self.t0.addingTimeInterval(20 * 86_400))
        let after = h.events.filter { $0.type == .touchpointDue && $0.at > Self.t0.addingTimeInterval(Self.hour) }
        #expect(!after.isEmpty && after.allSatisfy { $0.str("contact_email") == "kim@acme.example" })
    }

    @Test func commandsActOnEveryPlaybookAndStepOnTheOneHoldingTheNextTouch() throws {
        var h = Self.harness(["renewal": Self.playbook(), "upsell": Self.playbook()])
        _ = try h.send(.lead(Self.lead("renewal")), now: Self.t0).get()
        _ = try h.send(.lead(Self.lead("upsell", email: "sam@acme.example")), now: Self.t0).get()
        _ = try h.send(.command(.pause(reason: nil)), now: Self.t0).get()
        #expect(([h.state.campaign!] + h.state.others).allSatisfy { $0.status == .paused })
        #expect(h.timer == nil)
        _ = try h.send(.command(.resume), now: Self.t0).get()
        #expect(([h.state.campaign!] + h.state.others).allSatisfy { $0.status == .active })
        let holder = try #require(SeveralPlaybooks.holder(h.state))
        let before = h.touches(to: holder.contacts[0].email).count
        _ = try h.send(.command(.step), now: Self.t0.addingTimeInterval(Self.hour)).get()
        #expect(h.touches(to: holder.contacts[0].email).count == before + 1)
        _ = try h.send(.command(.cancel), now: Self.t0.addingTimeInterval(2 * Self.hour)).get()
        #expect(h.state.campaign?.status == .cancelled && h.state.others.isEmpty && h.timer == nil)
    }

    @Test func theStatusShowsWhichPlaybookHoldsTheNextTouchAndWhy() throws {
        var h = Self.harness(["renewal": Self.playbook(["priority": 5]), "upsell": Self.playbook()])
        _ = try h.send(.lead(Self.lead("renewal")), now: Self.t0).get()
        _ = try h.send(.lead(Self.lead("upsell")), now: Self.t0).get()
        let status = try #require(h.books!.status(h.state, now: Self.t0))
        #expect(status["playbook"]?["name"] == "renewal")
        #expect(status["others"]?.arrayValue?.map { $0["playbook"]?["name"] } == ["upsell"])
        let next = try #require(status["account_next"])
        let holder = try #require(SeveralPlaybooks.holder(h.state))
        #expect(next["campaign_id"] == .string(holder.id) && next["playbook"] == .string(holder.playbook!.name))
        #expect(next["why"]?.stringValue?.contains("priority") == true)
        // upsell's first touch waits for renewal's: the status says so.
        #expect(status["others"]?.arrayValue?.first?["next_touch"]?["delay"] == "other_playbook")
    }

    @Test func erasingAPersonErasesThemInEveryPlaybooksCampaign() throws {
        var h = Self.harness(["renewal": Self.playbook(), "upsell": Self.playbook()])
        _ = try h.send(.lead(Self.lead("renewal", email: "sam@acme.example")), now: Self.t0).get()
        _ = try h.send(.lead(Self.lead("upsell")), now: Self.t0).get()
        // Pat is only in the campaign beside the first: the strings to scrub from events come from it too.
        #expect(EventRedaction.personalStrings(in: h.state, email: "pat@acme.example").contains("Pat Lee"))
        _ = try h.send(.erase(email: "pat@acme.example", emailSHA256: String(repeating: "0", count: 64)), now: Self.t0).get()
        #expect(h.state.campaign?.contacts.first?.standing == .active)
        #expect(h.events.contains { $0.type == .contactErased && $0.campaignId == "acme-c2" })
        // Pat was upsell's only contact: that campaign ends (nobody left to touch) and leaves the state.
        #expect(h.events.contains { $0.type == .campaignCompleted && $0.campaignId == "acme-c2" })
        #expect(h.state.others.isEmpty)
    }

    @Test func aLeadForARunningPlaybookJoinsItsCampaign() throws {
        var h = Self.harness(["renewal": Self.playbook(), "upsell": Self.playbook()])
        _ = try h.send(.lead(Self.lead("renewal")), now: Self.t0).get()
        _ = try h.send(.lead(Self.lead("upsell")), now: Self.t0).get()
        let joined = try h.send(.lead(Self.lead("upsell", email: "sam@acme.example")), now: Self.t0).get()
        #expect(joined.outcome.campaignId == "acme-c2")
        #expect(h.state.others.count == 1 && h.state.others[0].contacts.count == 2)
        #expect(h.state.campaignsStarted == 2)
    }
}
