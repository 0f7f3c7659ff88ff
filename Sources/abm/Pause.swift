import AbmWire
import AbmClientKit
import ArgumentParser

struct Pause: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pause an account's campaign (no touch goes out until it is resumed).",
        discussion: "Prints the campaign after the command. Exit status: 0 ok, 1 refused (not_found, invalid_state, …), 3 no reply in time.")

    @Argument(help: "The account id.") var accountId: String
    @Option(help: "Why (kept in the campaign and the campaign.paused event).") var reason: String?
    @Option(help: "Request id (idempotency key); default: a new UUID.") var id: String?
    @Flag(help: "Print the server's reply as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runCampaignCommand(Requests.pause(accountId: accountId, reason: reason, id: id), connection: connection, json: json)
    }
}
