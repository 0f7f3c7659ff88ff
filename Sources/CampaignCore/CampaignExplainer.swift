import AbmWire
import Foundation

/// `explain` (protocols/abm-wire-v1.md §7.10): a campaign's decisions, in order, from its stored events, each
/// with the rule it followed and the values that rule used (from the configuration the server runs with),
/// then the planned next touch with what holds it back. Pure: the runtime hands it the events and the status.
public struct CampaignExplainer: Sendable {
    public let config: CampaignConfig

    public init(config: CampaignConfig) {
        self.config = config
    }

    /// What a decision was (`decisions[].decision`).
    public enum Decision: String, Sendable, CaseIterable {
        case started, contactAdded = "contact_added", sent, delayed, skipped, suppressed, response, paused, resumed
        case cancelled, completed, erased, planned, migrated
    }

    /// The explanation of the campaign whose events are `events` (bodies, oldest first) and whose status is
    /// `status` (the `campaign` object; nil when the account has none): `{campaign_id, decisions, next}`.
    public func explain(events: [JSONValue], status: JSONValue?) -> JSONValue {
        var decisions: [JSONValue] = []
        var awayUntil: [String: JSONValue] = [:]
        for e in events {
            guard let type = e["type"]?.stringValue.flatMap(EventType.init(rawValue:)) else { continue }
            let contact = e["contact_id"] ?? .null
            func add(_ d: Decision, _ rule: JSONValue, _ text: String, _ values: [String: JSONValue] = [:]) {
                decisions.append(["seq": e["seq"] ?? .null, "at": e["at"] ?? .null, "decision": .string(d.rawValue),
                                  "rule": rule, "contact_id": contact, "text": .string(text), "values": .object(values)])
            }
            let rule = e["reason"] ?? .null
            switch type {
            case .campaignStarted:
                let n = e["contacts"]?.arrayValue?.count ?? 0
                add(.started, "lead", "a lead started campaign \(e["campaign_id"]?.stringValue ?? "?") with \(n) contact\(n == 1 ? "" : "s")",
                    ["contacts": .int(Int64(n))])
            case .contactAdded:
                add(.contactAdded, "lead", "a later lead added contact \(contact.stringValue ?? "?")")
            case .touchpointDue:
                var values: [String: JSONValue] = ["step": e["step"] ?? .null, "channel": e["channel"] ?? .null,
                                                   "attempt": e["attempt"] ?? .null]
                var text = "step \(e["step"].map(Self.text) ?? "?") by \(e["channel"]?.stringValue ?? "?") to \(contact.stringValue ?? "?")"
                if let why = e["explanation"]?.stringValue { text += ": \(why)" }
                if let delay = e["delay"]?.stringValue.flatMap(DelayRule.init(rawValue:)) {
                    let d = delayValues(delay, step: e["step"], away: contact.stringValue.flatMap { awayUntil[$0] })
                    values["delay"] = .string(delay.rawValue)
                    values["delay_values"] = .object(d.values)
                    text += "; not earlier because of \(d.text)"
                }
                if e["operator_step"] == .bool(true) {
                    values["operator_step"] = true
                    text += "; run now by an operator (step), whatever held it back"
                }
                if let planned = e["planned_at"] {
                    values["planned_at"] = planned
                    text += "; sent late (planned \(planned.stringValue ?? "?"), the server was down or behind)"
                }
                add(.sent, rule, text, values)
            case .responseReceived:
                let kind = e["kind"]?.stringValue ?? "?"
                if kind == ResponseKind.outOfOffice.rawValue, let until = e["return_at"] {
                    if let id = contact.stringValue { awayUntil[id] = until }
                    add(.delayed, .string(DelayRule.outOfOffice.rawValue),
                        "\(contact.stringValue ?? "the sender") is out of office until \(until.stringValue ?? "?"): not touched before",
                        ["until": until])
                } else {
                    add(.response, .string(kind), "a \(kind) from \(contact.stringValue ?? "an address that is no contact")")
                }
            case .contactSuppressed:
                add(.suppressed, rule, "\(contact.stringValue ?? "an address") is not touched again (\(rule.stringValue ?? "?"))")
            case .conflictDetected:
                let conflict = e["conflict"] ?? .null
                add(.skipped, conflict, "a touch was held back: \(conflict.stringValue ?? "?")"
                    + (conflict.stringValue == ConflictKind.messageNotClean.rawValue ? " (the message had a hole; the contact is set aside)" : ""))
            case .campaignPaused:
                add(.paused, rule, "paused (\(rule.stringValue ?? "no reason")): no touch until resumed")
            case .campaignResumed:
                add(.resumed, rule, "resumed by an operator")
            case .campaignCancelled:
                add(.cancelled, rule, "cancelled by an operator")
            case .campaignCompleted:
                add(.completed, rule, "completed (\(rule.stringValue ?? "?")) after \(e["steps"].map(Self.text) ?? "?") steps",
                    ["steps": e["steps"] ?? .null, "max_touchpoints": .int(Int64(config.maxTouchpoints))])
            case .campaignMigrated:
                let pb = e["playbook"]?.stringValue ?? "?"
                add(.migrated, "playbook_migration",
                    "an operator's migrate took effect at this step: playbook \(pb) version \(e["from_version"].map(Self.text) ?? "?") → \(e["to_version"].map(Self.text) ?? "?")",
                    ["playbook": .string(pb), "from_version": e["from_version"] ?? .null, "to_version": e["to_version"] ?? .null])
            case .contactErased:
                add(.erased, "operator", "an operator erased a person (\(contact.stringValue ?? "no contact"))")
            }
        }
        var next: JSONValue = .null
        if let touch = status?["next_touch"], touch != .null {
            var values: [String: JSONValue] = ["channel": touch["channel"] ?? .null, "due_at": touch["due_at"] ?? .null]
            var text = "next: \(touch["channel"]?.stringValue ?? "?") to \(touch["contact_id"]?.stringValue ?? "?") at \(touch["due_at"]?.stringValue ?? "?") (\(touch["reason"]?.stringValue ?? "?"))"
            let contactId = touch["contact_id"]?.stringValue
            let away = status?["contacts"]?.arrayValue?.first { $0["id"]?.stringValue == contactId }?["away_until"]
            if let delay = touch["delay"]?.stringValue.flatMap(DelayRule.init(rawValue:)) {
                let d = delayValues(delay, step: status?["steps"].map { v in
                    if case .int(let s) = v { return .int(s + 1) } else { return v }
                }, away: away)
                values["delay"] = .string(delay.rawValue)
                values["delay_values"] = .object(d.values)
                text += "; not earlier because of \(d.text)"
            }
            next = ["seq": .null, "at": touch["due_at"] ?? .null, "decision": .string(Decision.planned.rawValue),
                    "rule": touch["reason"] ?? .null, "contact_id": touch["contact_id"] ?? .null, "text": .string(text),
                    "values": .object(values)]
        }
        return ["campaign_id": status?["campaign_id"] ?? .null, "decisions": .array(decisions), "next": next]
    }

    /// An account's campaigns, oldest first, from its events (`campaigns`, §7.13): each
    /// `{campaign_id, status, reason, started_at, ended_at, steps}`; the current one as `status` shows it.
    public static func campaigns(events: [JSONValue], status: JSONValue?) -> [JSONValue] {
        var order: [String] = []
        var rows: [String: [String: JSONValue]] = [:]
        for e in events {
            guard let id = e["campaign_id"]?.stringValue, let type = e["type"]?.stringValue.flatMap(EventType.init(rawValue:)) else { continue }
            if rows[id] == nil {
                order.append(id)
                rows[id] = ["campaign_id": .string(id), "status": "active", "reason": .null, "started_at": e["at"] ?? .null,
                            "ended_at": .null, "steps": 0]
            }
            switch type {
            case .touchpointDue: rows[id]!["steps"] = e["step"] ?? rows[id]!["steps"]
            case .campaignPaused: rows[id]!["status"] = "paused"; rows[id]!["reason"] = e["reason"] ?? .null
            case .campaignResumed: rows[id]!["status"] = "active"; rows[id]!["reason"] = .null
            case .campaignCompleted, .campaignCancelled:
                rows[id]!["status"] = type == .campaignCompleted ? "completed" : "cancelled"
                rows[id]!["reason"] = e["reason"] ?? .null
                rows[id]!["ended_at"] = e["at"] ?? .null
            default: break
            }
        }
        if let status, let id = status["campaign_id"]?.stringValue {
            if rows[id] == nil {
                order.append(id)
                rows[id] = ["campaign_id": .string(id), "started_at": status["started_at"] ?? .null, "ended_at": .null]
            }
            rows[id]!["status"] = status["status"] ?? .null
            rows[id]!["reason"] = status["reason"] ?? .null
            rows[id]!["steps"] = status["steps"] ?? .null
        }
        return order.compactMap { rows[$0].map(JSONValue.object) }
    }

    /// The values a delay rule used, and words for them.
    func delayValues(_ rule: DelayRule, step: JSONValue?, away: JSONValue?) -> (values: [String: JSONValue], text: String) {
        switch rule {
        case .interval:
            var days: Int?
            if case .int(let s)? = step, s >= 2 { days = config.intervalsDays[min(Int(s) - 2, config.intervalsDays.count - 1)] }
            return (["days": days.map { .int(Int64($0)) } ?? .null],
                    "the interval of \(days.map(String.init) ?? "?") days after the previous step (touchpoint_intervals_days)")
        case .responseTimeout:
            return (["hours": .double(config.responseTimeoutHours)],
                    "the minimum gap of \(Self.number(config.responseTimeoutHours)) hours between two touches to one person (response_timeout_hours)")
        case .outOfOffice:
            return (["until": away ?? .null], "an out-of-office until \(away?.stringValue ?? "its end")")
        case .colleagueDelay:
            return (["days": .double(config.colleagueDelayDays)],
                    "the colleague delay of \(Self.number(config.colleagueDelayDays)) days after the primary's first touch (colleague_message_delay_days)")
        case .sendWindow:
            let w = config.sendWindow
            let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].enumerated().filter { w.days[$0.offset] }.map(\.element)
            let window = "\(days.joined(separator: ",")) \(Self.clock(w.startMinute))–\(Self.clock(w.endMinute))"
            return (["window": .string(window)], "the send window (\(window), in the contact's time zone)")
        case .holiday:
            return ([:], "a holiday (holidays)")
        case .otherPlaybook:
            return (["hours": .double(config.responseTimeoutHours)],
                    "another playbook's touch to the same person less than \(Self.number(config.responseTimeoutHours)) hours before (response_timeout_hours, across the account's playbooks)")
        }
    }

    static func text(_ v: JSONValue) -> String {
        switch v {
        case .int(let i): return String(i)
        case .string(let s): return s
        default: return String(decoding: JSONWriter.encode(v), as: UTF8.self)
        }
    }

    static func number(_ d: Double) -> String { d == d.rounded() ? String(Int(d)) : String(d) }

    static func clock(_ minute: Int) -> String {
        let h = minute / 60, m = minute % 60
        return (h < 10 ? "0" : "") + String(h) + ":" + (m < 10 ? "0" : "") + String(m)
    }
}
