import CampaignPostgres
import CampaignStore
import Foundation
import Logging
import PostgresTestSupport
import Synchronization
import Testing

/// Node liveness rows on the database clock and the takeover of a dead node's shards. Time passing is played by
/// moving a row's `expires_at` into the past on the database (nothing here waits for a TTL).
@Suite("PostgreSQL node liveness", .timeLimit(.minutes(1)))
struct PostgresLivenessTests {
    private func open(_ database: TestDatabase) async throws -> PostgresStore {
        try await PostgresStore(configuration: try PostgresStoreConfiguration(url: database.url))
    }

    /// The database clock says `node`'s row expired (what a dead or paused node's row does after the TTL).
    private func expire(_ node: String, _ database: TestDatabase) async throws {
        try await TestPostgres.psql(database, "UPDATE cluster_nodes SET expires_at = now() - interval '1 second' WHERE node_id = '\(node)'")
    }

    @Test("a dead node's shards are taken over with new epochs; its late writes are fenced; a live node's are not taken")
    func takeoverOfADeadNode() async throws {
        let database = try await TestPostgres.database("liveness")
        let a = try await open(database)
        let b = try await open(database)
        let ttl = Duration.seconds(10)
        let nodeA = try await a.joinCluster(nodeId: "a", ttl: ttl)
        #expect(nodeA == NodeIdentity(nodeId: "a", incarnation: 1))
        let shards = [accountShard("acme"), accountShard("globex")]
        let first = try await a.acquireFreeShards(shards, node: nodeA)
        #expect(first == Dictionary(uniqueKeysWithValues: shards.map { ($0, 1) }))
        _ = try await a.commit([write("acme", events: 1)])

        // While a is live: b gets nothing, and cannot join as "a" either.
        let nodeB = try await b.joinCluster(nodeId: "b", ttl: ttl)
        #expect(try await b.acquireFreeShards(shards, node: nodeB).isEmpty)
        await expectStoreError(StoreError.nodeInUseCode) { _ = try await b.joinCluster(nodeId: "a", ttl: ttl) }
        #expect(try await a.renewLiveness(nodeA, ttl: ttl))
        #expect(try await b.liveNodes().map(\.nodeId) == ["a", "b"])
        // A node does not bump its own live leases either.
        #expect(try await a.acquireFreeShards(shards, node: nodeA).isEmpty)

        // a dies (its row expires on the database clock): b takes both shards over, each epoch + 1.
        try await expire("a", database)
        #expect(try await b.liveNodes().map(\.nodeId) == ["b"])
        let taken = try await b.acquireFreeShards(shards + [accountShard("initech")], node: nodeB)
        #expect(taken[shards[0]] == 2 && taken[shards[1]] == 2)
        #expect(taken[accountShard("initech")] == 1)
        #expect(try await b.shardLeases()[shards[0]] == ShardLease(owner: "b", epoch: 2))
        let history = try await TestPostgres.psql(database, "SELECT epoch, owner FROM lease_history WHERE shard = \(shards[0]) ORDER BY epoch")
        #expect(history == "1|a\n2|b\n")

        // a wakes up: its renewal says it lost liveness, and its writes under the old epoch store nothing.
        #expect(try await a.renewLiveness(nodeA, ttl: ttl) == false)
        await expectStoreError(StoreError.fencedCode) { _ = try await a.commit([write("globex", events: 2)]) }
        #expect(try await b.lastSeq() == 1)
        #expect(try await b.loadState(accountId: "globex") == nil)
        _ = try await b.commit([write("globex", events: 1)])
        #expect(try await b.lastSeq() == 2)

        // a rejoins as a new incarnation; b's live leases stay b's.
        let again = try await a.joinCluster(nodeId: "a", ttl: ttl)
        #expect(again.incarnation == 2)
        #expect(try await a.acquireFreeShards(shards, node: again).isEmpty)
        // b leaves: its shards are free at once, no TTL to wait for.
        try await b.leaveCluster(nodeB)
        #expect(try await a.acquireFreeShards(shards, node: again).count == 2)
        try await a.close()
        try await b.close()
    }

    @Test("leases taken with acquireShards by a joined node live and die with its row; a restart rejoins")
    func unconditionalAcquireIsTiedToTheJoinedRow() async throws {
        let database = try await TestPostgres.database("joined")
        let a = try await open(database)
        let node = try await a.joinCluster(nodeId: "n1", ttl: .seconds(10))
        _ = try await a.acquireShards([3, 4], owner: "n1")
        let owners = try await TestPostgres.psql(database, "SELECT shard, owner, owner_incarnation FROM shard_leases ORDER BY shard")
        #expect(owners == "3|n1|1\n4|n1|1\n")
        let b = try await open(database)
        let other = try await b.joinCluster(nodeId: "n2", ttl: .seconds(10))
        #expect(try await b.acquireFreeShards([3, 4], node: other).isEmpty)
        try await a.leaveCluster(node)
        try await a.close()
        // The same node id after a restart: a new incarnation, and its old leases are free for anyone.
        let restarted = try await open(database)
        #expect(try await restarted.joinCluster(nodeId: "n1", ttl: .seconds(10)).incarnation == 2)
        #expect(try await b.acquireFreeShards([3, 4], node: other) == [3: 2, 4: 2])
        try await restarted.close()
        try await b.close()
    }

    @Test("the heartbeat reports a lost row once and stops")
    func heartbeatNoticesLoss() async throws {
        let database = try await TestPostgres.database("beat")
        let store = try await open(database)
        let node = try await store.joinCluster(nodeId: "n1", ttl: .seconds(10))
        let beat = NodeHeartbeat(store: store, node: node,
                                 configuration: LivenessConfiguration(ttl: .seconds(10), heartbeat: .milliseconds(20)),
                                 logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let lost = Mutex(0)
        let (signal, fire) = AsyncStream<Void>.makeStream()
        let running = Task {
            await beat.run {
                lost.withLock { $0 += 1 }
                fire.yield()
            }
            fire.finish()
        }
        // Another process took the node id over (its row expired, then was joined again).
        try await expire("n1", database)
        let other = try await open(database)
        #expect(try await other.joinCluster(nodeId: "n1", ttl: .seconds(10)).incarnation == 2)
        // Bounded: the heartbeat beats every 20 ms; the test's time limit is the watchdog.
        var iterator = signal.makeAsyncIterator()
        _ = await iterator.next()
        await running.value
        #expect(lost.withLock { $0 } == 1)
        try await store.close()
        try await other.close()
    }
}
