import AbmWire
import Foundation
import Testing
@testable import CampaignCore

@Suite struct ConfigTests {
    @Test func defaultsMatchSpec() {
        let c = CampaignConfig.default
        #expect(c.maxTouchpoints == 7)
        #expect(c.intervalsDays == [2, 3, 5, 7, 10, 14])
        #expect(c.channelEscalation == [.email, .sms, .call])
        #expect(c.attemptsPerChannel == 2)
        #expect(c.primaryFocusSteps == 3)
        #expect(c.maxConcurrentContacts == 3)
        #expect(c.colleagueDelayDays == 3)
        #expect(c.responseTimeoutHours == 48)
        #expect(c.conflictCheckEnabled && c.autoPauseOnResponse)
        #expect(c.sendWindow == .default)
        #expect(c.defaultTimezone == "UTC")
        #expect(c.holidays == .none)
        #expect(c.titleScores.score("CEO") == 100)
    }

    /// Prototype defect §8.1: a partial configuration replaced the defaults and broke every step.
    @Test func partialConfigurationIsMergedOverDefaults() {
        let c = config(["max_touchpoints": 10, "conflict_check_enabled": false])
        #expect(c.maxTouchpoints == 10)
        #expect(!c.conflictCheckEnabled)
        #expect(c.intervalsDays == [2, 3, 5, 7, 10, 14])
        #expect(c.autoPauseOnResponse)
        // And it runs: 10 touches, nothing crashes.
        var h = Harness(config: c)
        _ = h.lead(flatLead(), now: at("2026-03-05T15:00:00Z"))
        h.run(until: at("2027-01-01T00:00:00Z"))
        #expect(h.touches.count == 10)
        #expect(h.state.campaign?.status == .completed)
    }

    @Test func emptyAndNullGiveDefaults() throws {
        #expect(try CampaignConfig(merging: [:]) == .default)
        #expect(try CampaignConfig(merging: .null) == .default)
    }

    static func bad(_ json: JSONValue, _ key: String) -> (JSONValue, String) { (json, key) }
    static let invalidCases: [(JSONValue, String)] = [
        bad(["max_touchpoints": 0], "max_touchpoints"),
        bad(["max_touchpoints": "7"], "max_touchpoints"),
        bad(["touchpoint_intervals_days": []], "touchpoint_intervals_days"),
        bad(["touchpoint_intervals_days": [2, -1]], "touchpoint_intervals_days[1]"),
        bad(["channel_escalation": ["email", "fax"]], "channel_escalation[1]"),
        bad(["channel_escalation": ["email", "email"]], "channel_escalation[1]"),
        bad(["attempts_per_channel": 0], "attempts_per_channel"),
        bad(["primary_focus_steps": -1], "primary_focus_steps"),
        bad(["max_concurrent_contacts": 0], "max_concurrent_contacts"),
        bad(["colleague_message_delay_days": -2], "colleague_message_delay_days"),
        bad(["response_timeout_hours": "x"], "response_timeout_hours"),
        bad(["conflict_check_enabled": 1], "conflict_check_enabled"),
        bad(["auto_pause_on_response": "yes"], "auto_pause_on_response"),
        bad(["send_window": ["start": "17:00", "end": "09:00"]], "send_window.start"),
        bad(["send_window": ["days": ["funday"]]], "send_window.days[0]"),
        bad(["send_window": ["start": "9am"]], "send_window.start"),
        bad(["default_timezone": "Mars/Olympus"], "default_timezone"),
        bad(["holidays": ["2026-02-30"]], "holidays[0]"),
        bad(["holidays": ["by_country": ["Germany": ["2026-10-03"]]]], "holidays.by_country.Germany"),
        bad(["title_scores": ["ceo": "high"]], "title_scores.ceo"),
        bad(["templates": ["sms": "Hi {{nickname}}"]], "templates.sms"),
        bad(["templates": ["email": ["body": "Hi {{first_name}} ({{title}})"]]], "templates.email.body"),
        bad(["templates": ["call": "{{> partial}}"]], "templates.call"),
        bad(["templates": ["colleague_references": []]], "templates.colleague_references"),
        bad(["templates": ["steps": ["0": ["sms": "x"]]]], "templates.steps.0"),
        bad(["sender": ["name": "[Your name]"]], "sender.name"),
        bad(["maximum_touchpoints": 3], "maximum_touchpoints"),
    ]

    @Test(arguments: invalidCases)
    func invalidValueNamesTheKey(json: JSONValue, key: String) {
        let e = configError(json)
        #expect(e?.code == "invalid_config")
        #expect(e?.field == key)
        #expect(e?.message.contains(key) == true)
    }

    /// Found by the template fuzzer (Fuzz/findings/template-private-use-sentinel): FastTemplate marks value
    /// slots with U+E000…U+E001, so the same characters in a template's own text were read as a slot and
    /// rendered a value where the author wrote literal text.
    @Test func aTemplateWithTheSlotSentinelsIsRefused() {
        for text in ["Hi \u{E000}3\u{E001} from {{company}}", "Hi {{first_name}} \u{E000}", "x \u{E001}"] {
            let e = configError(["templates": ["sms": .string(text)]])
            #expect(e?.code == "invalid_config")
            #expect(e?.field == "templates.sms")
        }
        #expect(throws: AbmError.self) { try TemplateSet.compile("Hi {{first_name}} \u{E000}3\u{E001}", key: "t") }
    }

    @Test func windowHolidaysAndZoneShapesAreAccepted() {
        let c = config([
            "send_window": ["days": ["mon", "wed"], "start": "08:30", "end": "12:00"],
            "holidays": ["global": ["2026-12-25"], "by_country": ["de": ["2026-10-03"]]],
            "default_timezone": "Europe/Berlin",
            "title_scores": ["chief * officer": 99, "engineer": 10],
            "touchpoint_intervals": [1, 2],
        ])
        #expect(c.sendWindow.days == [true, false, true, false, false, false, false])
        #expect(c.sendWindow.startMinute == 510 && c.sendWindow.endMinute == 720)
        #expect(c.holidays.global.count == 1)
        #expect(c.holidays.byCountry["DE"]?.count == 1)
        #expect(c.defaultTimezone == "Europe/Berlin")
        #expect(c.titleScores.score("Chief Revenue Officer") == 99)
        #expect(c.titleScores.score("CEO") == 0) // the table is replaced, not merged
        #expect(c.intervalsDays == [1, 2])
    }
}

@Suite struct ConfigEffectTests {
    @Test func defaultTimezoneAppliesToContactsWithoutOne() {
        var h = Harness(config: config(["default_timezone": "Asia/Tokyo"]))
        // 15:00Z Thursday = Friday 00:00 in Tokyo: closed until 09:00 Tokyo.
        _ = h.lead(flatLead(timezone: nil), now: at("2026-03-05T15:00:00Z"))
        #expect(h.touches.isEmpty)
        let l = local(h.timer!, "Asia/Tokyo")
        #expect(l.day == "2026-03-06" && l.hour == 9)
    }

    @Test func titleScoresTableDecidesColleagueOrder() throws {
        var h = Harness(config: config(["title_scores": ["engineer": 100, "ceo": 1]]))
        _ = try h.lead(flatLead(colleagues: [colleague("ceo@acme.com", title: "CEO"), colleague("eng@acme.com", title: "Engineer")]),
                       now: at("2026-03-05T15:00:00Z")).get()
        #expect(h.state.campaign!.contacts.map(\.email) == ["sarah.chen@acme.com", "eng@acme.com", "ceo@acme.com"])
    }

    @Test func primaryFocusStepsCount() {
        for focus in [0, 2, 5] {
            var h = Harness(config: config(["primary_focus_steps": .int(Int64(focus)), "colleague_message_delay_days": 0]))
            _ = h.lead(flatLead(colleagues: [colleague("a@acme.com", title: "CEO")]), now: at("2026-03-05T15:00:00Z"))
            h.run(until: at("2027-01-01T00:00:00Z"))
            let firstColleague = h.touches.firstIndex { $0.str("contact_email") == "a@acme.com" }!
            #expect(firstColleague == max(focus, 1))
        }
    }
}
