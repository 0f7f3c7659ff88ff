import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import Testing

@testable import CampaignRuntime

@Suite struct FencingTests {
    /// A cluster node whose liveness lease ran out by its own clock (a pause past the TTL) publishes nothing from
    /// the shared log — not even what it committed itself before the pause — until a renewal succeeds.
    @Test func aNodeWhoseLivenessLeaseRanOutPublishesNothing() async throws {
        let lease = LivenessLease(ttl: .seconds(10))
        // The last renewal was sent 11 s ago: the row may have expired, peers may own the shards.
        lease.renewed(sentAt: ContinuousClock.now.advanced(by: .seconds(-11)))
        #expect(!lease.isValid)
        let store = InMemoryStore()
        let (runtime, _, publisher) = try await startRuntime(store) {
            $0.eventFeed = .storeLog(pollInterval: .milliseconds(5))
            $0.liveness = lease
        }
        #expect(await runtime.submitLead(requestId: "l1", lead: lead("acme")).status == .accepted)
        await runtime.flushOutbox()
        #expect(try await store.lastSeq() > 0)
        #expect(await publisher.events.isEmpty, "published with its lease run out")
        // A response is acknowledged only once the events before it are published: with the lease out it is
        // stored but refused (resend the same id), never acknowledged ahead of them.
        let response = await runtime.submitResponse(requestId: "r1", ResponseInput(accountId: "acme", contactEmail: "pat@acme.example", kind: .reply))
        #expect(response.status == .rejected && response.error?.code == ErrorCode.unavailable, "\(response)")
        #expect(await publisher.events.isEmpty)

        lease.renewed(sentAt: .now)
        #expect(lease.isValid)
        #expect(await runtime.submitLead(requestId: "l2", lead: lead("globex")).status == .accepted)
        await runtime.flushOutbox()
        let resent = await runtime.submitResponse(requestId: "r1", ResponseInput(accountId: "acme", contactEmail: "pat@acme.example", kind: .reply))
        #expect(resent.status == .duplicate, "\(resent)")
        await runtime.flushOutbox()
        #expect(await publisher.seqs == Array(1...(try await store.lastSeq())), "renewed: the whole log, in order")
        await runtime.shutdown()
    }

    /// Two runtimes on one SQLite file (what the data directory lock prevents for `abm serve`, and what a
    /// cluster does by design): the second takes every shard over; the first, fenced, writes nothing more —
    /// no request, no timer turn, not even its clock — and the second runs the campaigns alone.
    @Test func aFencedOwnerWritesNothing() async throws {
        let path = temporaryDatabasePath()
        let (a, _, publisherA) = try await startRuntime(try SQLiteStore(path: path)) { $0.owner = "a" }
        for i in 0..<10 {
            #expect(await a.submitLead(requestId: "l\(i)", lead: lead("acct\(i)")).status == .accepted)
        }
        await a.settle()
        let inspector = try SQLiteStore(path: path)
        let beforeTakeover = try await inspector.lastSeq()

        let (b, _, _) = try await startRuntime(try SQLiteStore(path: path)) { $0.owner = "b" }
        let clockBefore = try await inspector.meta(CampaignRuntime.clockMetaKey)
        #expect(Set(try await inspector.shardLeases().values.map(\.owner)) == ["b"])
        let publishedBefore = await publisherA.events.count

        // The old owner: its first write is refused by the store, then it refuses up front.
        let first = await a.submitLead(requestId: "late-1", lead: lead("late1"))
        #expect(first.error?.code == "not_owner")
        let second = await a.submitResponse(requestId: "late-2", ResponseInput(accountId: "acct3", contactEmail: "pat@acct3.example", kind: .reply))
        #expect(second.error?.code == "not_owner")
        // Its timers (every account's next touch) come due: none is written.
        _ = try await a.advanceClock(seconds: 30 * day)
        #expect(try await inspector.lastSeq() == beforeTakeover)
        #expect(try await inspector.meta(CampaignRuntime.clockMetaKey) == clockBefore)
        #expect(await publisherA.events.count == publishedBefore)
        #expect(a.parkedAccounts.isEmpty, "a fenced write is not a campaign failure")

        // The new owner runs every campaign to its end, each touch once.
        _ = try await b.advanceClock(seconds: 60 * day)
        let all = try await allEvents(b)
        let ids = all.compactMap(\.touchpointId)
        #expect(ids.count == Set(ids).count)
        for i in 0..<10 {
            #expect(all.filter { $0.accountId == "acct\(i)" && $0.type == "touchpoint.due" }.count == 7)
        }
        await b.shutdown()
        await a.shutdown()
        #expect(try await inspector.lastSeq() == all.last?.seq)
    }
}

