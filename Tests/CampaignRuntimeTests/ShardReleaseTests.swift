import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import Testing

@testable import CampaignRuntime

/// `release(shards:)` and `acquire(shards:)` of a runtime started without shards (cluster mode).
@Suite struct ShardReleaseTests {
    /// Two other accounts of `account`'s shard.
    private func neighbours(of account: String) -> [String] {
        let shard = accountShard(account)
        return Array((0..<100_000).lazy.map { "n-\($0)" }.filter { accountShard($0) == shard }.prefix(2))
    }

    @Test func releaseWaitsForTheTurnInFlightThenFreesTheLeaseAndAcquireReloadsTheTimers() async throws {
        let store = HoldingStore(InMemoryStore())
        let (runtime, _, _) = try await startRuntime(store) { $0.takesAllShardsAtStart = false; $0.owner = "me" }
        #expect(runtime.ownedShards.isEmpty)
        #expect(await runtime.submitLead(requestId: "early", lead: lead("acme")).error?.code == ErrorCode.notOwner)
        #expect(try await runtime.acquire(shards: Array(0..<shardCount)).count == shardCount)
        #expect(try await runtime.acquire(shards: [1, 2]).isEmpty)

        let shard = accountShard("acme")
        let neighbours = neighbours(of: "acme")
        let other = neighbours[0]
        #expect(await runtime.submitLead(requestId: "l1", lead: lead("acme")).status == .accepted)
        #expect(await runtime.submitLead(requestId: "l2", lead: lead(other)).status == .accepted)
        let otherDue = try #require(try await store.timer(accountId: other))

        // A turn of the shard is in flight (its commit held) when the release starts.
        store.holdNextSuppression()
        let unsubscribe = Task {
            await runtime.submitResponse(requestId: "u1", ResponseInput(accountId: "acme", contactEmail: "pat@acme.example",
                                                                        kind: .unsubscribe))
        }
        await store.waitUntilHeld()
        let release = Task { try await runtime.release(shards: [shard]) }
        // Draining: new work of the shard is refused at once (a bounded wait for the release task to begin).
        var spins = 0
        while runtime.env.ownership.owns(shard), spins < 100_000 {
            spins += 1
            await Task.yield()
        }
        #expect(!runtime.ownedShards.contains(shard))
        let refused = await runtime.submitLead(requestId: "l3", lead: lead(neighbours[1]))
        #expect(refused.error?.code == ErrorCode.notOwner)
        // ... while the lease is still held: the turn in flight writes under it.
        #expect(try await store.shardLeases()[shard] == ShardLease(owner: "me", epoch: 1))
        store.release()
        #expect(await unsubscribe.value.status == .accepted)
        #expect(try await release.value == [shard])
        #expect(try await store.shardLeases()[shard] == ShardLease(owner: ShardLease.free, epoch: 2))
        #expect(runtime.env.timers.dueAt(other) == nil)
        #expect(!runtime.coordinator.isResident("acme") && !runtime.coordinator.isResident(other))
        #expect(await runtime.submitLead(requestId: "l4", lead: lead(other)).error?.code == ErrorCode.notOwner)
        #expect(try await runtime.release(shards: [shard]).isEmpty)

        // Taken again: a new epoch, and the shard's timers are back in the index.
        #expect(try await runtime.acquire(shards: [shard]) == [shard])
        #expect(try await store.shardLeases()[shard] == ShardLease(owner: "me", epoch: 3))
        #expect(runtime.env.timers.dueAt(other) == otherDue)
        #expect(await runtime.submitLead(requestId: "l1", lead: lead("acme")).status == .duplicate)
        await runtime.shutdown()
    }
}
