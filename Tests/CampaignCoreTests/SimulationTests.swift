import AbmTestSupport
import AbmWire
import Foundation
import Testing
@testable import CampaignCore

/// Randomized simulation: thousands of accounts with random contacts, configurations, responses and commands over
/// 90 virtual days, driven like the runtime drives the engine (one timer per account, global suppression list).
/// Invariants are checked against the driver's own record of what it sent, with Foundation's Calendar as an
/// independent clock for the send window.
@Suite struct SimulationTests {
    static let zones = ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles", "UTC",
                        "Australia/Sydney", "Asia/Kolkata", "America/Sao_Paulo"]
    static let titles: [String?] = ["CEO", "CTO", "VP Sales", "Director", "Manager", "Team Lead", "Engineer", nil]
    static let kinds = ResponseKind.allCases

    static let configs: [CampaignConfig] = [
        .default,
        config(["auto_pause_on_response": false, "max_concurrent_contacts": 2, "attempts_per_channel": 1]),
        config(["max_touchpoints": 12, "touchpoint_intervals_days": [1, 1, 2], "response_timeout_hours": 30,
                "primary_focus_steps": 1, "colleague_message_delay_days": 1,
                "send_window": ["days": ["mon", "tue", "wed", "thu", "fri", "sat"], "start": "08:00", "end": "20:00"],
                "holidays": ["global": ["2026-03-20"], "by_country": ["DE": ["2026-04-03", "2026-04-06"], "US": ["2026-05-25"]]]]),
        config(["max_touchpoints": 20, "touchpoint_intervals_days": [0, 1], "response_timeout_hours": 20,
                "channel_escalation": ["linkedin", "email", "call"], "auto_pause_on_response": false,
                "conflict_check_enabled": false, "send_window": ["days": ["tue", "thu"], "start": "13:00", "end": "15:30"]]),
    ]

    struct Scheduled {
        var at: Date
        var input: CampaignInput
        var order: Int
    }

    /// Simulates `count` accounts; returns every event of every account (for the determinism check) and records
    /// invariant violations as issues.
    static func simulate(seed: UInt64, count: Int) -> [DomainEvent] {
        var rng = SplitMix64(seed: seed)
        var suppressed: [String: Date] = [:]   // driver's view: email → when it was unsubscribed
        var all: [DomainEvent] = []
        let start = at("2026-03-02T00:00:00Z")
        let end = start.addingTimeInterval(90 * 86_400)
        for a in 0..<count {
            let cfgIndex = Int(rng.next() % UInt64(configs.count))
            let cfg = configs[cfgIndex]
            let engine = CampaignEngine(config: cfg)
            let account = "acct-\(a)"
            // Contacts: shared addresses across accounts now and then, so global suppression matters.
            let n = 1 + Int(rng.next() % 5)
            var people: [JSONValue] = []
            var emails: [String] = []
            for k in 0..<n {
                let email = rng.next() % 10 == 0 ? "shared\(rng.next() % 20)@example.com" : "p\(k)@\(account).com"
                emails.append(email)
                var o: [String: JSONValue] = ["email": .string(email), "name": .string("Dr. Person \(k)")]
                if let t = titles[Int(rng.next() % UInt64(titles.count))] { o["title"] = .string(t) }
                if rng.next() % 3 != 0 { o["phone"] = .string("+1415555\(1000 + k)") }
                if rng.next() % 4 != 0 { o["timezone"] = .string(zones[Int(rng.next() % UInt64(zones.count))]) }
                if rng.next() % 3 == 0 { o["country"] = rng.next() % 2 == 0 ? "DE" : "US" }
                if rng.next() % 2 == 0 { o["linkedin_url"] = .string("https://linkedin.com/in/\(account)-\(k)") }
                people.append(.object(o))
            }
            var lead = people[0].objectValue!
            lead["account_id"] = .string(account)
            lead["topic"] = "data pipelines"
            lead["account_contacts"] = .array(Array(people.dropFirst()))
            var inputs: [Scheduled] = []
            var order = 0
            func add(_ t: Date, _ i: CampaignInput) {
                inputs.append(Scheduled(at: t, input: i, order: order))
                order += 1
            }
            func randomTime() -> Date { start.addingTimeInterval(Double(rng.next() % (90 * 86_400))) }
            add(start.addingTimeInterval(Double(rng.next() % (10 * 86_400))), .lead(.object(lead)))
            if rng.next() % 4 == 0 {
                add(randomTime(), .lead(.object(["account_id": .string(account), "email": .string("late@\(account).com"),
                                                 "title": "CEO", "timezone": "Europe/Berlin"])))
            }
            for _ in 0..<Int(rng.next() % 4) {
                let kind = kinds[Int(rng.next() % UInt64(kinds.count))]
                let who = rng.next() % 8 == 0 ? "stranger@\(account).com" : emails[Int(rng.next() % UInt64(emails.count))]
                let rd: String? = kind == .outOfOffice && rng.next() % 2 == 0 ? "2026-04-1\(rng.next() % 10)" : nil
                add(randomTime(), .response(ResponseInput(accountId: account, contactEmail: who, kind: kind, returnDate: rd)))
            }
            for _ in 0..<Int(rng.next() % 3) {
                let c: CampaignCommand = [.pause(reason: "ops"), .resume, .resume, .cancel][Int(rng.next() % 4)]
                add(randomTime(), .command(c))
            }
            inputs.sort { ($0.at, $0.order) < ($1.at, $1.order) }

            // Drive.
            var state = AccountState(accountId: account)
            var timer: Date?
            var events: [DomainEvent] = []
            var pausedByResponse = false      // driver's view: a pausing response was acknowledged, no resume since
            var stopped: [String: Date] = [:] // per-contact: replied/bounced (never touched again)
            var next = 0
            while true {
                let external = next < inputs.count ? inputs[next] : nil
                let input: CampaignInput
                let now: Date
                if let t = timer, t <= end, external == nil || t <= external!.at {
                    input = .timerFired(dueAt: t)
                    now = t
                    timer = nil
                } else if let e = external, e.at <= end {
                    input = e.input
                    now = e.at
                    next += 1
                } else {
                    break
                }
                let snapshot = suppressed
                let ctx = EngineContext(isSuppressed: { snapshot[$0] != nil })
                let wasActive = state.campaign?.status == .active
                guard case .success(let t) = engine.handle(state, input, now: now, context: ctx) else { continue }
                state = t.state
                for e in t.effects {
                    switch e {
                    case .emit(let ev): events.append(ev)
                    case .schedule(let d):
                        #expect(d >= now, "timer scheduled in the past")
                        timer = d
                    case .cancelTimer: timer = nil
                    case .suppress(let email): if suppressed[email] == nil { suppressed[email] = now }
                    }
                }
                // Track what the driver knows.
                switch input {
                case .response(let r):
                    if [ResponseKind.reply, .meetingScheduled, .negative].contains(r.kind) {
                        if cfg.autoPauseOnResponse && wasActive { pausedByResponse = true }
                        if let e = r.contactEmail { stopped[e] = stopped[e] ?? now }
                    }
                    if r.kind == .bounce, let e = r.contactEmail { stopped[e] = stopped[e] ?? now }
                case .command(.resume): pausedByResponse = false
                case .lead:
                    if state.campaign?.status == .active { pausedByResponse = false }
                default: break
                }
                for ev in t.effects.compactMap({ if case .emit(let e) = $0 { return e } else { return nil } })
                where ev.type == .touchpointDue {
                    #expect(!pausedByResponse, "touch after a pausing response in \(account)")
                    let email = ev.str("contact_email")!
                    if let s = snapshot[email] { #expect(ev.at < s, "suppressed \(email) touched") }
                    if let s = stopped[email], ev.at >= s {
                        Issue.record("responder \(email) touched again in \(account) \(ev.campaignId ?? "")")
                    }
                }
            }
            checkInvariants(events, config: cfg, state: state, account: account)
            all += events
        }
        return all
    }

    static func checkInvariants(_ events: [DomainEvent], config cfg: CampaignConfig, state: AccountState, account: String) {
        let touches = events.filter { $0.type == .touchpointDue }
        // Never more than max_touchpoints per campaign; ids unique.
        for (campaign, list) in Dictionary(grouping: touches, by: { $0.campaignId ?? "" }) {
            #expect(list.count <= cfg.maxTouchpoints, "\(campaign): \(list.count) touches")
        }
        let ids = touches.compactMap { $0.str("touchpoint_id") }
        #expect(Set(ids).count == ids.count)
        // Min gap per person.
        var last: [String: Date] = [:]
        for t in touches {
            let email = t.str("contact_email")!
            if let prev = last[email] {
                #expect(t.at.timeIntervalSince(prev) >= cfg.responseTimeoutHours * 3600 - 0.001, "gap \(email)")
            }
            last[email] = t.at
        }
        // Inside the window, in the contact's zone, not on a holiday (checked with Calendar).
        let contacts = state.campaign?.contacts ?? []
        for t in touches {
            guard let c = contacts.first(where: { $0.email == t.str("contact_email") }) else { continue }
            var cal = Calendar(identifier: .gregorian)
            cal.timeZone = TimeZone(identifier: c.timezone ?? cfg.defaultTimezone)!
            let comps = cal.dateComponents([.weekday, .hour, .minute, .second, .year, .month, .day], from: t.at)
            let weekdayMon0 = (comps.weekday! + 5) % 7
            let minute = comps.hour! * 60 + comps.minute!
            #expect(cfg.sendWindow.days[weekdayMon0], "\(account) touch on a closed day")
            #expect(minute >= cfg.sendWindow.startMinute && minute < cfg.sendWindow.endMinute, "\(account) outside hours")
            let day = LocalTime.dayNumber(year: comps.year!, month: comps.month!, day: comps.day!)
            #expect(!cfg.holidays.global.contains(day))
            if let country = c.country { #expect(!(cfg.holidays.byCountry[country]?.contains(day) ?? false)) }
            // Messages fail closed; SMS fits.
            #expect(MessageText.isClean(t.str("message")!))
            if t.str("channel") == "sms" { #expect(t.str("message")!.count <= 160) }
        }
        // Colleague delay: no colleague before the delay after the primary's first touch.
        if let primary = contacts.first(where: \.isPrimary), let first = primary.firstTouchAt {
            for t in touches where t.campaignId == state.campaign?.id && t.str("contact_email") != primary.email {
                #expect(t.at.timeIntervalSince(first) >= cfg.colleagueDelayDays * 86_400 - 0.001, "colleague too early")
            }
        }
        // A finished campaign never emits again.
        if let endIdx = events.firstIndex(where: { $0.type == .campaignCompleted || $0.type == .campaignCancelled }) {
            let cid = events[endIdx].campaignId
            #expect(!events[(endIdx + 1)...].contains { $0.type == .touchpointDue && $0.campaignId == cid })
        }
    }

    @Test func invariantsHoldOverThousandsOfRandomAccounts() {
        let events = SimulationTests.simulate(seed: 2026, count: 3000)
        let touches = events.filter { $0.type == .touchpointDue }.count
        #expect(touches > 10_000)
        #expect(events.contains { $0.type == .campaignPaused })
        #expect(events.contains { $0.type == .contactSuppressed })
        #expect(events.contains { $0.type == .campaignCompleted })
    }

    @Test func sameInputsGiveSameOutputs() {
        let a = SimulationTests.simulate(seed: 99, count: 300)
        let b = SimulationTests.simulate(seed: 99, count: 300)
        #expect(a == b)
        #expect(!a.isEmpty)
    }
}
