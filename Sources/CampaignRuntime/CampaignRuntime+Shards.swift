import CampaignStore
import Foundation

/// Per-shard ownership in a cluster (`RuntimeConfiguration.takesAllShardsAtStart` false): a `ClusterMember`
/// moves shards in and out of this runtime while it serves the others.
extension CampaignRuntime {
    /// Takes those of `shards` that are free in the store (`acquireFreeShards`) and not held here, then loads
    /// their pending timers (overdue ones fire at once, late). Returns the shards taken.
    @discardableResult
    public func acquire(shards: [Int]) async throws -> [Int] {
        let held = Set(env.ownership.held)
        let wanted = Set(shards).subtracting(held).filter { (0..<shardCount).contains($0) }
        guard !wanted.isEmpty else { return [] }
        // Campaigns of a shard lost earlier (fenced) may still be resident, with a state someone else changed since.
        await coordinator.drain(shards: wanted)
        let leases = try await store.acquireFreeShards(wanted.sorted(), owner: owner)
        guard !leases.isEmpty else { return [] }
        let taken = leases.keys.sorted()
        // Timers are read after the lease is ours (the previous owner's late writes are fenced by the new epoch)
        // and loaded before the shard takes requests, so that no timer a request sets is overwritten by this read.
        let loaded: Int
        do {
            loaded = try await loadTimers { after in try await self.store.timers(inShards: taken, after: after, limit: 10_000) }
        } catch {
            env.timers.dropShards(Set(taken))
            _ = try? await store.releaseShards(leases, owner: owner)
            throw error
        }
        env.ownership.acquired(leases)
        env.wake()
        logger.info("shards acquired", metadata: [
            "shards": "\(taken.count)", "timers": "\(loaded)", "shards_owned": "\(env.ownership.ownedCount)",
        ])
        return taken
    }

    /// Gives `shards` up: they take no new work from now on (their requests get `not_owner`, their timers stop
    /// firing), the turns already running finish and commit, their resident campaigns are passivated, then the
    /// leases are freed in the store (epoch bumped) for another node to take. Returns the shards released; a
    /// shard not held is ignored. When the store cannot be written the shards stay draining and a later call
    /// releases them (`drainingShards`).
    @discardableResult
    public func release(shards: [Int]) async throws -> [Int] {
        let leases = env.ownership.beginRelease(shards)
        guard !leases.isEmpty else { return [] }
        let draining = Set(leases.keys)
        env.timers.dropShards(draining)
        await coordinator.drain(shards: draining)
        let released = try await store.releaseShards(leases, owner: owner)
        // A shard not released was taken over meanwhile: not this process's either way.
        for shard in draining { env.ownership.lose(shard) }
        logger.info("shards released", metadata: [
            "shards": "\(released.count)", "shards_owned": "\(env.ownership.ownedCount)",
        ])
        return released
    }

    /// The shards this runtime takes work for.
    public var ownedShards: [Int] { env.ownership.owned }

    /// Whether this runtime serves `accountId` now (its shard is owned and not being released).
    public func servesAccount(_ accountId: String) -> Bool { owns(accountId) }

    /// Shards whose release could not finish (the store refused): `release(shards:)` them again.
    var drainingShards: [Int] { env.ownership.draining }

    /// Loads timer pages read by `page` (keyset after the last one) into the index; returns how many.
    func loadTimers(_ page: (DueTimer?) async throws -> [DueTimer]) async throws -> Int {
        var loaded = 0
        var after: DueTimer? = nil
        while true {
            let timers = try await page(after)
            guard let last = timers.last else { break }
            env.timers.load(timers.map { ($0.accountId, $0.dueAt) })
            loaded += timers.count
            after = last
        }
        return loaded
    }
}
