import AbmWire
import Foundation

/// `preview` (protocols/abm-wire-v1.md §7.11): the next touch as it would go out, decided on a copy of the
/// state and never stored.
extension CampaignEngine {
    /// The account's next touch: applies `lead` first when given (a lead not yet sent), then lets the
    /// planned timer fire, on a copy. The reply object: `touch` (the `touchpoint.due` fields plus `due_at`,
    /// `local_time` and `timezone`, the contact's zone) or null with `why_none`; an account without a campaign
    /// and no lead is `not_found`; `conflicts`, the events that
    /// held a touch back on the way (suppressed contacts, conflicts). A refused lead is refused as on ingress.
    public func preview(_ state: AccountState, lead: JSONValue?, now: Date, context: EngineContext) -> Result<JSONValue, AbmError> {
        var s = state
        var events: [DomainEvent] = []
        if lead == nil && s.campaign == nil {
            return .failure(AbmError(code: ErrorCode.notFound, message: "account \(state.accountId) has no campaign", field: "account_id"))
        }
        if let lead {
            switch handle(s, .lead(lead), now: now, context: context) {
            case .failure(let e): return .failure(e)
            case .success(let t):
                s = t.state
                events += t.effects.compactMap { if case .emit(let e) = $0 { e } else { nil } }
            }
        }
        // At most a few planned timers (a suppressed or blocked contact re-plans), never a loop.
        for _ in 0..<4 where !events.contains(where: { $0.type == .touchpointDue }) {
            guard let camp = s.campaign, camp.status == .active, let next = camp.next else { break }
            guard case .success(let t) = handle(s, .timerFired(dueAt: next.dueAt), now: max(now, next.dueAt), context: context) else { break }
            s = t.state
            events += t.effects.compactMap { if case .emit(let e) = $0 { e } else { nil } }
        }
        var conflicts: [JSONValue] = []
        var touch: JSONValue = .null
        for e in events {
            switch e.type {
            case .conflictDetected, .contactSuppressed:
                if touch == .null { conflicts.append(.object(e.fields.merging(["type": .string(e.type.rawValue)]) { a, _ in a })) }
            case .touchpointDue where touch == .null:
                var o = e.fields
                o["due_at"] = .string(ISOTime.format(e.at.timeIntervalSince1970))
                let contact = s.campaign?.contacts.first { $0.id == e.str("contact_id") }
                let zone = zone(named: contact?.timezone)
                o["timezone"] = .string(zone.identifier)
                o["local_time"] = .string(Self.localTime(e.at, zone.timeZone))
                touch = .object(o)
            default:
                break
            }
        }
        var out: [String: JSONValue] = ["touch": touch, "conflicts": .array(conflicts)]
        if touch == .null {
            let why: String
            switch s.campaign?.status {
            case nil: why = "the account has no campaign"
            case .paused?: why = "the campaign is paused"
            case .completed?: why = "the campaign is completed (\(s.campaign?.reason ?? "?"))"
            case .cancelled?: why = "the campaign is cancelled"
            case .active?: why = "nobody can be touched"
            }
            out["why_none"] = .string(why)
        }
        return .success(.object(out))
    }

    /// `2026-03-04 09:00 (Wed)` in `zone`.
    static func localTime(_ instant: Date, _ zone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: instant)
        let day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][(c.weekday ?? 1) - 1]
        func two(_ n: Int?) -> String { let v = n ?? 0; return v < 10 ? "0\(v)" : "\(v)" }
        return "\(c.year ?? 0)-\(two(c.month))-\(two(c.day)) \(two(c.hour)):\(two(c.minute)) (\(day))"
    }
}

extension DomainEvent {
    fileprivate func str(_ key: String) -> String? { fields[key]?.stringValue }
}
