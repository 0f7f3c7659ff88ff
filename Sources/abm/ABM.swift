import AbmWire
import ArgumentParser
import CampaignGateway

/// The one executable: server, demo, client commands and the load generator.
@main
struct ABM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abm",
        abstract: "Account-based marketing campaign runtime: one durable campaign per account, over ZeroMQ.",
        version: AbmVersion.description,
        subcommands: [
            Serve.self, Demo.self,
            Lead.self, Respond.self, Pause.self, Resume.self, Cancel.self, Status.self,
            List.self, Stats.self, Explain.self, Campaigns.self, Preview.self, Step.self, Erase.self, Migrate.self, PlaybookList.self,
            Tail.self, Report.self, Backup.self, Health.self, Bench.self, BenchNodes.self, Keygen.self,
        ]
    )
}
