import AbmWire
import AbmTestSupport
import Foundation
import Testing
@testable import CampaignCore

@Suite struct ScheduleTests {
    /// Prototype defect §8.3: intervals[0] was never used and delays counted from "now". The rule (docs/campaign-behaviour.md, "Intervals"): days 0, 2, 5, 10,
    /// 17, 27, 41 with the defaults (before window shifts).
    @Test func intervalsStartWithTheFirstAndCountFromTheActualSend() {
        var h = Harness(config: config(["send_window": alwaysOpen]))
        let t0 = at("2026-01-05T10:00:00Z")
        _ = h.lead(flatLead(timezone: "UTC"), now: t0)
        h.run(until: at("2027-01-01T00:00:00Z"))
        let days = h.touches.map { Int($0.at.timeIntervalSince(t0) / 86_400) }
        #expect(days == [0, 2, 5, 10, 17, 27, 41])
    }

    @Test func maxTouchpointsIsNeverExceeded() {
        for max in [1, 2, 3, 9] {
            var h = Harness(config: config(["max_touchpoints": .int(Int64(max))]))
            _ = h.lead(flatLead(colleagues: [colleague("a@acme.com"), colleague("b@acme.com")]), now: at("2026-01-05T15:00:00Z"))
            h.run(until: at("2028-01-01T00:00:00Z"))
            #expect(h.touches.count == max)
            #expect(h.state.campaign?.status == .completed)
            #expect(h.state.campaign?.reason == "max_touchpoints")
            #expect(h.timer == nil)
            // Stale timers do nothing once completed.
            var after = h
            _ = after.send(.timerFired(dueAt: at("2028-01-02T00:00:00Z")), now: at("2028-01-02T00:00:00Z"))
            #expect(after.events.count == h.events.count)
        }
    }

    @Test func dueTimeOutsideTheWindowMovesToTheNextOpening() {
        var h = Harness()
        // Friday 2026-03-06 17:00 in New York (22:00Z) is outside ([09:00, 17:00) excludes 17:00).
        _ = h.lead(flatLead(), now: at("2026-03-06T22:00:00Z"))
        #expect(h.touches.isEmpty)
        let due = h.timer!
        let l = local(due, "America/New_York")
        #expect(l.day == "2026-03-09" && l.hour == 9 && l.minute == 0) // Monday 09:00 (after the DST change)
        h.run(until: due)
        #expect(h.touches.count == 1 && h.touches[0].at == due)
    }

    @Test func windowIsReadInTheContactsZone() {
        var h = Harness()
        // 15:00Z on a Thursday: 10:00 in New York (open) but 00:00 Friday in Tokyo (closed until 09:00).
        _ = h.lead(flatLead(timezone: "Asia/Tokyo"), now: at("2026-03-05T15:00:00Z"))
        #expect(h.touches.isEmpty)
        let l = local(h.timer!, "Asia/Tokyo")
        #expect(l.day == "2026-03-06" && l.hour == 9)
        // No time zone: the default (UTC).
        var u = Harness()
        _ = u.lead(flatLead(timezone: nil), now: at("2026-03-05T08:00:00Z"))
        #expect(u.timer == at("2026-03-05T09:00:00Z"))
    }

    @Test func holidaysGlobalAndPerCountry() {
        let c = config(["holidays": ["global": ["2026-12-24"], "by_country": ["DE": ["2026-10-05"]]]])
        var h = Harness(config: c)
        _ = h.lead(flatLead(timezone: "UTC"), now: at("2026-12-24T10:00:00Z")) // Thursday, a global holiday
        #expect(h.timer == at("2026-12-25T09:00:00Z"))
        var de = Harness(config: c)
        _ = de.lead(flatLead(timezone: "Europe/Berlin", extra: ["country": "de"]), now: at("2026-10-05T08:00:00Z"))
        let l = local(de.timer!, "Europe/Berlin")
        #expect(l.day == "2026-10-06" && l.hour == 9)
        // The same date is a normal day for a contact in another country.
        var fr = Harness(config: c)
        _ = fr.lead(flatLead(timezone: "Europe/Paris", extra: ["country": "FR"]), now: at("2026-10-05T08:00:00Z"))
        #expect(fr.touches.count == 1)
    }

    @Test func minimumGapBetweenTouchesToOnePerson() {
        var h = Harness(config: config(["touchpoint_intervals_days": [1], "response_timeout_hours": 72, "send_window": alwaysOpen]))
        let t0 = at("2026-01-05T10:00:00Z")
        _ = h.lead(flatLead(timezone: "UTC"), now: t0)
        h.run(until: at("2026-02-01T00:00:00Z"))
        let gaps = zip(h.touches.dropFirst(), h.touches).map { $0.at.timeIntervalSince($1.at) }
        #expect(gaps.allSatisfy { $0 == 72 * 3600 })
    }

    /// DST: a touch planned across the change lands at the intended local time (calendar days, wall clock kept).
    @Test(arguments: [
        ("America/New_York", "2026-03-05T15:00:00Z", "2026-03-09"),   // spring forward 2026-03-08
        ("America/New_York", "2026-10-29T14:00:00Z", "2026-11-02"),   // fall back 2026-11-01
        ("Europe/Berlin", "2026-03-26T09:00:00Z", "2026-03-30"),      // spring forward 2026-03-29
        ("Europe/Berlin", "2026-10-22T08:00:00Z", "2026-10-26"),      // fall back 2026-10-25 (Thursday → Monday)
    ])
    func dstKeepsLocalTime(zone: String, start: String, expectedDay: String) {
        // Start at 10:00 local on a Thursday; interval 4 days → Monday 10:00 local, across the change.
        var h = Harness(config: config(["touchpoint_intervals_days": [4]]))
        _ = h.lead(flatLead(timezone: zone), now: at(start))
        #expect(h.touches.count == 1)
        #expect(local(h.touches[0].at, zone).hour == 10)
        let next = h.timer!
        let l = local(next, zone)
        #expect(l.day == expectedDay)
        #expect(l.hour == 10 && l.minute == 0)
    }

    /// A window opening inside the spring-forward gap moves forward by the gap (02:30 → 03:30).
    @Test func windowOpeningInsideTheDSTGap() {
        var h = Harness(config: config(["send_window": ["days": ["sun"], "start": "02:30", "end": "05:00"]]))
        _ = h.lead(flatLead(timezone: "America/New_York"), now: at("2026-03-07T12:00:00Z"))
        let l = local(h.timer!, "America/New_York")
        #expect(l.day == "2026-03-08" && l.hour == 3 && l.minute == 30)
    }

    @Test func zoneOffsetsMatchFoundation() {
        for id in ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "UTC", "America/Sao_Paulo"] {
            let zone = TimeZoneCache.shared.zone(id)!
            let tz = TimeZone(identifier: id)!
            var rng = SplitMix64(seed: 7)
            for _ in 0..<2000 {
                let t = 946_684_800 + Double(rng.next() % 3_000_000_000)
                #expect(zone.offset(at: t) == Double(tz.secondsFromGMT(for: Date(timeIntervalSince1970: t))))
            }
        }
    }
}
