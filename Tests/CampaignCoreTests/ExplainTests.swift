import AbmWire
import Foundation
import Testing
@testable import CampaignCore

/// `CampaignExplainer`: each decision with its rule and values (docs/campaign-behaviour.md, "Explain").
@Suite struct ExplainTests {
    func bodies(_ h: Harness) -> [JSONValue] {
        h.events.enumerated().map { k, e in
            var o = (try? JSONParser.parse(EventBody.encode(e)))?.objectValue ?? [:]
            o["seq"] = .int(Int64(k + 1))
            return .object(o)
        }
    }

    @Test func everyDecisionInOrderWithItsRuleAndValues() throws {
        var h = Harness(config: config(["holidays": ["2026-03-23"]]))
        _ = h.lead(flatLead(colleagues: [colleague("bob@acme.com", name: "Bob Bee", title: "CEO")]), now: at("2026-03-02T14:00:00Z"))
        h.run(until: at("2026-03-05T00:00:00Z"))
        _ = h.send(.response(ResponseInput(accountId: "acme", contactEmail: "sarah.chen@acme.com", kind: .outOfOffice,
                                           returnDate: "2026-03-20")), now: at("2026-03-05T12:00:00Z"))
        h.run(until: at("2026-03-21T00:00:00Z"))
        _ = h.send(.command(.pause(reason: "legal review")), now: at("2026-03-21T12:00:00Z"))
        let now = at("2026-03-21T12:00:00Z").timeIntervalSince1970
        let status = StatusView.render(h.state, config: h.engine.config, now: now)
        let e = CampaignExplainer(config: h.engine.config).explain(events: bodies(h), status: status)
        let decisions = try #require(e["decisions"]?.arrayValue)
        #expect(decisions.map { $0["decision"]?.stringValue ?? "?" }.filter { $0 != "sent" }
                == ["started", "delayed", "paused"])
        let sent = decisions.filter { $0["decision"] == "sent" }
        #expect(sent.first?["rule"] == "focus_step" && sent.first?["values"]?["delay"] == nil)
        #expect(sent[1]["values"]?["delay"] == "interval")
        #expect(sent[1]["values"]?["delay_values"]?["days"] == 2)
        let ooo = try #require(decisions.first { $0["decision"] == "delayed" })
        #expect(ooo["rule"] == "out_of_office" && ooo["values"]?["until"] != nil)
        let afterOOO = try #require(sent.last)
        #expect(afterOOO["values"]?["delay"] == "out_of_office")
        #expect(afterOOO["text"]?.stringValue?.contains("an out-of-office until 2026-03-20") == true)
        #expect(decisions.last?["rule"] == "legal review")
        // Paused: nothing planned.
        #expect(e["next"] == .null)
        _ = h.send(.command(.resume), now: at("2026-03-21T12:00:00Z"))
        let resumed = CampaignExplainer(config: h.engine.config).explain(
            events: bodies(h), status: StatusView.render(h.state, config: h.engine.config, now: now))
        let next = try #require(resumed["next"])
        #expect(next["decision"] == "planned" && next["values"]?["delay"] != nil)
    }
}
