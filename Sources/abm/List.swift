import AbmWire
import AbmClientKit
import ArgumentParser
import CampaignCore

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List campaigns by account id: filter by status, parked, account prefix; paged.",
        discussion: """
            Prints one line per campaign (account, status, parked, since when, campaign id) and, when more remain, \
            the --after value for the next page. With --all, follows the pages to the end.
            Exit status: 0 ok, 1 refused (invalid_field), 3 no reply in time.
            """)

    @Option(help: "Only campaigns with this status: active, paused, completed or cancelled.")
    var status: String?
    @Flag(help: "Only parked campaigns (stopped after repeated failures; `abm resume` retries them).")
    var parked = false
    @Option(name: .customLong("account"), help: ArgumentHelp("Only accounts whose id starts with this.", valueName: "PREFIX"))
    var accountPrefix: String?
    @Option(help: "Start after this account id (the previous page's next).")
    var after: String?
    @Option(help: "Campaigns per page, 1-1000.")
    var limit: Int = 100
    @Flag(help: "Follow the pages to the end.")
    var all = false
    @Flag(help: "Print the server's reply as JSON (with --all: one reply per line).")
    var json = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if let status, CampaignStatus(rawValue: status) == nil {
            throw ValidationError("--status must be one of active, paused, completed, cancelled; got '\(status)'")
        }
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be between 1 and 1000, got \(limit)") }
    }

    func run() throws {
        try runReportingErrors {
            let client = try connection.client()
            var position = after
            var printedHeader = false
            while true {
                let reply = try client.send(control: Requests.list(status: status, parked: parked ? true : nil,
                                                                   accountPrefix: accountPrefix, after: position, limit: limit))
                if json { printJSON(reply) }
                try Replies.checkReply(reply)
                let next = reply["next"]?.stringValue
                if !json {
                    let rows = reply["campaigns"]?.arrayValue ?? []
                    if !printedHeader {
                        print(CampaignListText.header)
                        printedHeader = true
                    }
                    for row in rows { print(CampaignListText.row(row)) }
                    if !all, let next { print("more: --after \(next)") }
                }
                guard all, let next else { break }
                position = next
            }
        }
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Counts: campaigns by status, in memory and passivated, timers pending and overdue, parked, outbox lag.",
        discussion: "Exit status: 0 ok, 3 no reply in time.")

    @Flag(help: "Print the server's reply as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runReportingErrors {
            let reply = try connection.client().send(control: Requests.stats())
            if json { printJSON(reply) }
            try Replies.checkReply(reply)
            if !json { print(CampaignListText.stats(reply), terminator: "") }
        }
    }
}

/// The text forms of `list` and `stats` replies.
enum CampaignListText {
    static let header = pad("ACCOUNT", 28) + pad("STATUS", 11) + pad("PARKED", 7) + pad("SINCE", 26) + "CAMPAIGN"

    static func row(_ row: JSONValue) -> String {
        let parked = row["parked"] == .bool(true) ? "yes" : "-"
        return pad(row["account_id"]?.stringValue ?? "?", 28) + pad(row["status"]?.stringValue ?? "?", 11)
            + pad(parked, 7) + pad(row["status_since"]?.stringValue ?? "", 26) + (row["campaign_id"]?.stringValue ?? "")
    }

    static func stats(_ reply: JSONValue) -> String {
        func n(_ v: JSONValue?) -> String { v.map { String(decoding: JSONWriter.encode($0), as: UTF8.self) } ?? "?" }
        let c = reply["campaigns"]
        var out = "campaigns   \(n(c?["total"])) total: \(n(c?["active"])) active, \(n(c?["paused"])) paused, "
        out += "\(n(c?["completed"])) completed, \(n(c?["cancelled"])) cancelled\n"
        out += "memory      \(n(reply["resident"])) resident, \(n(reply["passivated"])) passivated\n"
        out += "timers      \(n(reply["timers"]?["pending"])) pending, \(n(reply["timers"]?["overdue"])) overdue\n"
        out += "parked      \(n(reply["parked"]))\n"
        let o = reply["outbox"]
        out += "outbox      last seq \(n(o?["last_seq"])), published \(n(o?["published_seq"])), lag \(n(o?["lag"])), pruned through \(n(o?["pruned_seq"]))\n"
        return out
    }

    /// Left-aligned in `width` columns, with one space at least after it.
    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }
}
