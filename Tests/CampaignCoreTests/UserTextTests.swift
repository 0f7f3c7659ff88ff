import AbmWire
import Foundation
import Testing
@testable import CampaignCore

/// Issue #8, fault 2: the clean check refuses unfilled placeholders, not legitimate text; input that cannot be
/// used is refused at the ack with the field named.
@Suite struct UserTextTests {
    let t0 = at("2026-03-05T15:00:00Z")

    private func refusal(_ lead: JSONValue) -> AbmError? {
        var h = Harness()
        let before = h.state
        guard case .failure(let e) = h.lead(lead, now: t0) else { return nil }
        #expect(h.state == before && h.events.isEmpty)
        return e
    }

    @Test func realWordsInValuesDoNotBlockTheCampaign() {
        var h = Harness()
        _ = h.lead(flatLead(name: "Nancy Null", title: "Head of None-Such Undefined Behaviour",
                            colleagues: [colleague("a@nanlabs.com", name: "Nuno Nan", title: "VP Engineering", phone: "+14155550101")],
                            topic: "null safety in Kotlin", company: "NaN Labs"), now: t0)
        h.run(until: at("2027-01-01T00:00:00Z"))
        #expect(!h.events.contains { $0.str("conflict") == "message_not_clean" })
        #expect(h.touches.count == 7)
        let first = h.touches.first?.str("message") ?? ""
        #expect(first.contains("NaN Labs") && first.contains("null safety in Kotlin"))
    }

    @Test func bracketsInValuesAreKeptVerbatim() {
        var h = Harness()
        _ = h.lead(flatLead(name: "Sarah (Sally) Chen", title: "CTO [interim]", topic: "C++ (and Rust) <migration>",
                            company: "Acme {EU}"), now: t0)
        let m = h.touches.first?.str("message") ?? ""
        #expect(m.contains("C++ (and Rust) <migration>"))
        #expect(m.contains("Acme {EU}"))
        #expect(h.state.campaign?.contacts[0].name == "Sarah (Sally) Chen")
        #expect(h.state.campaign?.topic == "C++ (and Rust) <migration>")
    }

    @Test(arguments: [
        ("name", JSONValue.string("null"), "lead.name"),
        ("name", "None", "lead.name"),
        ("title", "undefined", "lead.title"),
        ("topic", "NaN", "lead.topic"),
        ("topic", "{{topic}}", "lead.topic"),
        ("topic", "learn about {{ topic }}", "lead.topic"),
        ("name", "[First Name]", "lead.name"),
        ("title", "()", "lead.title"),
    ])
    func placeholderValuesAreRefusedAtTheLead(key: String, value: JSONValue, field: String) {
        var lead = flatLead()
        if case .object(var o) = lead {
            o[key] = value
            lead = .object(o)
        }
        let e = refusal(lead)
        #expect(e?.code == ErrorCode.invalidField)
        #expect(e?.field == field)
    }

    @Test func placeholderCompanyAndColleagueValuesNameTheirField() {
        #expect(refusal(flatLead(company: "null"))?.field == "lead.metadata.company_name")
        let e = refusal(flatLead(colleagues: [colleague("a@acme.com", name: "Ann"), colleague("b@acme.com", name: "undefined")]))
        #expect(e?.field == "lead.account_contacts[1].name")
    }

    @Test(arguments: ["Sarah \u{202E}nehC", "Sarah\u{2066}Chen\u{2069}", "Sarah\u{200F}", "Sa\u{0007}rah", "Sarah\u{0000}",
                      "Sarah\u{FEFF}Chen", "Sarah\u{009B}Chen"])
    func bidiAndControlCharactersAreRefusedNamingTheField(name: String) {
        let e = refusal(flatLead(name: name))
        #expect(e?.code == ErrorCode.invalidField)
        #expect(e?.field == "lead.name")
        #expect(refusal(flatLead(topic: "data\u{202D} pipelines"))?.field == "lead.topic")
        #expect(refusal(flatLead(colleagues: [colleague("a@acme.com", name: name)]))?.field == "lead.account_contacts[0].name")
    }

    @Test func ordinaryUnicodeAndWhitespaceAreAccepted() {
        var h = Harness()
        // Line breaks and tabs collapse to one space; joiners inside scripts and emoji are kept.
        let r = h.lead(flatLead(name: "Zoë\tO'Brien\n", title: "Directora de Datos", topic: "نظام\u{200C}ها 👩\u{200D}💻"), now: t0)
        #expect((try? r.get()) != nil)
        #expect(h.state.campaign?.contacts[0].name == "Zoë O'Brien")
        // "n/a" and "-" mean "no value": the field is left empty (the greeting says "there").
        var g = Harness()
        _ = g.lead(flatLead(name: "n/a", title: "-"), now: t0)
        #expect(g.state.campaign?.contacts[0].name == "Unknown")
        #expect(g.state.campaign?.contacts[0].title == nil)
        #expect(g.touches.first?.str("message")?.hasPrefix("Hi there,") == true)
    }
}
