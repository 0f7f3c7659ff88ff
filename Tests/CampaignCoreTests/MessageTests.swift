import AbmTestSupport
import AbmWire
import Foundation
import Mustache
import Testing
@testable import CampaignCore

@Suite struct MessageTests {
    let t0 = at("2026-03-05T15:00:00Z")

    /// Runs a campaign with one primary and colleagues, returning every touch.
    func touches(_ c: CampaignConfig = config(["max_touchpoints": 9]), lead: JSONValue) -> [DomainEvent] {
        var h = Harness(config: c)
        _ = h.lead(lead, now: t0)
        h.run(until: at("2027-06-01T00:00:00Z"))
        return h.touches
    }

    /// Prototype defect §8.5: "Hi Dr.," — honorifics are skipped in greetings.
    @Test(arguments: [("Dr. Sarah Chen", "Hi Sarah,"), ("Mr Tom Vale", "Hi Tom,"), ("Prof. Dr. Ann Berg", "Hi Ann,"),
                      ("MRS. Jo", "Hi Jo,"), ("Dr.", "Hi there,"), ("Ms", "Hi there,"), ("Madonna", "Hi Madonna,")])
    func greetingSkipsHonorifics(name: String, greeting: String) {
        let t = touches(config(["max_touchpoints": 1]), lead: flatLead(name: name))
        #expect(t[0].str("message")?.hasPrefix(greeting) == true)
    }

    @Test func colleagueReferenceNamesThePrimaryWithTitleAndRotatesThreePhrasings() {
        let t = touches(config(["max_touchpoints": 10, "max_concurrent_contacts": 5]), lead: flatLead(colleagues: [
            colleague("a@acme.com", name: "Al A"), colleague("b@acme.com", name: "Bo B"), colleague("c@acme.com", name: "Cy C"),
        ]))
        let refs = t.filter { $0.fields["reference"] != nil }
        #expect(refs.count >= 3)
        for r in refs {
            #expect(r.str("message")!.contains("Dr. Sarah Chen"))
            #expect(r.str("message")!.contains("CTO"))
            #expect(r.fields["reference"]?["name"] == "Dr. Sarah Chen")
            #expect(r.fields["reference"]?["contact_id"] == .string(t[0].str("contact_id")!))
        }
        #expect(refs.first!.str("message")!.contains("your colleague Dr. Sarah Chen (CTO) recently asked about data pipelines"))
        // Three distinct phrasings over the first three references.
        let bodies = refs.prefix(3).map { $0.str("message")!.replacingOccurrences(of: $0.str("message")!.components(separatedBy: ",")[0], with: "") }
        #expect(Set(bodies).count == 3)
        // Touches to the primary carry no reference.
        #expect(t.filter { $0.str("contact_id") == t[0].str("contact_id") }.allSatisfy { $0.fields["reference"] == nil })
    }

    /// Prototype defect §8.6: "()", "(None)", "our solution", "[specific value proposition]".
    @Test func failClosedWithMissingValues() {
        let t = touches(config(["max_touchpoints": 9, "attempts_per_channel": 1, "max_concurrent_contacts": 5,
                                "channel_escalation": ["email", "sms", "call", "linkedin"]]),
                        lead: ["account_id": "acme", "email": "p@acme.com", "phone": "+14155550100",
                               "linkedin_url": "https://linkedin.com/in/p", "title": "n/a",
                               "account_contacts": [["email": "c@acme.com", "name": "-", "phone": "+14155550101"],
                                                    ["email": "d@acme.com", "name": "Dee Ops", "title": "   "]]])
        #expect(t.count == 9)
        for e in t {
            for text in [e.str("message"), e.str("subject")].compactMap({ $0 }) {
                #expect(MessageText.isClean(text), "unclean: \(text)")
                #expect(!text.contains("None") && !text.contains("()") && !text.contains("{{") && !text.contains("["))
            }
        }
        #expect(t[0].str("message")!.contains("your company"))
        #expect(t[0].str("message")!.contains("our platform"))
        #expect(Set(t.map { $0.str("channel")! }) == ["email", "sms", "call", "linkedin"])
    }

    @Test func smsFitsIn160CharactersAndEmailHasSubjectAndBody() {
        let long = String(repeating: "enterprise data platform modernisation ", count: 6)
        let t = touches(config(["max_touchpoints": 9, "attempts_per_channel": 1, "max_concurrent_contacts": 5,
                                "primary_focus_steps": 3]),
                        lead: flatLead(name: "Dr. Maximiliana Alexandrina Wolfeschlegelsteinhausen", colleagues: [
                            colleague("a@acme.com", name: "Bartholomew Fitzgerald-Montgomery", title: "Chief Revenue Officer",
                                      phone: "+14155550101"),
                        ], topic: long, company: String(repeating: "Very Long Company Name ", count: 5)))
        let sms = t.filter { $0.str("channel") == "sms" }
        #expect(sms.count >= 2)
        for s in sms {
            #expect(s.str("message")!.count <= 160)
            #expect(s.fields["subject"] == nil)
            #expect(MessageText.isClean(s.str("message")!))
        }
        let email = t.first { $0.str("channel") == "email" }!
        #expect(email.str("subject")?.isEmpty == false)
        #expect(email.str("message")!.contains("Best regards"))
        let call = t.first { $0.str("channel") == "call" }!
        #expect(call.str("call_script") == call.str("message"))
        #expect(call.str("message")!.hasPrefix("Call "))
    }

    @Test func templatesAreReplaceablePerChannelAndPerStep() {
        let c = config([
            "max_touchpoints": 3,
            "sender": ["name": "Alex", "company": "Pipely"],
            "templates": [
                "email": ["subject": "Hello from {{sender_company}}", "body": "Dear {{first_name}}, step {{step}}. {{signature}}"],
                "steps": ["2": ["email": ["subject": "Second note for {{company}}"]]],
            ],
        ])
        let t = touches(c, lead: flatLead(phone: nil))
        #expect(t[0].str("subject") == "Hello from Pipely")
        #expect(t[0].str("message") == "Dear Sarah, step 1. Best regards,\nAlex")
        #expect(t[1].str("subject") == "Second note for Acme Corp")
        #expect(t[1].str("message") == "Dear Sarah, step 2. Best regards,\nAlex")
        #expect(t[2].str("subject") == "Hello from Pipely")
    }

    @Test func aUserTemplateThatRendersUncleanFallsBackToTheBuiltIn() {
        let c = config(["max_touchpoints": 1, "templates": ["email": ["body": "Hi {{first_name}}, [insert pitch here]"]]])
        let t = touches(c, lead: flatLead())
        #expect(t[0].str("message")!.hasPrefix("Hi Sarah,\n\nI'd like"))
        #expect(t[0].fields["template_fallback"] == true)
    }

    @Test func fastTemplatesRenderExactlyLikeSwiftMustache() throws {
        var rng = SplitMix64(seed: 42)
        let sources = [TemplateSet.defaultEmail.body, TemplateSet.defaultEmail.subject, TemplateSet.defaultSMS,
                       TemplateSet.defaultCall, TemplateSet.defaultLinkedIn] + TemplateSet.defaultColleagueReferences
            + ["{{^title}}no title{{/title}}{{#title}}T={{title}}{{/title}} {{#reference}}R{{/reference}}{{^reference}}-{{/reference}}"]
        let words = ["Acme & Co <b>", "Zoë", "O'Brien", "data \"pipelines\"", "x", "Ünïcødé ✓"]
        for src in sources {
            let fast = try TemplateSet.compile(src, key: "t")
            let slow = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + src)
            for _ in 0..<50 {
                var values = [String](repeating: "", count: FastTemplate.slotCount)
                var dict: [String: String] = [:]
                for (i, name) in FastTemplate.variables.enumerated() {
                    let optional = i >= FastTemplate.titleSlot
                    if optional && rng.next() % 2 == 0 { continue }
                    let v = words[Int(rng.next() % UInt64(words.count))]
                    values[i] = v
                    dict[name] = v
                }
                #expect(fast.render(values) == slow.render(dict))
            }
        }
    }
}
