import AbmWire
import AbmClientKit
import ArgumentParser
import CampaignCore
import Foundation

/// `abm health`: is the server answering on its control socket, with its store readable? For container
/// health checks and scripts; the metrics endpoint, when enabled, says more.
struct Health: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that the server answers on control and reads its store; print its last event seq.",
        discussion: """
        Sends one control `events` request past the end of the log (a read of the store that returns \
        nothing) and reports the server's last_seq. Exit status: 0 healthy, 1 the server refused (its \
        store could not be read), 3 no reply within --timeout (default 5 s), 4 a socket error. Used by \
        the container's HEALTHCHECK (deploy/Containerfile).
        """)

    @Flag(help: "Print {\"ok\":true,\"last_seq\":N,\"reply_ms\":…} instead of a line.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runReportingErrors(json: json) {
            let started = ContinuousClock.now
            let page = try connection.client().events(after: Int64.max - 1, limit: 1)
            let elapsed = ContinuousClock.now - started
            let millis = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            if json {
                printJSON(["ok": true, "last_seq": .int(page.lastSeq), "reply_ms": .double((millis * 10).rounded() / 10)])
            } else {
                print(String(format: "ok: control %@ answered in %.1f ms, last event seq %lld", connection.control, millis, page.lastSeq))
            }
        }
    }
}
