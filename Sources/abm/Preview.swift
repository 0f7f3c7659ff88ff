import AbmClientKit
import AbmWire
import ArgumentParser

struct Preview: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the next touch of a campaign, or of a lead not yet sent, as it would go out. Stores nothing.",
        discussion: """
        With ACCOUNT: the campaign's planned touch, rendered, with its time in UTC and in the contact's zone, \
        and the conflicts it would hit. With --lead FILE: what that lead would send first (as `abm lead` \
        reads it). Exit status: 0 ok, 1 refused, 2 bad input, 3 no reply in time.
        """)

    @Argument(help: "The account id (omit with --lead).") var accountId: String?
    @Option(help: "A lead file (or - for stdin) to preview instead of an account's campaign.") var lead: String?
    @Flag(help: "Print the server's reply as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if (accountId == nil) == (lead == nil) { throw ValidationError("give an ACCOUNT or --lead FILE (one of them)") }
    }

    func run() throws {
        try runReportingErrors(json: json) {
            var leadObject: JSONValue?
            if let lead {
                let input = try readJSONInput(lead)
                leadObject = try Requests.lead(fromUser: Requests.parseUserJSON(input.bytes, source: input.source))["lead"]
            }
            let reply = try connection.client().send(control: Requests.preview(accountId: accountId, lead: leadObject))
            if json { printJSON(reply) }
            try Replies.checkReply(reply)
            if !json { print(PreviewText.render(reply["preview"] ?? .null), terminator: "") }
        }
    }
}

/// The text form of a `preview` reply.
enum PreviewText {
    static func render(_ p: JSONValue) -> String {
        var out = ""
        for c in p["conflicts"]?.arrayValue ?? [] {
            out += "conflict    \(c["type"]?.stringValue ?? "?") \(c["contact_id"]?.stringValue ?? "") \(c["reason"]?.stringValue ?? c["conflict"]?.stringValue ?? "")\n"
        }
        guard let t = p["touch"], t != .null else {
            return out + "no touch: \(p["why_none"]?.stringValue ?? "nothing planned")\n"
        }
        func s(_ k: String) -> String { t[k]?.stringValue ?? "" }
        out += "touch       step \(t["step"].map { String(decoding: JSONWriter.encode($0), as: UTF8.self) } ?? "?") by \(s("channel")) to \(s("contact_name")) <\(s("contact_email"))> (\(s("contact_id")))\n"
        out += "when        \(s("due_at")) UTC = \(s("local_time")) \(s("timezone"))\n"
        out += "why         \(s("reason"))" + (t["delay"].map { "; held back by \($0.stringValue ?? "?")" } ?? "") + "\n"
        if let subject = t["subject"]?.stringValue { out += "subject     \(subject)\n" }
        out += "\n\(s("message"))\n"
        return out
    }
}
