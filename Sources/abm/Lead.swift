import AbmWire
import AbmClientKit
import ArgumentParser

struct Lead: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a lead to the server's ingress and print the ack.",
        discussion: """
        FILE holds a lead object ({"account_id": …, "email": …, "name": …, "account_contacts": […]}) or a \
        full request ({"type": "lead", "id": …, "lead": {…}}); - (or nothing, with a pipe) reads stdin. \
        The request id is --id, else the request's own id, else a new UUID; resending with the same id \
        is safe (the ack says "duplicate"). Prints the outcome in a line, or the ack with --json. Exit status: 0 accepted or duplicate, 1 rejected, \
        2 bad input, 3 no reply in time, 4 socket error.
        """)

    @Argument(help: "JSON file with the lead, or - for stdin.") var file: String?
    @Option(help: "Request id (idempotency key); default: the request's id or a new UUID.") var id: String?
    @Flag(help: "Print the server's ack as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runIngressCommand(connection: connection, json: json) { () throws(AbmError) in
            let input = try readJSONInput(file)
            return try Requests.lead(fromUser: Requests.parseUserJSON(input.bytes, source: input.source), id: id)
        }
    }
}
