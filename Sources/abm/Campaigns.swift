import AbmClientKit
import AbmWire
import ArgumentParser

struct Campaigns: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List an account's campaigns, earlier ones included, oldest first.",
        discussion: "Each with its status, reason, start and end, and steps sent. Exit status: 0 ok, 1 refused (not_found), 3 no reply in time.")

    @Argument(help: "The account id.") var accountId: String
    @Flag(help: "Print the server's reply as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runReportingErrors(json: json) {
            let reply = try connection.client().send(control: Requests.campaigns(accountId: accountId))
            if json { printJSON(reply) }
            try Replies.checkReply(reply)
            guard !json else { return }
            for c in reply["campaigns"]?.arrayValue ?? [] {
                func s(_ k: String) -> String {
                    guard let v = c[k], v != .null else { return "-" }
                    return v.stringValue ?? String(decoding: JSONWriter.encode(v), as: UTF8.self)
                }
                print("\(s("campaign_id"))  \(s("status"))\(c["reason"]?.stringValue.map { " (\($0))" } ?? "")  started \(s("started_at"))  ended \(s("ended_at"))  \(s("steps")) steps")
            }
        }
    }
}
