import AbmWire
import AbmClientKit
import ArgumentParser
import CampaignCore
import CampaignGateway
import CampaignReport
import Foundation
import Logging

/// `abm demo`: an embedded server on loopback with a virtual clock, six accounts fed through real
/// ZeroMQ, 60 days of campaign, a timeline and an HTML report.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a 60-day demo campaign against an embedded server over real ZeroMQ and write an HTML report.",
        discussion: """
        Starts the server on loopback ephemeral ports with a virtual clock (Monday 2026-03-02 08:00 UTC) \
        and a SQLite store (a temporary directory unless --data-dir), sends six accounts' leads through a \
        DEALER (the code of `abm lead`), follows the events with a SUB, sends a colleague's reply (the \
        campaign pauses) and an unsubscribe on the way, advances the clock a day at a time, then prints a \
        per-account timeline and writes the HTML report. Progress goes to standard error.
        """)

    @Option(help: "Where to write the HTML report.") var report: String = "./abm-demo-report.html"
    @Option(name: .customLong("data-dir"), help: "Keep the SQLite store in this directory (default: a temporary one, removed).")
    var dataDir: String?
    @Option(help: "Days to run on the virtual clock.") var days: Int = DemoData.days
    @Flag(name: .customLong("no-timeline"), help: "Do not print the timeline (summary only).") var noTimeline = false

    func validate() throws {
        guard (1...365).contains(days) else { throw ValidationError("--days must be in 1…365") }
    }

    func run() async throws {
        let progress = Progress()
        let temporary = dataDir == nil
        let directory = dataDir ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("abm-demo-\(UUID().uuidString.prefix(8))").path
        defer { if temporary { try? FileManager.default.removeItem(atPath: directory) } }

        var logger = Logger(label: "abm.demo")
        logger.logLevel = .warning
        let start = WireTime.parse(DemoData.start)!
        let server = try await AbmServer.start(options: ServerOptions(
            endpoints: .ephemeral, dataDirectory: directory, virtualClockStart: start, logger: logger))
        progress.line("server: ingress \(server.endpoints.ingress), control \(server.endpoints.control), events \(server.endpoints.events); store \(directory)")
        let endpoints = AbmEndpoints(ingress: server.endpoints.ingress, control: server.endpoints.control,
                                     events: server.endpoints.events)
        let days = self.days
        let outcome: Result<DemoOutcome, any Error>
        do {
            outcome = .success(try await onThread(name: "abm-demo-client") {
                try DemoScript(endpoints: endpoints, days: days, progress: progress).run()
            })
        } catch {
            outcome = .failure(error)
        }
        await server.stop()
        let result: DemoOutcome
        do { result = try outcome.get() } catch let error as AbmError {
            printError("abm demo: \(error)")
            throw ExitCode(error.exitCode)
        }

        let timeline = result.events.compactMap(TimelineEvent.init(json:))
        if !noTimeline { print(TimelineText.render(timeline)) }
        let html = HTMLReport.render(timeline, title: "abm demo — \(DemoData.leads.count) accounts, \(days) days from \(DemoData.start.prefix(10))",
                                     period: start...start.addingTimeInterval(Double(days) * 86_400),
                                     campaigns: result.campaigns)
        let url = URL(fileURLWithPath: report)
        try Data(html.utf8).write(to: url)
        print(result.summary)
        print("report: \(url.standardizedFileURL.path)")
    }
}

/// What the demo's client thread brings back.
struct DemoOutcome: Sendable {
    var events: [JSONValue]
    var summary: String
    /// Each account's `status` at the end, for the report (time zones, next due).
    var campaigns: [String: CampaignSummary] = [:]
}

/// The client side of the demo, on its own thread: the same client code as `abm lead` and friends.
struct DemoScript {
    let endpoints: AbmEndpoints
    let days: Int
    let progress: Progress

    func run() throws -> DemoOutcome {
        let client = try AbmClient(endpoints: endpoints, timeoutMilliseconds: 30_000)
        let sub = try client.subscriber(prefixes: [""])
        var live = LiveCounts()
        // A SUB joins asynchronously: wait until it is connected (a probe event would be nicer; the
        // replay at the end makes the report complete either way, the live count shows what PUB delivered).
        Thread.sleep(forTimeInterval: 0.2)

        for lead in DemoData.leads {
            let ack = try client.lead(lead)
            let account = lead["account_id"]?.stringValue ?? "?"
            let contacts = 1 + (lead["account_contacts"]?.arrayValue?.count ?? 0)
            progress.line("lead \(account) (\(contacts) contacts): \(ack["status"]?.stringValue ?? "?"), campaign \(ack["campaign_id"]?.stringValue ?? "-")")
        }
        try live.drain(sub)

        var now = ""
        for day in 1...days {
            for scripted in DemoData.responses where scripted.afterDays == day - 1 {
                let ack = try client.respond(scripted.response)
                progress.line("day \(day - 1): \(scripted.note): \(ack["status"]?.stringValue ?? "?")")
            }
            now = try client.advanceClock(seconds: 86_400)
            try live.drain(sub)
            progress.update("day \(day)/\(days)  \(now.prefix(10))  events \(live.total)  touches \(live.touches)")
        }
        progress.line("clock at \(now): \(live.total) events received live, \(live.touches) touches")

        let events = try client.replay(after: 0)
        var statuses: [String] = []
        var campaigns: [String: CampaignSummary] = [:]
        for lead in DemoData.leads {
            let account = lead["account_id"]?.stringValue ?? "?"
            let reply = try client.command(Requests.status(accountId: account))
            let c = reply["campaign"]
            campaigns[account] = c.flatMap(CampaignSummary.init(campaign:))
            let reason = c?["reason"]?.stringValue.map { " (\($0))" } ?? ""
            statuses.append("  \(account): \(c?["status"]?.stringValue ?? "?")\(reason), \(EventLine.int(c?["steps"]) ?? 0) touches")
        }
        return DemoOutcome(events: events, summary: Self.summary(events: events, live: live, statuses: statuses),
                           campaigns: campaigns)
    }

    static func summary(events: [JSONValue], live: LiveCounts, statuses: [String]) -> String {
        var byChannel: [String: Int] = [:]
        for e in events where e["type"] == "touchpoint.due" { byChannel[e["channel"]?.stringValue ?? "?", default: 0] += 1 }
        let channels = byChannel.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let lastSeq = events.last.flatMap { EventLine.int($0["seq"]) } ?? 0
        return """
        summary: \(events.count) events (seq 1…\(lastSeq); \(live.total) received live over PUB/SUB), \
        \(byChannel.values.reduce(0, +)) touches: \(channels)
        \(statuses.joined(separator: "\n"))
        """
    }
}

/// What the demo's SUB has seen so far.
struct LiveCounts {
    var total = 0
    var touches = 0

    mutating func drain(_ sub: EventSubscriber) throws(AbmError) {
        while let event = try sub.receive(timeoutMilliseconds: 0) {
            total += 1
            if event["type"] == "touchpoint.due" { touches += 1 }
        }
    }
}
