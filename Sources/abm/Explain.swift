import AbmClientKit
import AbmWire
import ArgumentParser

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain a campaign: every decision in order with the rule it followed, then what holds the next touch back.",
        discussion: "Read from the campaign's stored events and status. Exit status: 0 ok, 1 refused (not_found), 3 no reply in time.")

    @Argument(help: "The account id.") var accountId: String
    @Flag(help: "Print the server's reply as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runReportingErrors(json: json) {
            let reply = try connection.client().send(control: Requests.explain(accountId: accountId))
            if json { printJSON(reply) }
            try Replies.checkReply(reply)
            if !json { print(ExplainText.render(reply["explanation"] ?? .null), terminator: "") }
        }
    }
}

/// The text form of an `explain` reply: one line a decision.
enum ExplainText {
    static func render(_ e: JSONValue) -> String {
        var out = "campaign \(e["campaign_id"]?.stringValue ?? "?")\n"
        for d in (e["decisions"]?.arrayValue ?? []) + [e["next"] ?? .null] where d != .null {
            let seq = d["seq"].flatMap { if case .int(let s) = $0 { "#\(s)" } else { nil } } ?? "next"
            out += pad(seq, 7) + pad(d["at"]?.stringValue ?? "", 26) + pad(d["decision"]?.stringValue ?? "?", 14)
                + (d["text"]?.stringValue ?? "") + "\n"
        }
        return out
    }

    private static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
}
