import CampaignStore
import Foundation
import Logging
import PostgresNIO

/// A process's identity in the shared store: its node id and the incarnation it joined under.
public struct NodeIdentity: Sendable, Equatable {
    public var nodeId: String
    /// 1 on the first join of this node id, +1 on each later one (a restart, or a rejoin after losing liveness).
    public var incarnation: Int64

    public init(nodeId: String, incarnation: Int64) {
        self.nodeId = nodeId
        self.incarnation = incarnation
    }
}

/// Liveness timing (the values of laminardb PR #526; docs/operations.md "On PostgreSQL").
public struct LivenessConfiguration: Sendable, Equatable {
    /// How long a renewal keeps the node live, on the database clock (default 10 s).
    public var ttl: Duration
    /// How often the node renews (default 2 s): a renewal may fail four times before the row expires.
    public var heartbeat: Duration

    public init(ttl: Duration = .seconds(10), heartbeat: Duration = .seconds(2)) {
        self.ttl = ttl
        self.heartbeat = heartbeat
    }
}

/// Node liveness rows (`cluster_nodes`), on the database clock only: every expiry is compared with PostgreSQL's
/// `now()`, never with a node's own clock (Quartz and Oban's clock-skew failures, scale-out.md §1.2–1.3).
/// A shard lease lives as long as the liveness row of the incarnation that took it; a dead node's shards can
/// then be taken over (`acquireFreeShards`), and the takeover's epoch bump fences whatever the dead node still
/// had in flight.
extension PostgresStore {
    /// Joins as `nodeId` for `ttl`: a new incarnation when the node id has no row or its row expired.
    /// Leases taken by this store afterwards (`acquireShards`, `acquireFreeShards`) are tied to the row.
    /// - Throws: `store.node_in_use` when a live process already holds `nodeId`.
    public func joinCluster(nodeId: String, ttl: Duration) async throws -> NodeIdentity {
        let seconds = Self.seconds(ttl)
        let joined: Int64? = try await write { connection, logger in
            let rows = try await connection.query("""
                INSERT INTO cluster_nodes(node_id, incarnation, started_at, expires_at)
                VALUES (\(nodeId), 1, now(), now() + make_interval(secs => \(seconds)))
                ON CONFLICT (node_id) DO UPDATE SET incarnation = cluster_nodes.incarnation + 1, started_at = now(),
                  expires_at = excluded.expires_at, peer_endpoint = NULL
                WHERE cluster_nodes.expires_at <= now()
                RETURNING incarnation
                """, logger: logger).decode(Int64.self)
            return try await rows.all().first
        }
        guard let joined else {
            throw StoreError(code: StoreError.nodeInUseCode,
                             message: "node id '\(nodeId)' is held by a live process (its liveness row has not expired)")
        }
        let identity = NodeIdentity(nodeId: nodeId, incarnation: joined)
        setIdentity(identity)
        return identity
    }

    /// Renews the row for `ttl` from the database's now. False when it had expired or belongs to another
    /// incarnation: the node lost its liveness, and with it every lease (peers may have taken them over).
    public func renewLiveness(_ node: NodeIdentity, ttl: Duration) async throws -> Bool {
        let seconds = Self.seconds(ttl)
        return try await write { connection, logger in
            let rows = try await connection.query("""
                UPDATE cluster_nodes SET expires_at = now() + make_interval(secs => \(seconds))
                WHERE node_id = \(node.nodeId) AND incarnation = \(node.incarnation) AND expires_at > now()
                RETURNING 1
                """, logger: logger)
            return try await !rows.all().isEmpty
        }
    }

    /// Leaves at once: the row expires now, so peers may take this node's shards without waiting for the TTL.
    /// Call after the node's last write.
    public func leaveCluster(_ node: NodeIdentity) async throws {
        try await write { connection, logger in
            _ = try await connection.query("""
                UPDATE cluster_nodes SET expires_at = now() WHERE node_id = \(node.nodeId) AND incarnation = \(node.incarnation)
                """, logger: logger)
        }
    }

    /// Records the endpoint of this node's internal ROUTER (`abm serve --peer`) in its liveness row, where peers
    /// read it (`livePeerEndpoints`) to forward the requests of this node's shards.
    public func advertisePeerEndpoint(_ endpoint: String, node: NodeIdentity) async throws {
        try await write { connection, logger in
            _ = try await connection.query("""
                UPDATE cluster_nodes SET peer_endpoint = \(endpoint)
                WHERE node_id = \(node.nodeId) AND incarnation = \(node.incarnation)
                """, logger: logger)
        }
    }

    /// The node ids whose rows are live now (database clock), with their incarnations.
    public func liveNodes() async throws -> [NodeIdentity] {
        try await read { connection, logger in
            try await connection.query(
                "SELECT node_id, incarnation FROM cluster_nodes WHERE expires_at > now() ORDER BY node_id", logger: logger)
                .decode((String, Int64).self).all().map { NodeIdentity(nodeId: $0.0, incarnation: $0.1) }
        }
    }

    /// Takes over those of `shards` that are free: never leased, or leased by an owner whose liveness row (of the
    /// incarnation that took the lease) is gone or expired. Each one's epoch is bumped and recorded in
    /// `lease_history`; shards held by a live owner, this node included, are left as they are. One statement per
    /// kind of row, in one transaction: a concurrent acquirer re-reads a row after waiting for it and then sees
    /// a live owner. The update waits for in-flight fenced batches of the previous owner (their `FOR SHARE`),
    /// at most `lock_timeout` (1 s), after which the whole call fails and may be retried.
    /// - Returns: the shards acquired, with their new epochs.
    public func acquireFreeShards(_ shards: [Int], node: NodeIdentity) async throws -> [Int: Int64] {
        try await takeFreeShards(shards, owner: node.nodeId, incarnation: node.incarnation)
    }

    /// `acquireFreeShards(_:node:)` for `owner`; with no incarnation (not joined as `owner`) the leases taken are
    /// tied to no liveness row, i.e. free for any other node at once.
    func takeFreeShards(_ shards: [Int], owner: String, incarnation: Int64?) async throws -> [Int: Int64] {
        let wanted = Set(shards).sorted()
        guard !wanted.isEmpty else { try checkOpen(); return [:] }
        let epochs = try await write { connection, logger in
            _ = try await connection.query("SET LOCAL lock_timeout = '1s'", logger: logger)
            let rows = try await connection.query("""
                WITH fresh AS (
                  INSERT INTO shard_leases(shard, owner, owner_incarnation, epoch, acquired_at)
                  SELECT s, \(owner), \(incarnation)::int8, 1, now() FROM unnest(\(wanted)::int8[]) AS s ORDER BY s
                  ON CONFLICT (shard) DO NOTHING
                  RETURNING shard, epoch),
                taken AS (
                  UPDATE shard_leases l SET owner = \(owner), owner_incarnation = \(incarnation)::int8,
                    epoch = l.epoch + 1, acquired_at = now()
                  WHERE l.shard = ANY(\(wanted)::int8[])
                    AND NOT EXISTS (SELECT 1 FROM cluster_nodes n
                                    WHERE n.node_id = l.owner AND n.incarnation = l.owner_incarnation AND n.expires_at > now())
                  RETURNING l.shard, l.epoch),
                both_kinds AS (SELECT * FROM fresh UNION ALL SELECT * FROM taken)
                INSERT INTO lease_history(shard, epoch, owner) SELECT shard, epoch, \(owner) FROM both_kinds
                RETURNING shard, epoch
                """, logger: logger).decode((Int, Int64).self)
            var epochs: [Int: Int64] = [:]
            for (shard, epoch) in try await rows.all() { epochs[shard] = epoch }
            return epochs
        }
        recordEpochs(epochs)
        return epochs
    }

    /// The owner of each shard whose lease is held by a live node (the incarnation that took it, not expired by
    /// the database's now()); a shard absent is free. What a cluster round places shards from.
    public func liveShardOwners() async throws -> [Int: String] {
        try await read { connection, logger in
            var owners: [Int: String] = [:]
            for try await (shard, owner) in try await connection.query("""
                SELECT l.shard, l.owner FROM shard_leases l JOIN cluster_nodes n
                  ON n.node_id = l.owner AND n.incarnation = l.owner_incarnation AND n.expires_at > now()
                """, logger: logger).decode((Int, String).self) {
                owners[shard] = owner
            }
            return owners
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

extension PostgresStore: ClusterDirectory {
    public func liveNodeIds() async throws -> [String] { try await liveNodes().map(\.nodeId) }

    public func livePeerEndpoints() async throws -> [String: String] {
        try await read { connection, logger in
            var peers: [String: String] = [:]
            for try await (node, endpoint) in try await connection.query(
                "SELECT node_id, peer_endpoint FROM cluster_nodes WHERE expires_at > now() AND peer_endpoint IS NOT NULL",
                logger: logger).decode((String, String).self) {
                peers[node] = endpoint
            }
            return peers
        }
    }
}

/// Renews a node's liveness row every `heartbeat` until cancelled; calls `onLost` once and stops when a renewal
/// finds the row expired or taken by another incarnation (the node must then stop writing and rejoin). A renewal
/// that fails (database unreachable) is logged and retried at the next beat: the row stays valid until its TTL.
public struct NodeHeartbeat: Sendable {
    public let store: PostgresStore
    public let node: NodeIdentity
    public let configuration: LivenessConfiguration
    public let logger: Logger

    public init(store: PostgresStore, node: NodeIdentity, configuration: LivenessConfiguration, logger: Logger) {
        self.store = store
        self.node = node
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until cancelled or until liveness is lost; `onRenewed` gets the instant each successful renewal was
    /// sent at (the row lives at least `ttl` from then).
    public func run(onRenewed: @Sendable (ContinuousClock.Instant) -> Void = { _ in }, onLost: @Sendable () async -> Void) async {
        while !Task.isCancelled {
            // Wall-clock pacing on purpose: liveness is about real time (a virtual campaign clock never drives it).
            guard (try? await Task.sleep(for: configuration.heartbeat)) != nil else { return }
            do {
                let sent = ContinuousClock.now
                if try await store.renewLiveness(node, ttl: configuration.ttl) {
                    onRenewed(sent)
                } else {
                    logger.critical("node liveness lost: another process may own this node's shards",
                                    metadata: ["node": "\(node.nodeId)", "incarnation": "\(node.incarnation)"])
                    await onLost()
                    return
                }
            } catch let error as StoreError where error.code == StoreError.closed.code {
                return
            } catch {
                logger.warning("node liveness not renewed", metadata: ["node": "\(node.nodeId)", "error": "\(error)"])
            }
        }
    }
}

extension StoreError {
    /// `joinCluster` with a node id a live process holds.
    public static let nodeInUseCode = "store.node_in_use"
}
