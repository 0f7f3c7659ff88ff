import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import Testing

@testable import CampaignRuntime

/// `campaigns(_:)` and `campaignStats()`: the campaign index kept by the commits, joined with parked
/// campaigns and residency.
@Suite struct ListingTests {
    @Test("lists by status, prefix and parked, paged; index rows follow status changes", arguments: StoreKind.allCases)
    func listsAndFilters(kind: StoreKind) async throws {
        let store = FaultyStore(try kind.make())
        let (runtime, clock, _) = try await startRuntime(store)
        for name in ["acme-1", "acme-2", "beta", "gamma"] {
            #expect(await runtime.submitLead(requestId: name, lead: lead(name)).status == .accepted)
        }
        clock.move(to: monday9.addingTimeInterval(60))
        #expect(await runtime.command(requestId: "p", accountId: "acme-2", .pause(reason: "check")).ok)
        #expect(await runtime.command(requestId: "c", accountId: "gamma", .cancel).ok)

        let all = try await runtime.campaigns(CampaignFilter())
        #expect(all.items.map(\.accountId) == ["acme-1", "acme-2", "beta", "gamma"])
        #expect(all.items.map(\.status) == [.active, .paused, .active, .cancelled])
        #expect(all.next == nil)
        #expect(all.items[1].statusSince == monday9.addingTimeInterval(60))
        #expect(all.items[0].startedAt == monday9)
        #expect(all.items[0].campaignId.isEmpty == false)

        #expect(try await runtime.campaigns(CampaignFilter(status: .active)).items.map(\.accountId) == ["acme-1", "beta"])
        #expect(try await runtime.campaigns(CampaignFilter(accountPrefix: "acme")).items.map(\.accountId) == ["acme-1", "acme-2"])
        let page1 = try await runtime.campaigns(CampaignFilter(limit: 3))
        #expect(page1.items.map(\.accountId) == ["acme-1", "acme-2", "beta"])
        #expect(page1.next == "beta")
        let page2 = try await runtime.campaigns(CampaignFilter(after: page1.next, limit: 3))
        #expect(page2.items.map(\.accountId) == ["gamma"])
        #expect(page2.next == nil)

        // Parked: three failed requests in a row (maxFailures 3).
        store.fail("beta")
        for k in 0..<3 {
            _ = await runtime.submitResponse(requestId: "r\(k)", ResponseInput(accountId: "beta", contactEmail: "x@beta.example", kind: .negative))
        }
        #expect(runtime.parkedAccounts == ["beta"])
        let parked = try await runtime.campaigns(CampaignFilter(parked: true))
        #expect(parked.items.map(\.accountId) == ["beta"])
        #expect(parked.items.first?.parked == true)
        let notParked = try await runtime.campaigns(CampaignFilter(parked: false, limit: 2))
        #expect(notParked.items.map(\.accountId) == ["acme-1", "acme-2"])
        #expect(try await runtime.campaigns(CampaignFilter(parked: false, after: notParked.next)).items.map(\.accountId) == ["gamma"])

        var stats = try await runtime.campaignStats()
        #expect(stats.byStatus == [.active: 2, .paused: 1, .completed: 0, .cancelled: 1])
        #expect(stats.total == 4)
        #expect(stats.parked == 1)

        // Two parked: paged in account order, filtered by prefix.
        store.fail("acme-1")
        for k in 0..<3 {
            _ = await runtime.submitResponse(requestId: "a\(k)", ResponseInput(accountId: "acme-1", contactEmail: "x@acme-1.example", kind: .negative))
        }
        let firstParked = try await runtime.campaigns(CampaignFilter(parked: true, limit: 1))
        #expect(firstParked.items.map(\.accountId) == ["acme-1"])
        #expect(firstParked.next == "acme-1")
        let secondParked = try await runtime.campaigns(CampaignFilter(parked: true, after: firstParked.next, limit: 1))
        #expect(secondParked.items.map(\.accountId) == ["beta"])
        #expect(secondParked.next == nil)
        #expect(try await runtime.campaigns(CampaignFilter(parked: true, accountPrefix: "b")).items.map(\.accountId) == ["beta"])
        #expect(try await runtime.campaigns(CampaignFilter(status: .paused, parked: true)).items.isEmpty)
        store.heal("acme-1")
        #expect(await runtime.retry(accountId: "acme-1"))
        stats = try await runtime.campaignStats()
        #expect(stats.parked == 1)
        #expect(stats.timersPending == 2, "acme-1 and beta; the paused and the cancelled have none")
        #expect(stats.timersOverdue == 0)
        #expect(stats.resident + stats.passivated == 4)
        // Overdue: due and not fired. With the scheduler stopped, moving the clock fires nothing.
        await runtime.shutdown()
        clock.move(to: monday9.addingTimeInterval(30 * day))
        #expect(try await runtime.campaignStats().timersOverdue == 2)
    }

    @Test("a limit outside 1...1000 is refused with invalid_field naming limit")
    func badLimit() async throws {
        let (runtime, _, _) = try await startRuntime(InMemoryStore())
        for limit in [0, 1001] {
            await #expect(throws: AbmError.self) { try await runtime.campaigns(CampaignFilter(limit: limit)) }
            do { _ = try await runtime.campaigns(CampaignFilter(limit: limit)) } catch let e as AbmError {
                #expect(e.code == ErrorCode.invalidField)
                #expect(e.field == "limit")
            }
        }
        await runtime.shutdown()
    }

    @Test("a store written before the index gets it built at start, once")
    func indexBuiltForOldStore() async throws {
        let store = InMemoryStore()
        let (first, _, _) = try await startRuntime(store)
        for name in ["a", "b"] { #expect(await first.submitLead(requestId: name, lead: lead(name)).status == .accepted) }
        #expect(await first.command(requestId: "p", accountId: "b", .pause(reason: nil)).ok)
        await first.shutdown()
        // The index as an older build left it: no rows, no marker.
        let old = InMemoryStore()
        var writes: [AccountWrite] = []
        for account in try await store.accounts(after: nil, limit: 10) {
            writes.append(AccountWrite(accountId: account.accountId, state: account.state))
        }
        _ = try await old.commit(writes)
        #expect(try await old.campaigns(CampaignQuery()).isEmpty)
        let (second, _, _) = try await startRuntime(old)
        let listed = try await second.campaigns(CampaignFilter())
        #expect(listed.items.map(\.accountId) == ["a", "b"])
        #expect(listed.items.map(\.status) == [.active, .paused])
        #expect(try await old.meta(CampaignRuntime.campaignIndexMetaKey) == "1")
        await second.shutdown()
    }
}

@Suite struct ReadinessTests {
    @Test("ready once started; not before, not when the store refuses writes, not after shutdown")
    func readiness() async throws {
        let store = FaultyStore(InMemoryStore())
        var config = RuntimeConfiguration(maxFailures: 3)
        config.logger.logLevel = .critical
        let runtime = CampaignRuntime(store: store, clock: ManualClock(start: monday9), publisher: RecordingPublisher(),
                                      configuration: config)
        #expect(await runtime.readiness() == .notReady("starting: recovery not finished"))
        try await runtime.start()
        #expect(await runtime.readiness() == .ready)
        #expect(try await store.meta(CampaignRuntime.readinessMetaKey) != nil)
        store.kill()
        guard case .notReady(let why) = await runtime.readiness() else { Issue.record("ready with a dead store"); return }
        #expect(why.contains("refused a write"))
        await runtime.shutdown()
        #expect(await runtime.readiness() == .notReady("stopping"))
    }

    @Test("history is one account's events in seq order")
    func history() async throws {
        let (runtime, _, _) = try await startRuntime(InMemoryStore())
        for name in ["a", "b"] { #expect(await runtime.submitLead(requestId: name, lead: lead(name)).status == .accepted) }
        _ = try await runtime.advanceClock(seconds: 3 * day)
        let events = try await runtime.history(accountId: "a")
        #expect(!events.isEmpty)
        #expect(events.allSatisfy { $0.accountId == "a" })
        #expect(events.map(\.seq) == events.map(\.seq).sorted())
        #expect(events.contains { $0.type == "touchpoint.due" })
        #expect(try await runtime.history(accountId: "a", limit: 2).count == 2)
        await runtime.shutdown()
    }
}
