import AbmWire
import Foundation
import Testing
@testable import CampaignCore

@Suite struct EngineSmokeTests {
    @Test func leadStartsCampaignAndEmitsFirstTouchInWindow() throws {
        var h = Harness()
        // Thursday 2026-03-05 15:00 UTC = 10:00 in New York.
        let r = h.lead(flatLead(), now: at("2026-03-05T15:00:00Z"))
        let t = try r.get()
        #expect(t.outcome.campaignId == "acme-c1")
        #expect(h.types() == ["campaign.started", "touchpoint.due"])
        let touch = h.touches[0]
        #expect(touch.str("touchpoint_id") == "acme-c1:1")
        #expect(touch.str("channel") == "email")
        #expect(touch.str("message")?.contains("Hi Sarah,") == true)
        #expect(touch.at == at("2026-03-05T15:00:00Z"))
        #expect(h.timer != nil)
        let status = try #require(h.engine.status(h.state, now: at("2026-03-05T15:00:00Z")))
        #expect(status["status"] == "active")
        #expect(status["steps"] == 1)
    }

    @Test func fullDefaultCampaignRunsSevenTouches() {
        var h = Harness()
        _ = h.lead(flatLead(), now: at("2026-03-05T15:00:00Z"))
        h.run(until: at("2026-06-01T00:00:00Z"))
        #expect(h.touches.count == 7)
        #expect(h.touches.map { $0.str("channel")! } == ["email", "email", "sms", "sms", "call", "call", "email"])
        #expect(h.state.campaign?.status == .completed)
        #expect(h.state.campaign?.reason == "max_touchpoints")
        #expect(h.timer == nil)
    }
}
