import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import Testing

@testable import CampaignRuntime

@Suite struct ConcurrencyTests {
    @Test(arguments: StoreKind.allCases)
    func concurrentDuplicateIdsApplyOnce(kind: StoreKind) async throws {
        let (runtime, _, _) = try await startRuntime(try kind.make())
        let acks = await withTaskGroup(of: Ack.self) { group in
            for _ in 0..<25 {
                group.addTask { await runtime.submitLead(requestId: "same", lead: lead("acme")) }
            }
            var out: [Ack] = []
            for await a in group { out.append(a) }
            return out
        }
        #expect(acks.filter { $0.status == .accepted }.count == 1)
        #expect(acks.filter { $0.status == .duplicate }.count == 24)
        #expect(Set(acks.map(\.campaignId)).count == 1)
        // Later, a repeat with a different body still gets the original ack.
        let later = await runtime.submitLead(requestId: "same", lead: lead("other"))
        #expect(later.status == .duplicate)
        #expect(later.campaignId == acks[0].campaignId)
        await runtime.settle()
        let events = try await allEvents(runtime)
        #expect(events.filter { $0.type == "campaign.started" }.count == 1)
        #expect(await runtime.status(accountId: "other") == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func inputsToOneAccountAreSerialisedWithoutLostUpdates(kind: StoreKind) async throws {
        let (runtime, _, _) = try await startRuntime(try kind.make())
        #expect(await runtime.submitLead(requestId: "first", lead: lead("acme", colleagues: 1)).status == .accepted)
        // 30 concurrent leads for the same account, each bringing one new colleague, interleaved with
        // leads for other accounts.
        let acks = await withTaskGroup(of: Ack.self) { group in
            for i in 0..<30 {
                group.addTask {
                    await runtime.submitLead(requestId: "m\(i)", lead: lead("acme", colleagues: 0, extra: ["x\(i)@acme.example"]))
                }
                group.addTask { await runtime.submitLead(requestId: "o\(i)", lead: lead("other\(i)")) }
            }
            var out: [Ack] = []
            for await a in group { out.append(a) }
            return out
        }
        #expect(acks.allSatisfy { $0.status == .accepted })
        await runtime.settle()
        let events = try await allEvents(runtime).filter { $0.accountId == "acme" }
        #expect(events.filter { $0.type == "campaign.started" }.count == 1)
        let added = Set(events.filter { $0.type == "contact.added" }.compactMap { $0.json["email"]?.stringValue })
        for i in 0..<30 { #expect(added.contains("x\(i)@acme.example")) }
        let status = await runtime.status(accountId: "acme")
        #expect(status?["contacts"]?.arrayValue?.count == 32)  // primary + 1 colleague + 30
        // Per-account event order is commit order.
        #expect(events.map(\.seq) == events.map(\.seq).sorted())
    }

    @Test func aResponsePausesAtOnceAndNothingIsEmittedUntilResume() async throws {
        let (runtime, _, _) = try await startRuntime(InMemoryStore())
        _ = await runtime.submitLead(requestId: "r1", lead: lead("acme"))
        _ = try await runtime.advanceClock(seconds: 3 * day)
        let ack = await runtime.submitResponse(requestId: "r2", ResponseInput(accountId: "acme", contactEmail: "pat@acme.example", kind: .reply))
        #expect(ack.status == .accepted)
        let before = try await allEvents(runtime).filter { $0.type == "touchpoint.due" }.count
        _ = try await runtime.advanceClock(seconds: 20 * day)
        let after = try await allEvents(runtime)
        #expect(after.filter { $0.type == "touchpoint.due" }.count == before)
        #expect(await runtime.status(accountId: "acme")?["status"] == "paused")
        let resumed = await runtime.command(requestId: "c1", accountId: "acme", .resume)
        #expect(resumed.campaign?["status"] == "active")
        _ = try await runtime.advanceClock(seconds: 60 * day)
        #expect(try await allEvents(runtime).filter { $0.type == "touchpoint.due" }.count > before)
    }

    @Test(arguments: StoreKind.allCases)
    func suppressionCrossesAccounts(kind: StoreKind) async throws {
        let (runtime, _, _) = try await startRuntime(try kind.make())
        let shared = "shared@partner.example"
        _ = await runtime.submitLead(requestId: "a", lead: lead("alpha", colleagues: 1, extra: [shared]))
        _ = await runtime.submitLead(requestId: "b", lead: lead("beta", colleagues: 1, extra: [shared]))
        let unsub = await runtime.submitResponse(requestId: "u", ResponseInput(accountId: "alpha", contactEmail: shared, kind: .unsubscribe))
        #expect(unsub.status == .accepted)
        // An unsubscribe through an account without a campaign is global too.
        let ghost = "nobody@ghost.example"
        #expect(await runtime.submitResponse(requestId: "g", ResponseInput(accountId: "ghost", contactEmail: ghost, kind: .unsubscribe)).status == .accepted)
        _ = await runtime.submitLead(requestId: "c", lead: lead("gamma", colleagues: 1, extra: [ghost]))
        _ = try await runtime.advanceClock(seconds: 60 * day)
        let touches = try await allEvents(runtime).filter { $0.type == "touchpoint.due" }
        #expect(!touches.contains { $0.contactEmail == shared })
        #expect(!touches.contains { $0.contactEmail == ghost })
        #expect(touches.contains { $0.accountId == "beta" })
        #expect(touches.contains { $0.accountId == "gamma" })
    }

    @Test func passivationIsInvisibleInBehaviour() async throws {
        func run(cap: Int?) async throws -> ([String: [String]], RuntimeStatistics) {
            let (runtime, _, _) = try await startRuntime(try SQLiteStore(path: temporaryDatabasePath())) {
                $0.maxResidentCampaigns = cap
            }
            for i in 0..<12 {
                _ = await runtime.submitLead(requestId: "l\(i)", lead: lead("acct\(i)", colleagues: 2))
                _ = try await runtime.advanceClock(seconds: 3600 * Double(i % 3))
            }
            _ = await runtime.submitResponse(requestId: "r", ResponseInput(accountId: "acct3", contactEmail: "c1@acct3.example", kind: .outOfOffice))
            _ = await runtime.command(requestId: "p", accountId: "acct5", .pause(reason: "manual"))
            _ = try await runtime.advanceClock(seconds: 10 * day)
            _ = await runtime.command(requestId: "q", accountId: "acct5", .resume)
            _ = try await runtime.advanceClock(seconds: 50 * day)
            let events = try await allEvents(runtime)
            let stats = await runtime.statistics()
            await runtime.shutdown()
            return (behaviour(events), stats)
        }
        let (resident, residentStats) = try await run(cap: nil)
        let (passivated, passivatedStats) = try await run(cap: 1)
        #expect(resident == passivated)
        #expect(resident.values.reduce(0) { $0 + $1.count } > 100)
        #expect(residentStats.passivations == 0)
        #expect(passivatedStats.passivations > 50)
        #expect(passivatedStats.residentCampaigns <= 1)
    }
}

@Suite struct IdlePassivationTests {
    /// After a burst, campaigns with no turn for a whole sweep interval leave memory; one in use stays, and a
    /// passivated one comes back from the store on its next request or timer.
    @Test func idleCampaignsArePassivatedAfterABurst() async throws {
        let (runtime, _, _) = try await startRuntime(InMemoryStore()) { $0.idleSweepInterval = nil }
        for i in 0..<50 { _ = await runtime.submitLead(requestId: "l\(i)", lead: lead("acct\(i)")) }
        #expect(await runtime.statistics().residentCampaigns == 50)
        #expect(runtime.sweepIdleCampaigns() == 0)  // used since the previous sweep
        _ = await runtime.submitResponse(requestId: "r", ResponseInput(accountId: "acct7", contactEmail: "pat@acct7.example", kind: .reply))
        #expect(runtime.sweepIdleCampaigns() == 49)
        #expect(await runtime.statistics().residentCampaigns == 1)
        #expect(await runtime.status(accountId: "acct7")?["status"] == "paused")
        _ = try await runtime.advanceClock(seconds: 60 * day)
        let touches = try await allEvents(runtime).filter { $0.type == "touchpoint.due" }
        #expect(touches.count == 49 * 7 + 1)
    }
}
