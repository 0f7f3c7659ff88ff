import AbmClientKit
import AbmWire
import ArgumentParser

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move running campaigns of a playbook to another of its versions, at each campaign's next step.",
        discussion: """
        Every active or paused campaign of PLAYBOOK (or only ACCOUNT's with --account) takes up version V when \
        it next steps (its timer or `abm step`), with a campaign.migrated event that `abm explain` shows. \
        Versions: `abm playbooks`. Exit status: 0 ok, 1 refused (unknown playbook or version), 3 no reply in time.
        """)

    @Option(help: "The playbook's name (`default` for the configuration's `campaign`).") var playbook: String
    @Option(name: .customLong("to"), help: "The version to move to.") var toVersion: Int
    @Option(name: .customLong("account"), help: "Only this account's campaign.") var accountId: String?
    @Flag(help: "Print the server's reply as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runReportingErrors(json: json) {
            let reply = try connection.client().send(control: Requests.migrate(playbook: playbook, toVersion: toVersion,
                                                                                 accountId: accountId))
            if json { printJSON(reply) }
            try Replies.checkReply(reply)
            guard !json, let m = reply["migrated"] else { return }
            print("\(m["campaigns"].map { String(decoding: JSONWriter.encode($0), as: UTF8.self) } ?? "0") running campaign(s) of \(playbook) move to version \(toVersion) at their next step")
        }
    }
}

struct PlaybookList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "playbooks",
        abstract: "List the playbooks and their versions.",
        discussion: "A version is recorded each time the server starts with a changed definition. Exit status: 0 ok, 3 no reply in time.")

    @Flag(help: "Print the server's reply as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runReportingErrors(json: json) {
            let reply = try connection.client().send(control: Requests.playbooks())
            if json { printJSON(reply) }
            try Replies.checkReply(reply)
            guard !json else { return }
            for p in reply["playbooks"]?.arrayValue ?? [] {
                let versions = (p["versions"]?.arrayValue ?? []).map { String(decoding: JSONWriter.encode($0), as: UTF8.self) }
                let latest = p["latest"].map { String(decoding: JSONWriter.encode($0), as: UTF8.self) } ?? "?"
                print("\(p["name"]?.stringValue ?? "?")  latest v\(latest)  versions \(versions.joined(separator: ","))"
                      + (p["accepts_leads"] == .bool(false) ? "  (no longer configured: runs its campaigns, starts none)" : ""))
            }
        }
    }
}
