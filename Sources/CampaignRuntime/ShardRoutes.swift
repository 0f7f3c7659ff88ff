import CampaignStore
import NIOConcurrencyHelpers

/// Where to forward the requests of shards this node does not own: the internal ROUTER endpoint (`abm serve
/// --peer`) of each shard's live owner, as the last placement round read it (`ClusterMember`). A shard owned
/// here, free, or owned by a node without a peer endpoint has no route: its requests are answered locally
/// (`not_owner` when not owned). A route may be one round stale: the node it names then answers `not_owner`,
/// which reaches the client like any other refusal.
public final class ShardRoutes: Sendable {
    private let endpoints = NIOLockedValueBox([String?](repeating: nil, count: shardCount))
    private let changes = NIOLockedValueBox(0)

    /// How many times the table changed: a request's route may differ from an earlier one's of its account only
    /// across a change (the gateway orders acks across it).
    public var version: Int { changes.withLockedValue { $0 } }

    public init() {}

    /// The endpoint to forward a request about `accountId` to, or nil (answer it here).
    public func endpoint(forAccount accountId: String) -> String? {
        let shard = accountShard(accountId)
        return endpoints.withLockedValue { $0[shard] }
    }

    /// Replaces the table: each shard of `owners` held by another node than `selfNode`, routed to that node's
    /// endpoint in `peers`.
    public func update(owners: [Int: String], peers: [String: String], selfNode: String) {
        var table = [String?](repeating: nil, count: shardCount)
        for (shard, owner) in owners where owner != selfNode && table.indices.contains(shard) {
            table[shard] = peers[owner]
        }
        let changed = endpoints.withLockedValue { current -> Bool in
            defer { current = table }
            return current != table
        }
        if changed { changes.withLockedValue { $0 += 1 } }
    }

    /// The endpoint of each shard (nil: served here, free, or owned by a node without a peer endpoint).
    public var table: [String?] { endpoints.withLockedValue { $0 } }

    /// The distinct endpoints routed to now (the peers a forwarder keeps connections to).
    public var peerEndpoints: Set<String> {
        endpoints.withLockedValue { Set($0.compactMap { $0 }) }
    }
}
