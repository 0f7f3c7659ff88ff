import AbmWire
import AbmClientKit
import ArgumentParser
import CampaignCore
import Foundation

struct Tail: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow the server's events, one line each (or JSON), without gaps or duplicates.",
        discussion: """
        Subscribes to every event and filters here, so that it sees every seq: a gap (a dropped or \
        missed event) is filled from the log with control `events`, a repeated seq is dropped. \
        With --from-seq N it first replays the stored events from seq N on, then continues live. \
        Runs until interrupted, or --count events were printed, or --idle seconds passed without one.
        """)

    @Option(name: .customLong("type"), help: "Only events whose type starts with this (repeatable): touchpoint.due, campaign., …")
    var types: [String] = []
    @Option(help: "Only this account's events.") var account: String?
    @Option(name: .customLong("from-seq"), help: "Replay the stored events from this seq on (1 = the whole log) before going live.")
    var fromSeq: Int64?
    @Flag(help: "Print each event's JSON body instead of a line.") var json = false
    @Option(help: "Stop after this many events.") var count: Int?
    @Option(help: "Stop after this many seconds without an event.") var idle: Double?
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if let fromSeq, fromSeq < 1 { throw ValidationError("--from-seq must be ≥ 1") }
        if let count, count < 1 { throw ValidationError("--count must be ≥ 1") }
        if let idle, idle <= 0 { throw ValidationError("--idle must be > 0") }
    }

    private struct Done: Error {}

    func run() throws {
        try runReportingErrors(json: json) {
            let client = try connection.client()
            // Subscribe before replaying, so nothing falls between the replay and the live stream.
            let sub = try client.subscriber(prefixes: [""])
            var tail = EventTail(filter: EventFilter(typePrefixes: types, accountId: account),
                                 after: fromSeq.map { $0 - 1 }) { (after, limit) throws(AbmError) in
                try client.events(after: after, limit: limit)
            }
            var printed = 0
            let deliver: (JSONValue) throws -> Void = { event in
                // Unbuffered, so that a pipe (`abm tail | grep …`) sees each event as it comes.
                let line = json ? String(decoding: Requests.encode(event), as: UTF8.self) : EventLine.render(event)
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
                printed += 1
                if let count, printed >= count { throw Done() }
            }
            do {
                try tail.catchUp(deliver)
                let wait = idle.map { Int($0 * 1000) } ?? -1
                while let event = try sub.receive(timeoutMilliseconds: wait) {
                    try tail.live(event, deliver)
                }
            } catch is Done {
                return
            }
        }
    }
}
