import CampaignStore
import Foundation
import Logging

/// One node's share of the cluster's shards, kept in step with the live nodes (`ShardPlacement`).
///
/// Each round reads the live nodes and the live leases, then releases what this node should give up (at most
/// `maxReleases`) and acquires the free shards it should own. Rounds every 500 ms by default: a peer that
/// leaves gracefully (releases, then `leaveCluster`) has its shards taken at the next round, within 1 s;
/// a killed peer's become free when its liveness row expires (TTL 10 s), so within ~10.5 s.
/// docs/operations.md "On PostgreSQL".
public final class ClusterMember: Sendable {
    public let runtime: CampaignRuntime
    public let directory: any ClusterDirectory
    public let nodeId: String
    public let maxReleases: Int
    /// Updated every round when given: where the requests of shards owned by peers are forwarded.
    public let routes: ShardRoutes?
    let logger: Logger

    /// - Parameter nodeId: this node's id in the directory; the runtime's shard owner (`RuntimeConfiguration.owner`).
    public init(runtime: CampaignRuntime, directory: any ClusterDirectory, nodeId: String,
                maxReleases: Int = ShardPlacement.defaultMaxReleases, routes: ShardRoutes? = nil,
                logger: Logger = Logger(label: "abm.cluster")) {
        self.runtime = runtime
        self.directory = directory
        self.nodeId = nodeId
        self.maxReleases = maxReleases
        self.routes = routes
        self.logger = logger
    }

    /// One placement round: reads, releases, acquires. Returns the moves made (releases first).
    @discardableResult
    public func round() async throws -> ShardPlacement.Moves {
        let nodes = try await directory.liveNodeIds()
        let owners = try await directory.liveShardOwners()
        if let routes {
            routes.update(owners: owners, peers: try await directory.livePeerEndpoints(), selfNode: nodeId)
        }
        let placement = ShardPlacement(liveNodes: nodes)
        var moves = placement.moves(for: nodeId, holders: owners.mapValues { .node($0) }, maxReleases: maxReleases)
        // A release the store refused earlier is finished first (its shards serve nobody meanwhile).
        let retry = runtime.drainingShards.filter { !moves.release.contains($0) }
        moves.release += retry
        moves.acquire.removeAll(where: retry.contains)
        if !moves.release.isEmpty { moves.release = try await runtime.release(shards: moves.release) }
        if !moves.acquire.isEmpty { moves.acquire = try await runtime.acquire(shards: moves.acquire) }
        return moves
    }

    /// Rounds every `interval` (wall clock: placement follows real liveness, not a virtual campaign clock)
    /// until cancelled. A failed round is logged and the next one tries again.
    public func run(every interval: Duration = .milliseconds(500)) async {
        while !Task.isCancelled {
            do {
                let moves = try await round()
                if !moves.isEmpty {
                    logger.info("shards placed", metadata: [
                        "released": "\(moves.release.count)", "acquired": "\(moves.acquire.count)",
                        "owned": "\(runtime.ownedShards.count)",
                    ])
                }
            } catch {
                logger.warning("placement round failed", metadata: ["error": "\(error)"])
            }
            guard (try? await Task.sleep(for: interval)) != nil else { return }
        }
    }

    /// Gives every shard up (a graceful stop): the node's last writes are done when this returns; leave the
    /// cluster next, so that peers need not wait for the liveness TTL.
    @discardableResult
    public func releaseAll() async throws -> [Int] {
        try await runtime.release(shards: Array(0..<shardCount))
    }
}
