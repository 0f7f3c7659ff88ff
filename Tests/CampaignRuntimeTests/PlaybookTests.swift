import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import Testing

@testable import CampaignRuntime

/// Playbooks (docs/campaign-behaviour.md, "Playbooks"): named, versioned configurations kept in the store;
/// a restart with a new configuration adds a version and never rewrites running campaigns; `migrate` moves
/// them at their next step, explained.
@Suite struct PlaybookTests {
    typealias Definitions = PlaybookRegistry.Definitions

    /// Starts a runtime on `path` with the playbooks `definitions` (versioned in the store).
    func start(_ path: String, _ definitions: Definitions, at: Date = monday9) async throws -> (CampaignRuntime, ManualClock) {
        let store = try SQLiteStore(path: path)
        let books = try await PlaybookRegistry.load(store: store, definitions: definitions)
        let (runtime, clock, _) = try await startRuntime(store, at: at, decider: books)
        return (runtime, clock)
    }

    func touches(_ runtime: CampaignRuntime, _ account: String) async throws -> [StoredEvent] {
        try await allEvents(runtime).filter { $0.accountId == account && $0.type == "touchpoint.due" }
    }

    @Test func aRestartWithANewConfigurationKeepsRunningCampaignsOnTheirVersion() async throws {
        let path = temporaryDatabasePath()
        let (a, _) = try await start(path, ["default": [:]])
        #expect(await a.submitLead(requestId: "l1", lead: lead("acme", colleagues: 0)).status == .accepted)
        await a.settle()
        await a.shutdown()

        // Restarted with max_touchpoints 3: a second version; acme keeps version 1's seven touches.
        let (b, _) = try await start(path, ["default": ["max_touchpoints": 3]])
        #expect(await b.submitLead(requestId: "l2", lead: lead("beta", colleagues: 0)).status == .accepted)
        _ = try await b.advanceClock(seconds: 120 * day)
        #expect(try await touches(b, "acme").count == 7)
        #expect(try await touches(b, "beta").count == 3)
        #expect(await b.status(accountId: "acme")?["playbook"] == ["name": "default", "version": 1, "migrating_to": .null])
        #expect(await b.status(accountId: "acme")?["max_touchpoints"] == 7)
        #expect(await b.status(accountId: "beta")?["playbook"]?["version"] == 2)
        let list = try await b.playbookList().arrayValue ?? []
        #expect(list.first?["versions"] == [1, 2])
        await b.shutdown()

        // The same definition again records nothing.
        let (c, _) = try await start(path, ["default": ["max_touchpoints": 3]])
        #expect(try await c.playbookList().arrayValue?.first?["latest"] == 2)
        await c.shutdown()
    }

    @Test func migrateTakesEffectAtTheNextStepAndIsExplained() async throws {
        let path = temporaryDatabasePath()
        let (a, _) = try await start(path, ["default": [:]])
        #expect(await a.submitLead(requestId: "l1", lead: lead("acme", colleagues: 0)).status == .accepted)
        await a.settle()
        await a.shutdown()
        let (b, _) = try await start(path, ["default": ["max_touchpoints": 2]])
        let before = try await allEvents(b).count

        let report = try await b.migrate(playbook: "default", toVersion: 2)
        #expect(report.campaigns == 1)
        #expect(await b.status(accountId: "acme")?["playbook"]?["migrating_to"] == 2)
        // Nothing happens until the next step.
        #expect(try await allEvents(b).count == before)
        // Again: idempotent.
        #expect(try await b.migrate(playbook: "default", toVersion: 2).campaigns == 1)

        _ = try await b.advanceClock(seconds: 60 * day)
        let after = try await allEvents(b).dropFirst(before)
        #expect(Array(after.prefix(2).map(\.type)) == ["campaign.migrated", "touchpoint.due"])
        #expect(after.first?.json["from_version"] == 1 && after.first?.json["to_version"] == 2)
        // Version 2 has two touchpoints: the campaign is done after its second.
        #expect(try await touches(b, "acme").count == 2)
        #expect(await b.status(accountId: "acme")?["status"] == "completed")
        #expect(await b.status(accountId: "acme")?["playbook"] == ["name": "default", "version": 2, "migrating_to": .null])
        let decisions = try #require(try await b.explain(accountId: "acme")?["decisions"]?.arrayValue)
        #expect(decisions.contains { $0["decision"] == "migrated" && $0["rule"] == "playbook_migration" })
        await b.shutdown()
    }

    @Test func migrateRefusesAnUnknownPlaybookOrVersion() async throws {
        let (a, _) = try await start(temporaryDatabasePath(), ["default": [:]])
        #expect(await a.submitLead(requestId: "l1", lead: lead("acme", colleagues: 0)).status == .accepted)
        await #expect(throws: AbmError.self) { try await a.migrate(playbook: "default", toVersion: 2) }
        do {
            _ = try await a.migrate(playbook: "upsell", toVersion: 1)
            Issue.record("an unknown playbook was accepted")
        } catch let e as AbmError {
            #expect(e.code == ErrorCode.notFound && e.field == "playbook")
        }
        do {
            _ = try await a.migrate(playbook: "default", toVersion: 2, accountId: "acme")
            Issue.record("an unknown version was accepted")
        } catch let e as AbmError {
            #expect(e.code == ErrorCode.invalidField && e.field == "to_version")
        }
        #expect(await a.status(accountId: "acme")?["playbook"]?["migrating_to"] == .null)
        await a.shutdown()
    }

    @Test func aLeadNamesItsPlaybookAndAnUnknownOneStoresNothing() async throws {
        let (a, _) = try await start(temporaryDatabasePath(), ["default": [:], "renewal": ["max_touchpoints": 1]])
        var renewal = lead("acme", colleagues: 0).objectValue!
        renewal["playbook"] = "renewal"
        #expect(await a.submitLead(requestId: "l1", lead: .object(renewal)).status == .accepted)
        var upsell = lead("beta", colleagues: 0).objectValue!
        upsell["playbook"] = "upsell"
        let refused = await a.submitLead(requestId: "l2", lead: .object(upsell))
        #expect(refused.status == .rejected && refused.error?.field == "lead.playbook")
        #expect(refused.error?.message.contains("renewal") == true)
        _ = try await a.advanceClock(seconds: 30 * day)
        #expect(await a.status(accountId: "acme")?["playbook"]?["name"] == "renewal")
        #expect(try await touches(a, "acme").count == 1)
        #expect(await a.status(accountId: "acme")?["status"] == "completed")
        #expect(await a.status(accountId: "beta") == nil)
        #expect(try await allEvents(a).allSatisfy { $0.accountId != "beta" })
        await a.shutdown()
    }

    @Test func aPlaybookNoLongerConfiguredRunsItsCampaignsButStartsNone() async throws {
        let path = temporaryDatabasePath()
        let (a, _) = try await start(path, ["default": [:], "renewal": ["max_touchpoints": 2]])
        var renewal = lead("acme", colleagues: 0).objectValue!
        renewal["playbook"] = "renewal"
        #expect(await a.submitLead(requestId: "l1", lead: .object(renewal)).status == .accepted)
        await a.settle()
        await a.shutdown()
        let (b, _) = try await start(path, ["default": [:]])
        renewal["account_id"] = "beta"
        renewal["email"] = "pat@beta.example"
        #expect(await b.submitLead(requestId: "l2", lead: .object(renewal)).error?.field == "lead.playbook")
        _ = try await b.advanceClock(seconds: 30 * day)
        #expect(try await touches(b, "acme").count == 2)
        let list = try await b.playbookList().arrayValue ?? []
        #expect(list.first { $0["name"] == "renewal" }?["accepts_leads"] == false)
        await b.shutdown()
    }

    @Test func anInvalidDefinitionIsRefusedNamingItAndRecordsNothing() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        do {
            _ = try await PlaybookRegistry.load(store: store, definitions: ["default": [:], "renewal": ["max_touchpoints": 0]])
            Issue.record("an invalid definition was accepted")
        } catch let e as AbmError {
            #expect(e.code == ErrorCode.invalidConfig && e.field == "playbooks.renewal")
            #expect(e.message.contains("max_touchpoints"))
        }
        #expect(try await store.meta("playbooks") == nil)
    }
}
