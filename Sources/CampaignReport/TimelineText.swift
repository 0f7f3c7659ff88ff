import AbmWire
import Foundation

/// A readable per-account timeline for a terminal.
public enum TimelineText {
    /// Renders every account's events in log order; instants are shown in `timeZone`.
    public static func render(_ events: [TimelineEvent], timeZone: TimeZone = TimeZone(identifier: "UTC")!) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = timeZone
        formatter.dateFormat = "EEE yyyy-MM-dd HH:mm zzz"
        var out = ""
        for account in AccountTimeline.group(events) {
            let status = account.finalStatus
            let reason = status.reason.map { " (\($0))" } ?? ""
            out += "== \(account.accountId) — \(account.touches.count) touches, \(status.status)\(reason) ==\n"
            for event in account.events {
                guard let line = describe(event) else { continue }
                out += "  \(formatter.string(from: event.at))  \(line)\n"
            }
            out += "\n"
        }
        return out
    }

    /// One line for an event, or nil for events a reader does not need in a timeline.
    static func describe(_ event: TimelineEvent) -> String? {
        let contact = event.string("contact_email") ?? event.string("email") ?? event.string("contact_id") ?? "?"
        switch event.type {
        case "campaign.started":
            return "campaign started"
        case "contact.added":
            return "contact added: \(contact)"
        case "touchpoint.due":
            let step = event.int("step").map { "#\($0)" } ?? "#?"
            let channel = (event.string("channel") ?? "?").padding(toLength: 8, withPad: " ", startingAt: 0)
            var line = "\(step) \(channel) → \(contact)"
            if case .object(let reference)? = event.fields["reference"], let name = reference["name"]?.stringValue {
                line += " (referring to \(name))"
            }
            if let subject = event.string("subject") { line += " — \"\(subject)\"" }
            return line
        case "response.received":
            return "response: \(event.string("kind") ?? "?") from \(contact)"
        case "campaign.paused", "campaign.resumed", "campaign.completed", "campaign.cancelled":
            let verb = event.type.dropFirst("campaign.".count)
            return "campaign \(verb)" + (event.string("reason").map { " (\($0))" } ?? "")
        case "contact.suppressed":
            return "suppressed: \(contact)" + (event.string("reason").map { " (\($0))" } ?? "")
        case "conflict.detected":
            return "conflict: \(event.string("conflict") ?? "?") (\(contact))"
        default:
            return event.type
        }
    }
}
