import AbmWire
import CampaignCore

/// The `campaign` object of a control reply as a few readable lines.
enum CampaignText {
    static func render(_ c: JSONValue) -> String {
        let account = c["account_id"]?.stringValue ?? "?"
        let status = c["status"]?.stringValue ?? "?"
        var out = "\(account): \(status)"
        if let reason = c["reason"]?.stringValue { out += " (\(reason))" }
        out += " — campaign \(c["campaign_id"]?.stringValue ?? "?"), \(int(c["steps"])) touch\(int(c["steps"]) == 1 ? "" : "es") sent"
        out += ", next due " + (c["next_due_at"]?.stringValue ?? "—") + "\n"
        for contact in c["contacts"]?.arrayValue ?? [] {
            let email = contact["email"]?.stringValue ?? "?"
            let state = contact["state"]?.stringValue ?? "?"
            let channels = (contact["touches_by_channel"]?.objectValue ?? [:]).sorted { $0.key < $1.key }
                .map { "\($0.key) \(int($0.value))" }.joined(separator: ", ")
            out += "  \(email.padding(toLength: max(email.count, 34), withPad: " ", startingAt: 0)) "
            out += "\(state.padding(toLength: 13, withPad: " ", startingAt: 0)) \(int(contact["touches"])) touches"
            out += channels.isEmpty ? "\n" : " (\(channels))\n"
        }
        return out
    }

    static func int(_ value: JSONValue?) -> Int64 {
        switch value {
        case .int(let n)?: n
        case .double(let d)?: Int64(d)
        default: 0
        }
    }
}
