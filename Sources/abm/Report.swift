import AbmWire
import AbmClientKit
import ArgumentParser
import CampaignCore
import CampaignReport
import Foundation

/// `abm report ACCOUNT|--all -o FILE`: the HTML report of a running server's campaigns, from its event
/// log over the wire (control `events`, paged) and each account's `status`.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an HTML report (summary, timelines, every touch in UTC and the contact's time, messages).",
        discussion: """
        Reads the server's event log over the control socket (`events`, from seq 1, paged) and each \
        reported account's `status`, so it works against any running server it can reach, without its \
        data directory. The page is self-contained (no scripts, no external files). With --json it \
        prints {"ok":true,"path":…,"accounts":…,"events":…} instead of a line. Exit status: 0 written, \
        1 refused (an unknown ACCOUNT is not_found), 2 bad input, 3 no reply in time.
        """)

    @Argument(help: "The account to report on (or --all).") var accountId: String?
    @Flag(help: "Report on every account in the log.") var all = false
    @Option(name: [.short, .customLong("output")], help: "The HTML file to write.") var output: String
    @Option(help: "The page's title (default: the account, or the server's control endpoint).") var title: String?
    @Flag(help: "Print the outcome as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if all == (accountId != nil) { throw ValidationError("give an ACCOUNT or --all (one of them)") }
    }

    func run() throws {
        try runReportingErrors(json: json) {
            let client = try connection.client()
            var events = try client.replay(after: 0)
            if let accountId {
                events = events.filter { $0["account_id"]?.stringValue == accountId }
            }
            let timeline = events.compactMap(TimelineEvent.init(json:))
            var accounts: [String] = []
            for event in timeline where !accounts.contains(event.accountId) { accounts.append(event.accountId) }
            if let accountId, accounts.isEmpty {
                // No event: ask the server, so that an unknown account is `not_found` like `abm status`.
                _ = try client.command(Requests.status(accountId: accountId))
                accounts = [accountId]
            }
            var campaigns: [String: CampaignSummary] = [:]
            for account in accounts {
                do {
                    let reply = try client.command(Requests.status(accountId: account))
                    if let campaign = reply["campaign"], let summary = CampaignSummary(campaign: campaign) {
                        campaigns[account] = summary
                    }
                } catch let error as AbmError where error.code == "not_found" {
                    // An account known only from an unsubscribe has no campaign: its events still show.
                }
            }
            let heading = title ?? (accountId.map { "abm report — \($0)" } ?? "abm report — \(connection.control)")
            let html = HTMLReport.render(timeline, title: heading, campaigns: campaigns)
            do {
                try Data(html.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
            } catch {
                throw AbmError.badInput("cannot write \(output): \(error.localizedDescription)")
            }
            if json {
                printJSON(["ok": true, "path": .string(output), "accounts": .int(Int64(accounts.count)),
                           "events": .int(Int64(timeline.count))])
            } else {
                print("report \(output): \(accounts.count) account\(accounts.count == 1 ? "" : "s"), \(timeline.count) events")
            }
        }
    }
}
