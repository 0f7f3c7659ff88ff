import AbmWire
import Foundation
import Testing
@testable import CampaignCore

/// Issue #8, faults 3 and 4: defaults read naturally; repeated touches to one person differ.
@Suite struct MessageVarietyTests {
    let t0 = at("2026-03-05T15:00:00Z")

    private func run(_ c: CampaignConfig, _ lead: JSONValue) -> [DomainEvent] {
        var h = Harness(config: c)
        _ = h.lead(lead, now: t0)
        h.run(until: at("2028-01-01T00:00:00Z"))
        return h.touches
    }

    private let everyChannel = config(["max_touchpoints": 16, "max_concurrent_contacts": 5, "attempts_per_channel": 1,
                                       "channel_escalation": ["email", "sms", "call", "linkedin"]])

    private func team(company: String?) -> JSONValue {
        flatLead(colleagues: [
            colleague("a@acme.com", name: "Ann Lee", title: "VP Engineering", phone: "+14155550101"),
            colleague("b@acme.com", name: "Bo Park", title: "Director of Data", phone: "+14155550102"),
        ], company: company, extra: ["linkedin_url": "https://linkedin.com/in/sarah"])
    }

    @Test func withNoCompanyOrSenderConfiguredMessagesReadNaturally() {
        let t = run(everyChannel, team(company: nil))
        #expect(t.count == 16)
        for e in t {
            let m = e.str("message")!
            for awkward in ["your team at your team", "at your team", "from our team", "this is The team", "The team from",
                            "at your company.", "teams like yours at"] {
                #expect(!m.contains(awkward), "\(awkward.debugDescription) in: \(m)")
            }
        }
        let call = t.first { $0.str("channel") == "call" }?.str("message") ?? ""
        #expect(call.contains("Opener: Hi Sarah, thanks for taking my call."))
        // With a sender configured the opener introduces them.
        let named = run(config(["max_touchpoints": 5, "attempts_per_channel": 1,
                                "sender": ["name": "Alex Kim", "company": "Northwind"]]), flatLead())
        let namedCall = named.first { $0.str("channel") == "call" }?.str("message") ?? ""
        #expect(namedCall.contains("Opener: Hi Sarah, this is Alex Kim from Northwind."))
    }

    @Test func noTwoTouchesToOnePersonCarryTheSameMessage() {
        for (c, lead) in [(config(["max_touchpoints": 14]), flatLead()),
                          (everyChannel, team(company: "Acme Corp")),
                          (config(["max_touchpoints": 20, "max_concurrent_contacts": 2]), team(company: nil))] {
            let t = run(c, lead)
            #expect(t.count >= 14)
            var seen: [String: Set<String>] = [:]
            for e in t {
                let who = e.str("contact_id")!, m = e.str("message")!
                #expect(!(seen[who]?.contains(m) ?? false), "repeated to \(who): \(m)")
                seen[who, default: []].insert(m)
            }
        }
    }

    @Test func smsColleagueReferencesRotatePhrasings() {
        let c = config(["max_touchpoints": 20, "max_concurrent_contacts": 5, "channel_escalation": ["sms"],
                        "attempts_per_channel": 4])
        let t = run(c, team(company: "Acme Corp"))
        let refs = t.filter { $0.fields["reference"] != nil }
        #expect(refs.count >= 3)
        // The reference sentence, without the greeting and the follow-up line.
        let phrasings = Set(refs.map { e -> String in
            let m = e.str("message")!
            return m.contains("Dr. Sarah Chen on your team asked") ? "a"
                : m.contains("Sarah from your team was in touch") ? "b"
                : m.contains("Sarah on your team has been looking into") ? "c" : m
        })
        #expect(phrasings == ["a", "b", "c"])
        for e in t { #expect(e.str("message")!.count <= 160) }
    }
}
