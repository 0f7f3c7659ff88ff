import AbmWire
import AbmClientKit
import CampaignCore
import Foundation
import Testing

@Suite struct DemoDataTests {
    let now = Date(timeIntervalSince1970: 1_772_438_400)  // 2026-03-02T08:00:00Z

    @Test func everyDemoLeadIsAcceptedByTheEngineWithoutWarnings() throws {
        let engine = CampaignEngine()
        for lead in DemoData.leads {
            let request = try Requests.lead(fromUser: lead)
            let account = try #require(lead["account_id"]?.stringValue)
            let result = engine.handle(AccountState(accountId: account), .lead(try #require(request["lead"])), now: now)
            let transition = try result.get()
            #expect(transition.outcome.warnings == [], "\(account)")
            #expect(transition.outcome.campaignId != nil)
        }
    }

    @Test func demoCoversTheBrief() {
        let leads = DemoData.leads
        #expect((5...6).contains(leads.count))
        let all = leads.flatMap { [$0] + ($0["account_contacts"]?.arrayValue ?? []) }
        let zones = Set(all.compactMap { $0["timezone"]?.stringValue })
        #expect(zones.isSuperset(of: ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles"]))
        let titles = all.compactMap { $0["title"]?.stringValue }.joined(separator: " ")
        for t in ["CEO", "CTO", "Director", "VP", "Manager"] { #expect(titles.contains(t), "\(t)") }
        #expect(leads.contains { $0["phone"] == nil })
        #expect(leads.allSatisfy { !($0["account_contacts"]?.arrayValue ?? []).isEmpty })
    }

    @Test func scriptedResponsesComeFromColleaguesOfDemoAccounts() throws {
        let engine = CampaignEngine()
        for scripted in DemoData.responses {
            let request = try Requests.response(fromUser: scripted.response)
            let account = try #require(request["account_id"]?.stringValue)
            let lead = try #require(DemoData.leads.first { $0["account_id"]?.stringValue == account })
            let colleagues = (lead["account_contacts"]?.arrayValue ?? []).compactMap { $0["email"]?.stringValue }
            #expect(colleagues.contains(try #require(request["contact_email"]?.stringValue)))
            // The engine takes it on a started campaign.
            let started = try engine.handle(AccountState(accountId: account), .lead(lead), now: now).get()
            let input = ResponseInput(accountId: account, contactEmail: request["contact_email"]?.stringValue,
                                      kind: try #require(ResponseKind(rawValue: request["kind"]?.stringValue ?? "")), channel: request["channel"]?.stringValue,
                                      text: request["text"]?.stringValue)
            let later = now.addingTimeInterval(Double(scripted.afterDays) * 86_400)
            _ = try engine.handle(started.state, .response(input), now: later).get()
        }
        #expect(DemoData.responses.map { $0.response["kind"] } == ["reply", "unsubscribe"])
    }
}
