import AbmWire
import AbmClientKit
import ArgumentParser

struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Resume a paused campaign (the next touch moves to now or later, into the contact's send window).",
        discussion: "Prints the campaign after the command. Exit status: 0 ok, 1 refused (not_found, invalid_state, …), 3 no reply in time.")

    @Argument(help: "The account id.") var accountId: String
    @Option(help: "Why (sent as `reason`; a v1 server records its own reason and ignores it).") var reason: String?
    @Option(help: "Request id (idempotency key); default: a new UUID.") var id: String?
    @Flag(help: "Print the server's reply as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runCampaignCommand(Requests.resume(accountId: accountId, reason: reason, id: id), connection: connection, json: json)
    }
}
