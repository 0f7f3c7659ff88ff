import AbmWire
import AbmClientKit
import ArgumentParser

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show an account's campaign: status, touches per contact and channel, next due time.",
        discussion: "Exit status: 0 ok, 1 refused (not_found), 3 no reply in time.")

    @Argument(help: "The account id.") var accountId: String
    @Flag(help: "Print the server's reply as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runCampaignCommand(Requests.status(accountId: accountId), connection: connection, json: json)
    }
}
