import AbmWire
import CampaignCore
import Foundation
import Testing
@testable import CampaignReport

private func event(_ seq: Int64, _ type: String, _ at: String, account: String = "acme",
                   _ extra: [String: JSONValue] = [:]) -> TimelineEvent {
    var body: [String: JSONValue] = ["seq": .int(seq), "type": .string(type), "at": .string(at),
                                     "account_id": .string(account), "campaign_id": .string("\(account)#1")]
    body.merge(extra) { _, new in new }
    return TimelineEvent(json: .object(body))!
}

private let sample: [TimelineEvent] = [
    event(1, "campaign.started", "2026-03-02T09:00:00.000Z"),
    event(2, "touchpoint.due", "2026-03-02T09:00:00.000Z",
          ["step": 1, "channel": "email", "contact_id": "c1", "contact_email": "sarah@acme.com", "subject": "Hello <b>"]),
    event(3, "touchpoint.due", "2026-03-05T14:00:00.000Z",
          ["step": 2, "channel": "sms", "contact_id": "c2", "contact_email": "bob@acme.com",
           "reference": ["contact_id": "c1", "name": "Sarah Chen"]]),
    event(4, "response.received", "2026-03-06T10:00:00Z", ["contact_id": "c2", "kind": "reply", "contact_email": "bob@acme.com"]),
    event(5, "campaign.paused", "2026-03-06T10:00:00Z", ["reason": "responded"]),
    event(6, "touchpoint.due", "2026-03-02T15:00:00.000Z", account: "globex",
          ["step": 1, "channel": "email", "contact_id": "g1", "contact_email": "ann@globex.com"]),
]

@Test func parsesEventBodies() throws {
    let e = try #require(sample.first)
    #expect(e.seq == 1 && e.type == "campaign.started" && e.accountId == "acme" && e.campaignId == "acme#1")
    #expect(e.at == Date(timeIntervalSince1970: 1_772_442_000))
    #expect(TimelineEvent(json: ["type": "x", "account_id": "a"]) == nil)
    #expect(TimelineEvent(json: ["seq": 1, "type": "x", "account_id": "a", "at": "yesterday"]) == nil)
}

@Test func textTimelineShowsTouchesReferencesAndStatusPerAccount() {
    let text = TimelineText.render(sample)
    #expect(text.contains("== acme — 2 touches, paused (responded) =="))
    #expect(text.contains("== globex — 1 touches, active =="))
    #expect(text.contains("Mon 2026-03-02 09:00 GMT  #1 email    → sarah@acme.com — \"Hello <b>\""))
    #expect(text.contains("#2 sms      → bob@acme.com (referring to Sarah Chen)"))
    #expect(text.contains("response: reply from bob@acme.com"))
    #expect(text.contains("campaign paused (responded)"))
    // globex's section comes after acme's (order of first appearance).
    #expect(text.range(of: "globex")!.lowerBound > text.range(of: "acme")!.lowerBound)
}

@Test func htmlReportDrawsOneMarkerPerTouchInTheChannelColourAndEscapesText() {
    let html = HTMLReport.render(sample, title: "Demo <report>")
    #expect(html.hasPrefix("<!DOCTYPE html>"))
    #expect(html.contains("<title>Demo &lt;report&gt;</title>"))
    #expect(html.components(separatedBy: "<circle").count - 1 == 4) // three touches and bob's reply
    #expect(html.components(separatedBy: "fill=\"none\" stroke=\"#c0392b\"").count - 1 == 1)
    #expect(html.contains("fill=\"#2f6fdf\"")) // email
    #expect(html.contains("fill=\"#2a9d4b\"")) // sms
    #expect(html.contains("&quot;Hello &lt;b&gt;&quot;"))
    #expect(!html.contains("Hello <b>"))
    #expect(html.components(separatedBy: "stroke-dasharray").count - 1 == 1) // the pause marker
    #expect(html.contains("<svg") && html.hasSuffix("</html>\n"))
}

@Test func chartCoversTheGivenPeriodAndGivesResponderOnlyContactsARow() {
    let events = [
        event(1, "touchpoint.due", "2026-03-02T09:00:00.000Z",
              ["step": 1, "channel": "email", "contact_id": "c1", "contact_email": "sarah@acme.com"]),
        event(2, "response.received", "2026-03-03T09:00:00.000Z",
              ["contact_id": "c9", "kind": "reply", "contact_email": "david@acme.com"]),
    ]
    let start = Date(timeIntervalSince1970: 1_772_442_000) // 2026-03-02T09:00Z
    let html = HTMLReport.render(events, title: "t", period: start...start.addingTimeInterval(60 * 86_400))
    // Week ticks run to the end of the period (day 56 is the last multiple of 7 within 60 days).
    #expect(html.contains(">d56<"))
    #expect(!html.contains(">d63<"))
    #expect(html.contains(">david@acme.com</text>"))
    // Without a period the chart spans the events only.
    #expect(!HTMLReport.render(events, title: "t").contains(">d7<"))
}
