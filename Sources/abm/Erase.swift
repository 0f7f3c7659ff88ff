import AbmClientKit
import AbmWire
import ArgumentParser

struct Erase: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Erase a person's personal data (state, stored events, stored replies); they are never contacted again.",
        discussion: """
        The server blanks every contact with this address (name, address, phone, title, LinkedIn: `[erased]`), \
        rewrites the stored events and replies that named the person, keeps the address on the suppression list \
        only as its SHA-256, and emits one `contact.erased` event per account (the audit record, carrying the \
        hash only). Events already delivered to subscribers cannot be recalled: subscribers act on `contact.erased`. \
        Idempotent: run it again to finish an interrupted erasure. \
        Exit status: 0 ok, 1 refused, 3 no reply in time.
        """)

    @Option(help: "The person's email address (any case).") var email: String
    @Option(help: "Request id; default: a new UUID.") var id: String?
    @Flag(help: "Print the server's reply as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runReportingErrors {
            // An erasure visits every account naming the person: allow it more than a command's usual wait.
            let reply = try connection.client(minimumTimeout: 120).send(control: Requests.erase(email: email, id: id))
            if json { printJSON(reply) }
            try Replies.checkReply(reply)
            if !json {
                let e = reply["erased"]
                func n(_ k: String) -> String { e?[k].map { String(decoding: JSONWriter.encode($0), as: UTF8.self) } ?? "?" }
                print("erased      sha256 \(e?["email_sha256"]?.stringValue ?? "?")")
                print("accounts    \(n("accounts"))")
                print("events      \(n("events")) rewritten")
                print("replies     \(n("replies")) rewritten")
            }
        }
    }
}
