import AbmWire
import Foundation
import Testing
@testable import CampaignCore

/// `2026-03-06T15:00:00Z` → Date.
func at(_ iso: String) -> Date {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    guard let d = f.date(from: iso) else { fatalError("bad test date \(iso)") }
    return d
}

/// Local wall-clock reading of an instant in a zone: (weekday 1=Sun…7=Sat, hour, minute, yyyy-MM-dd).
func local(_ d: Date, _ tz: String) -> (weekday: Int, hour: Int, minute: Int, day: String) {
    var cal = Calendar(identifier: .gregorian)
    cal.timeZone = TimeZone(identifier: tz)!
    let c = cal.dateComponents([.weekday, .hour, .minute, .year, .month, .day], from: d)
    return (c.weekday!, c.hour!, c.minute!, String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!))
}

/// Drives one account through the engine like the runtime does: keeps the state, the single pending timer,
/// the global suppression list and every event.
struct Harness {
    var engine: CampaignEngine
    /// Decides with these playbooks instead of `engine` when set.
    var books: Playbooks?
    var state: AccountState
    var timer: Date?
    var suppressed: Set<String> = []
    var events: [DomainEvent] = []
    var lastOutcome: Outcome?

    init(account: String = "acme", config: CampaignConfig = .default) {
        engine = CampaignEngine(config: config)
        state = AccountState(accountId: account)
    }

    var context: EngineContext {
        let s = suppressed
        return EngineContext(isSuppressed: { s.contains($0) })
    }

    /// Applies an input at `now`; on success applies every effect.
    @discardableResult
    mutating func send(_ input: CampaignInput, now: Date) -> Result<Transition, AbmError> {
        let r = books?.handle(state, input, now: now, context: context) ?? engine.handle(state, input, now: now, context: context)
        if case .success(let t) = r {
            state = t.state
            lastOutcome = t.outcome
            for e in t.effects {
                switch e {
                case .emit(let ev): events.append(ev)
                case .schedule(let d): timer = d
                case .cancelTimer: timer = nil
                case .suppress(let email): suppressed.insert(email)
                }
            }
        }
        return r
    }

    mutating func lead(_ json: JSONValue, now: Date) -> Result<Transition, AbmError> {
        send(.lead(json), now: now)
    }

    /// Fires the pending timer while it is due no later than `until`.
    mutating func run(until: Date) {
        var guardCount = 0
        while let t = timer, t <= until, guardCount < 10_000 {
            timer = nil
            send(.timerFired(dueAt: t), now: t)
            guardCount += 1
        }
    }

    var touches: [DomainEvent] { events.filter { $0.type == .touchpointDue } }
    func touches(to email: String) -> [DomainEvent] { touches.filter { $0.str("contact_email") == email } }
    func types() -> [String] { events.map(\.type.rawValue) }
}

extension DomainEvent {
    func str(_ key: String) -> String? { fields[key]?.stringValue }
    func int(_ key: String) -> Int? {
        if case .int(let i)? = fields[key] { return Int(i) }
        return nil
    }
}

/// A lead in the prototype's flat shape.
func flatLead(account: String = "acme", email: String = "sarah.chen@acme.com", name: String? = "Dr. Sarah Chen",
              title: String? = "CTO", phone: String? = "+1 (415) 555-0100", timezone: String? = "America/New_York",
              colleagues: [JSONValue] = [], topic: String? = "data pipelines", company: String? = "Acme Corp",
              extra: [String: JSONValue] = [:]) -> JSONValue {
    var o: [String: JSONValue] = ["account_id": .string(account), "email": .string(email)]
    if let name { o["name"] = .string(name) }
    if let title { o["title"] = .string(title) }
    if let phone { o["phone"] = .string(phone) }
    if let timezone { o["timezone"] = .string(timezone) }
    if let topic { o["topic"] = .string(topic) }
    if let company { o["metadata"] = ["company_name": .string(company)] }
    if !colleagues.isEmpty { o["account_contacts"] = .array(colleagues) }
    for (k, v) in extra { o[k] = v }
    return .object(o)
}

func colleague(_ email: String, name: String? = nil, title: String? = nil, phone: String? = nil,
               timezone: String? = "America/New_York", id: String? = nil) -> JSONValue {
    var o: [String: JSONValue] = ["email": .string(email)]
    if let name { o["name"] = .string(name) }
    if let title { o["title"] = .string(title) }
    if let phone { o["phone"] = .string(phone) }
    if let timezone { o["timezone"] = .string(timezone) }
    if let id { o["id"] = .string(id) }
    return .object(o)
}

func config(_ json: JSONValue) -> CampaignConfig {
    do { return try CampaignConfig(merging: json) } catch { fatalError("bad test config: \(error)") }
}

/// Every day, all day: no window shifts (isolates interval arithmetic).
let alwaysOpen: JSONValue = ["days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"]

func configError(_ json: JSONValue) -> AbmError? {
    do {
        _ = try CampaignConfig(merging: json)
        return nil
    } catch {
        return error
    }
}
