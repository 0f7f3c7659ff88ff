import AbmClientKit
import AbmWire
import ArgumentParser

struct Step: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a campaign's next step now (an operator's override of its timing).",
        discussion: """
        The planned touch goes out now, whatever interval, window or delay held it back, marked \
        `operator_step` in its event (the audit record); the next one is planned from now. A paused, completed \
        or cancelled campaign is refused (invalid_state), and a suppressed contact is not touched. Idempotent \
        by --id. Prints the campaign after the step. Exit status: 0 ok, 1 refused, 3 no reply in time.
        """)

    @Argument(help: "The account id.") var accountId: String
    @Option(help: "Request id (idempotency key); default: a new UUID.") var id: String?
    @Flag(help: "Print the server's reply as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runCampaignCommand(Requests.step(accountId: accountId, id: id), connection: connection, json: json)
    }
}
