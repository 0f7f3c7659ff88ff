import CampaignStore
import Foundation
import Testing

/// The campaign index (`AccountWrite.index`, `campaigns(_:)`, `campaignCounts()`), on every engine.
@Suite("Campaign index conformance")
struct CampaignIndexTests {
    private func entry(_ account: String, _ status: String, since: Double = 10) -> CampaignIndexEntry {
        CampaignIndexEntry(accountId: account, campaignId: "c-\(account)", status: status, startedAt: t(1.0004),
                           statusSince: t(since))
    }

    private func indexed(_ account: String, _ status: String, since: Double = 10) -> AccountWrite {
        var w = write(account, events: 0)
        w.index = entry(account, status, since: since)
        return w
    }

    @Test("rows are written with the commit, listed by account id, filtered and paged", arguments: StoreEngine.all)
    func listAndFilter(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            _ = try await store.commit([indexed("acme-2", "active"), indexed("acme-1", "paused"),
                                        indexed("beta", "active"), indexed("acme-é", "completed"),
                                        write("no-campaign", events: 0)])
            let all = try await store.campaigns(CampaignQuery())
            #expect(all.map(\.accountId) == ["acme-1", "acme-2", "acme-é", "beta"])
            #expect(all[0] == CampaignIndexEntry(accountId: "acme-1", campaignId: "c-acme-1", status: "paused",
                                                 startedAt: t(1), statusSince: t(10)))
            #expect(try await store.campaigns(CampaignQuery(status: "active")).map(\.accountId) == ["acme-2", "beta"])
            #expect(try await store.campaigns(CampaignQuery(accountPrefix: "acme-")).map(\.accountId)
                    == ["acme-1", "acme-2", "acme-é"])
            #expect(try await store.campaigns(CampaignQuery(accountPrefix: "acme-é")).map(\.accountId) == ["acme-é"])
            #expect(try await store.campaigns(CampaignQuery(accountPrefix: "ACME")).isEmpty)
            #expect(try await store.campaigns(CampaignQuery(status: "active", accountPrefix: "acme")).map(\.accountId)
                    == ["acme-2"])
            #expect(try await store.campaigns(CampaignQuery(accountIds: ["beta", "acme-1", "zzz"])).map(\.accountId)
                    == ["acme-1", "beta"])
            #expect(try await store.campaigns(CampaignQuery(accountIds: [])).isEmpty)
            // Keyset paging: each page starts after the previous page's last id.
            let first = try await store.campaigns(CampaignQuery(limit: 2))
            #expect(first.map(\.accountId) == ["acme-1", "acme-2"])
            let second = try await store.campaigns(CampaignQuery(after: first.last?.accountId, limit: 2))
            #expect(second.map(\.accountId) == ["acme-é", "beta"])
            #expect(try await store.campaigns(CampaignQuery(after: "beta", limit: 2)).isEmpty)
            #expect(try await store.campaignCounts() == ["active": 2, "paused": 1, "completed": 1])
        }
    }

    @Test("a later row replaces the account's; a write without one keeps it; a failed batch writes none",
          arguments: StoreEngine.all)
    func replaceAndAtomicity(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            _ = try await store.commit([indexed("a", "active")])
            _ = try await store.commit([write("a", events: 1)])
            #expect(try await store.campaigns(CampaignQuery()).map(\.status) == ["active"])
            _ = try await store.commit([indexed("a", "cancelled", since: 20)])
            #expect(try await store.campaigns(CampaignQuery()) == [entry("a", "cancelled", since: 20).rounded])
            var bad = indexed("b", "active")
            bad.events = [event("b", body: "[1]")]
            await expectStoreError("store.event_body_not_object") { _ = try await store.commit([indexed("c", "active"), bad]) }
            #expect(try await store.campaignCounts() == ["cancelled": 1])
        }
    }

    @Test("events(accountId:afterSeq:limit:) is one account's history in seq order", arguments: StoreEngine.all)
    func accountHistory(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            _ = try await store.commit([write("a", events: 2), write("b", events: 1), write("a", events: 2)])
            let history = try await store.events(accountId: "a", afterSeq: 0, limit: 10)
            #expect(history.map(\.seq) == [1, 2, 4, 5])
            #expect(history.allSatisfy { $0.accountId == "a" })
            #expect(try await store.events(accountId: "a", afterSeq: 2, limit: 1).map(\.seq) == [4])
            #expect(try await store.events(accountId: "nobody", afterSeq: 0, limit: 10).isEmpty)
        }
    }

    @Test("accounts(after:limit:) pages every stored account by id", arguments: StoreEngine.all)
    func accountsPaged(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            _ = try await store.commit(["c", "a", "b"].map { write($0, events: 0) } + [write("timer-only", state: nil, events: 0)])
            let page = try await store.accounts(after: nil, limit: 2)
            #expect(page.map(\.accountId) == ["a", "b"])
            #expect(page[0].version == 1)
            #expect(try await store.accounts(after: "b", limit: 2).map(\.accountId) == ["c"])
        }
    }
}

extension CampaignIndexEntry {
    /// As stored: dates to the millisecond.
    var rounded: CampaignIndexEntry {
        var e = self
        e.startedAt = Date(timeIntervalSince1970: (startedAt.timeIntervalSince1970 * 1000).rounded() / 1000)
        e.statusSince = Date(timeIntervalSince1970: (statusSince.timeIntervalSince1970 * 1000).rounded() / 1000)
        return e
    }
}
