import AbmWire
import CampaignCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

// Measures engine decisions on one core (release build: swift run -c release EngineBench [accounts]).
// Phase 1: one lead per account (primary + 2 colleagues, mixed time zones): parse, validate, start the campaign,
//          emit the first touchpoint (rendered).
// Phase 2: every account's timers fired in due order until each campaign completes (6 more touchpoints each,
//          with the default configuration): choose contact and channel, compute the next due time in the
//          contact's zone and window, render the message.
// Reported: wall time and this thread's CPU time (the machine is shared; CPU time is the fairer figure).

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

/// CPU time of this thread (robust when other processes share the cores).
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func wallSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

struct Tally {
    var touches = 0, decisions = 0, bytes = 0
    /// A sample of events (every 8th decision's) for the body-encoding phase.
    var sample: [DomainEvent] = []
    mutating func apply(_ t: Transition, timer: inout Date?) {
        decisions += 1
        for e in t.effects {
            if decisions % 8 == 0, case .emit(let ev) = e { sample.append(ev) }
            switch e {
            case .emit(let ev) where ev.type == .touchpointDue:
                touches += 1
                bytes += ev.touchpoint?.message.utf8.count ?? 0
            case .schedule(let d): timer = d
            case .cancelTimer: timer = nil
            default: break
            }
        }
    }
}

func run() {
    let leads = (0..<accounts).map(lead)
    var states = [AccountState](repeating: AccountState(accountId: ""), count: accounts)
    var timers = [Date?](repeating: nil, count: accounts)

    var leadTally = Tally()
    var w0 = wallSeconds(), c0 = threadCPUSeconds()
    for i in 0..<accounts {
        guard case .success(let t) = engine.handle(AccountState(accountId: "acct-\(i)"), .lead(leads[i]), now: start0) else {
            fatalError("lead rejected")
        }
        states[i] = t.state
        leadTally.apply(t, timer: &timers[i])
    }
    let leadWall = wallSeconds() - w0, leadCPU = threadCPUSeconds() - c0

    var timerTally = Tally()
    w0 = wallSeconds()
    c0 = threadCPUSeconds()
    var pending = true
    while pending {
        pending = false
        for i in 0..<accounts {
            guard let due = timers[i] else { continue }
            pending = true
            timers[i] = nil
            guard case .success(let t) = engine.handle(states[i], .timerFired(dueAt: due), now: due) else { fatalError() }
            states[i] = t.state
            timerTally.apply(t, timer: &timers[i])
        }
    }
    let timerWall = wallSeconds() - w0, timerCPU = threadCPUSeconds() - c0

    print(String(format: "  leads:  %d leads (%d first touchpoints) in %.3f s CPU (%.3f s wall) = %.0f leads/s CPU",
                 leadTally.decisions, leadTally.touches, leadCPU, leadWall, Double(leadTally.decisions) / leadCPU))
    print(String(format: "  timers: %d touchpoints (%d decisions) in %.3f s CPU (%.3f s wall) = %.0f touchpoints/s CPU (%.0f wall), avg message %d B",
                 timerTally.touches, timerTally.decisions, timerCPU, timerWall, Double(timerTally.touches) / timerCPU,
                 Double(timerTally.touches) / timerWall, timerTally.bytes / max(timerTally.touches, 1)))
    // The runtime encodes every event into its stored/published body (EventBody.encode).
    let events = leadTally.sample + timerTally.sample
    var encodedBytes = 0
    w0 = wallSeconds()
    c0 = threadCPUSeconds()
    for e in events { encodedBytes &+= EventBody.encode(e).count }
    let encCPU = threadCPUSeconds() - c0
    print(String(format: "  bodies: %d event bodies (%d B avg) encoded in %.3f s CPU = %.0f bodies/s CPU",
                 events.count, encodedBytes / max(events.count, 1), encCPU, Double(events.count) / encCPU))
    let all = leadTally.touches + timerTally.touches
    print(String(format: "  overall: %d touchpoints in %.3f s CPU = %.0f touchpoints/s including lead handling",
                 all, leadCPU + timerCPU, Double(all) / (leadCPU + timerCPU)))
}

print("EngineBench: \(accounts) accounts, default configuration, 3 contacts each, one core")
for round in 0...3 {
    print(round == 0 ? "warm-up:" : "run \(round):")
    run()
}
