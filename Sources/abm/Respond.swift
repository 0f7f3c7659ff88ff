import AbmWire
import CampaignCore
import AbmClientKit
import ArgumentParser

struct Respond: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a response (reply, unsubscribe, …) to the server's ingress and print the ack.",
        discussion: """
        Either FILE (or - for stdin) with a response object {"account_id", "contact_email" or \
        "contact_id", "kind", "channel"?, "text"?, "return_date"?}, or the flags --account, --email \
        (or --contact-id) and --kind. Kinds: reply, meeting_scheduled, negative, unsubscribe, bounce, \
        out_of_office. Prints the outcome in a line, or the ack with --json. Exit status as for `abm lead`.
        """)

    @Argument(help: "JSON file with the response, or - for stdin (instead of the flags).") var file: String?
    @Option(help: "Account id.") var account: String?
    @Option(help: "The responding contact's email.") var email: String?
    @Option(name: .customLong("contact-id"), help: "The responding contact's id (instead of --email).") var contactId: String?
    @Option(help: "reply | meeting_scheduled | negative | unsubscribe | bounce | out_of_office") var kind: String?
    @Option(help: "Where the response came in (email, sms, …).") var channel: String?
    @Option(help: "The response text.") var text: String?
    @Option(name: .customLong("return-date"), help: "out_of_office: back on this date (2026-03-16 or an RFC 3339 instant).")
    var returnDate: String?
    @Option(help: "Request id (idempotency key); default: a new UUID.") var id: String?
    @Flag(help: "Print the server's ack as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        let usesFlags = account != nil || email != nil || contactId != nil || kind != nil
        if file != nil && usesFlags { throw ValidationError("give either FILE or the flags, not both") }
        if file == nil && usesFlags && (account == nil || kind == nil || (email == nil && contactId == nil)) {
            throw ValidationError("--account, --kind and --email (or --contact-id) are required")
        }
    }

    func run() throws {
        try runIngressCommand(connection: connection, json: json) { () throws(AbmError) in
            if let account, let kindText = kind {
                guard let kind = ResponseKind(rawValue: kindText) else {
                    throw AbmError.badInput("--kind \"\(kindText)\" is not one of \(ResponseKind.list)", field: "kind")
                }
                return try Requests.response(accountId: account, contactEmail: email, contactId: contactId, kind: kind,
                                             channel: channel, text: text, returnDate: returnDate, id: id)
            }
            let input = try readJSONInput(file)
            return try Requests.response(fromUser: Requests.parseUserJSON(input.bytes, source: input.source), id: id)
        }
    }
}
