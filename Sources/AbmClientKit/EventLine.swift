import AbmWire
import CampaignCore

/// One human-readable line per event, for `abm tail`:
/// `#42 2026-03-02T14:00:00.000Z touchpoint.due acme-corp  step 1 email → sarah@acme.example (primary_focus)`.
public enum EventLine {
    public static func render(_ event: JSONValue) -> String {
        let seq = EventTail.seq(of: event).map { "#\($0)" } ?? "#?"
        let type = event["type"]?.stringValue ?? "?"
        let at = event["at"]?.stringValue ?? "?"
        let account = event["account_id"]?.stringValue ?? "?"
        var line = "\(seq) \(at) \(pad(type, 18)) \(account)"
        if let detail = detail(event, type: type), !detail.isEmpty { line += "  " + detail }
        return line
    }

    static func detail(_ e: JSONValue, type: String) -> String? {
        let contact = e["contact_email"]?.stringValue ?? e["email"]?.stringValue ?? e["contact_id"]?.stringValue
        switch type {
        case "touchpoint.due":
            var s = "step \(int(e["step"]).map(String.init) ?? "?") \(e["channel"]?.stringValue ?? "?") → \(contact ?? "?")"
            if let name = e["reference"]?["name"]?.stringValue { s += " (refers to \(name))" }
            if let reason = e["reason"]?.stringValue { s += " [\(reason)]" }
            if let subject = e["subject"]?.stringValue { s += " “\(subject)”" }
            return s
        case "campaign.started":
            let n = e["contacts"]?.arrayValue?.count ?? 0
            return "\(n) contact\(n == 1 ? "" : "s")"
        case "contact.added":
            return contact
        case "response.received":
            return "\(e["kind"]?.stringValue ?? "?") from \(contact ?? "unknown contact")"
        case "campaign.paused", "campaign.resumed", "campaign.completed", "campaign.cancelled":
            return e["reason"]?.stringValue
        case "contact.suppressed":
            return "\(contact ?? "?") (\(e["reason"]?.stringValue ?? "?"))"
        case "conflict.detected":
            return "\(e["conflict"]?.stringValue ?? "?") \(contact ?? "")"
        default:
            return nil
        }
    }

    /// An integer field (also written as a whole double), or nil.
    public static func int(_ value: JSONValue?) -> Int64? {
        switch value {
        case .int(let n)?: n
        case .double(let d)?: Int64(d)
        default: nil
        }
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}
