import CampaignCore
import Foundation

// Measures engine decisions that emit a touchpoint with its rendered message, on one core.
// Each account: a lead (primary + 2 colleagues, mixed time zones), then every timer fired in order until the
// campaign completes (7 touchpoints with the default configuration). Run: swift run -c release EngineBench

let accounts = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 20_000
let zones = ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles", "UTC", "Australia/Sydney"]
let titles = ["CTO", "VP Engineering", "Director of IT", "Head of Data", "Engineering Manager", "Team Lead", "CEO"]
let engine = CampaignEngine()
let start0 = Date(timeIntervalSince1970: 1_772_722_800) // 2026-03-05T15:00:00Z

func lead(_ i: Int) -> JSONValue {
    let z = zones[i % zones.count]
    return .object([
        "account_id": .string("acct-\(i)"), "email": .string("p\(i)@example.com"), "name": .string("Dr. Pat Lee \(i)"),
        "title": .string(titles[i % titles.count]), "phone": "+1 415 555 0100", "timezone": .string(z),
        "topic": "data pipelines", "metadata": ["company_name": .string("Company \(i)")],
        "account_contacts": [
            ["email": .string("a\(i)@example.com"), "name": "Ann Smith", "title": .string(titles[(i + 1) % titles.count]),
             "phone": "+49 30 1234567", "timezone": .string(zones[(i + 1) % zones.count])],
            ["email": .string("b\(i)@example.com"), "name": "Bo Chan", "title": .string(titles[(i + 3) % titles.count]),
             "timezone": .string(zones[(i + 2) % zones.count])],
        ],
    ])
}

func run() -> (touches: Int, decisions: Int, seconds: Double, bytes: Int) {
    var touches = 0, decisions = 0, bytes = 0
    let leads = (0..<accounts).map(lead)
    let clock = ContinuousClock()
    let t0 = clock.now
    for i in 0..<accounts {
        var state = AccountState(accountId: "acct-\(i)")
        var timer: Date?
        guard case .success(let t) = engine.handle(state, .lead(leads[i]), now: start0) else { fatalError("lead rejected") }
        decisions += 1
        state = t.state
        for e in t.effects {
            switch e {
            case .emit(let ev) where ev.type == "touchpoint.due":
                touches += 1
                bytes += ev.fields["message"]?.stringValue?.utf8.count ?? 0
            case .schedule(let d): timer = d
            case .cancelTimer: timer = nil
            default: break
            }
        }
        while let due = timer {
            timer = nil
            guard case .success(let t) = engine.handle(state, .timerFired(dueAt: due), now: due) else { fatalError() }
            decisions += 1
            state = t.state
            for e in t.effects {
                switch e {
                case .emit(let ev) where ev.type == "touchpoint.due":
                    touches += 1
                    bytes += ev.fields["message"]?.stringValue?.utf8.count ?? 0
                case .schedule(let d): timer = d
                case .cancelTimer: timer = nil
                default: break
                }
            }
        }
    }
    let d = clock.now - t0
    let secs = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    return (touches, decisions, secs, bytes)
}

print("EngineBench: \(accounts) accounts, default config, 3 contacts each, one core")
_ = run() // warm-up (time zone cache, template compilation)
for round in 1...3 {
    let r = run()
    print(String(format: "run %d: %d touchpoints (%d decisions) in %.3f s = %.0f touchpoints/s, %.0f decisions/s, avg message %d B",
                 round, r.touches, r.decisions, r.seconds, Double(r.touches) / r.seconds, Double(r.decisions) / r.seconds,
                 r.bytes / max(r.touches, 1)))
}
