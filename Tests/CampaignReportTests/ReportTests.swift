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
    // Date ticks (UTC midnights, every 7 days over a 60-day span) run to the end of the period:
    // Mar 3 is the first midnight after 09:00 on Mar 2, Apr 28 the last tick within 60 days.
    #expect(html.contains(">Mar 3</text>") && html.contains(">Mar 10</text>") && html.contains(">Apr 28</text>"))
    #expect(!html.contains(">May 5</text>"))
    #expect(html.contains(">david@acme.com</text>"))
    // Without a period the chart spans the events only: a day a tick.
    let short = HTMLReport.render(events, title: "t")
    #expect(short.contains(">Mar 3</text>") && !short.contains(">Mar 10</text>"))
}

@Test func summaryTableComesFirstAndTouchesShowTheContactsLocalTimeAndMessage() {
    var events = sample
    events[1].fields["message"] = "Hi Sarah,\n<b>bold</b> & more"
    let campaigns = ["acme": CampaignSummary(status: "paused", reason: "responded",
                                             timeZones: ["c1": "America/New_York", "c2": "Asia/Tokyo"])]
    let html = HTMLReport.render(events, title: "t", campaigns: campaigns)
    let summary = html.range(of: "<table class=\"summary\">")!
    #expect(summary.lowerBound < html.range(of: "<svg")!.lowerBound)
    // One summary row per account, linking to its section.
    #expect(html.contains("<a href=\"#account-acme\">acme</a></td><td>paused (responded)</td><td class=\"n\">2</td><td>email 1, sms 1</td>"))
    #expect(html.contains("<a href=\"#account-globex\">globex</a></td><td>active</td>"))
    // 09:00 UTC on Mon Mar 2 is 04:00 in New York (EST); 14:00 UTC on Mar 5 is 23:00 in Tokyo.
    #expect(html.contains("<td>2026-03-02 09:00</td><td><span class=\"local\">Mon 2026-03-02 04:00 EST</span> <span class=\"zone\">America/New_York</span>"))
    #expect(html.contains("<span class=\"local\">Thu 2026-03-05 23:00 GMT+9</span>"))
    #expect(html.contains("<div class=\"msg\">Hi Sarah,\n&lt;b&gt;bold&lt;/b&gt; &amp; more</div>"))
    // Without the server's word, an account's times are UTC only.
    #expect(!HTMLReport.render(events, title: "t").contains("class=\"local\""))
}

@Test func campaignSummaryReadsAStatusReply() {
    let campaign: JSONValue = ["status": "active", "reason": .null, "next_due_at": "2026-03-03T14:00:00.000Z",
                               "contacts": [["id": "c1", "email": "a@b.c", "timezone": "Europe/Berlin"], ["id": "c2"]]]
    let summary = CampaignSummary(campaign: campaign)
    #expect(summary == CampaignSummary(status: "active", nextDueAt: Date(timeIntervalSince1970: 1_772_546_400),
                                       timeZones: ["c1": "Europe/Berlin"]))
    #expect(CampaignSummary(campaign: ["contacts": []]) == nil)
}
