import AbmWire
import CampaignCore
import CampaignPostgres
import CampaignRuntime
import CampaignStore
import Foundation
import PostgresTestSupport
import Testing

/// 2026-03-02T09:00:00Z, a Monday, inside the default send window for UTC contacts.
private let monday9 = Date(timeIntervalSince1970: 1_772_442_000)

/// Publishes nowhere: these tests read the store.
private struct NoPublisher: EventPublisher {
    func publish(_ batch: [StoredEvent]) async {}
}

/// One node of an in-process cluster: its own PostgresStore (joined as `id`), runtime, virtual clock and member.
private struct Node {
    let id: String
    let store: PostgresStore
    let identity: NodeIdentity
    let runtime: CampaignRuntime
    let clock: ManualClock
    let member: ClusterMember

    static func start(_ id: String, _ database: TestDatabase, ttl: Duration = .seconds(30),
                      routes: ShardRoutes? = nil) async throws -> Node {
        let store = try await PostgresStore(configuration: try PostgresStoreConfiguration(url: database.url))
        let identity = try await store.joinCluster(nodeId: id, ttl: ttl)
        var configuration = RuntimeConfiguration(idleSweepInterval: nil, owner: id)
        configuration.takesAllShardsAtStart = false
        configuration.logger.logLevel = .critical
        let clock = ManualClock(start: monday9)
        let runtime = CampaignRuntime(store: store, clock: clock, publisher: NoPublisher(), configuration: configuration)
        try await runtime.start()
        var logger = configuration.logger
        logger.logLevel = .critical
        return Node(id: id, store: store, identity: identity, runtime: runtime, clock: clock,
                    member: ClusterMember(runtime: runtime, directory: store, nodeId: id, routes: routes, logger: logger))
    }

    /// A graceful stop: every shard released, turns finished, then the cluster left (`close`).
    func stop() async throws {
        try await member.releaseAll()
        await runtime.shutdown()
        try await store.close()
    }
}

/// Rounds of every node, one after the other, until a whole pass moves nothing; returns the passes that moved.
@discardableResult
private func settle(_ nodes: [Node], sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int {
    for pass in 0..<40 {
        var moved = false
        for node in nodes where !(try await node.member.round()).isEmpty { moved = true }
        if !moved { return pass }
    }
    Issue.record("placement did not settle in 40 passes", sourceLocation: sourceLocation)
    return 40
}

private func lead(_ account: String, primary: String? = nil, colleague: String? = nil) -> JSONValue {
    [
        "account_id": .string(account), "email": .string(primary ?? "pat@\(account).example"), "name": "Pat Primary",
        "title": "CTO", "timezone": "UTC", "topic": "data pipelines",
        "metadata": ["company_name": .string("\(account) Inc")],
        "account_contacts": [["email": .string(colleague ?? "c1@\(account).example"), "name": "Colleague One",
                              "title": "VP Sales", "timezone": "UTC"]],
    ]
}

/// An account whose shard `node` owns.
private func account(ownedBy node: Node) -> String {
    let owned = Set(node.runtime.ownedShards)
    return (0..<10_000).lazy.map { "acct-\($0)" }.first { owned.contains(accountShard($0)) }!
}

@Suite("Cluster: runtimes sharing the shards of one PostgreSQL database", .timeLimit(.minutes(2)))
struct ClusterTests {
    @Test("two nodes split the 256 shards as placement says, none owned twice; a lead is taken by its shard's owner only")
    func twoNodesShare() async throws {
        let database = try await TestPostgres.database("cluster")
        let a = try await Node.start("node-a", database)
        // a alone first: it takes everything; b joins and gets its share, at most 26 released per round.
        try await settle([a])
        #expect(a.runtime.ownedShards.count == shardCount)
        let b = try await Node.start("node-b", database)
        let passes = try await settle([a, b])
        #expect(passes >= 4)

        let ownedA = Set(a.runtime.ownedShards), ownedB = Set(b.runtime.ownedShards)
        #expect(ownedA.isDisjoint(with: ownedB))
        #expect(ownedA.union(ownedB) == Set(0..<shardCount))
        let placement = ShardPlacement(liveNodes: ["node-a", "node-b"])
        #expect(ownedA == Set((0..<shardCount).filter { placement.desiredOwner(of: $0) == "node-a" }))
        #expect(abs(ownedA.count - shardCount / 2) <= 25)
        let owners = try await a.store.liveShardOwners()
        #expect(owners.count == shardCount)
        #expect(Set(owners.filter { $0.value == "node-b" }.keys) == ownedB)

        for (owner, other) in [(a, b), (b, a)] {
            let id = account(ownedBy: owner)
            let refused = await other.runtime.submitLead(requestId: "lead-\(id)-other", lead: lead(id))
            #expect(refused.status == .rejected && refused.error?.code == ErrorCode.notOwner)
            let accepted = await owner.runtime.submitLead(requestId: "lead-\(id)", lead: lead(id))
            #expect(accepted.status == .accepted, "\(accepted)")
        }
        try await b.stop()
        try await a.stop()
    }

    @Test("each round routes the shards a peer owns to the peer endpoint in its liveness row; a rejoin forgets the endpoint")
    func routesFollowThePeers() async throws {
        let database = try await TestPostgres.database("routes")
        let routesA = ShardRoutes()
        let a = try await Node.start("node-a", database, routes: routesA)
        let b = try await Node.start("node-b", database)
        try await b.store.advertisePeerEndpoint("tcp://127.0.0.1:7001", node: b.identity)
        #expect(try await a.store.livePeerEndpoints() == ["node-b": "tcp://127.0.0.1:7001"])
        try await settle([a, b])
        let ownedByB = try #require((0..<10_000).lazy.map { "acct-\($0)" }.first { Set(b.runtime.ownedShards).contains(accountShard($0)) })
        let ownedByA = try #require((0..<10_000).lazy.map { "acct-\($0)" }.first { Set(a.runtime.ownedShards).contains(accountShard($0)) })
        #expect(routesA.endpoint(forAccount: ownedByB) == "tcp://127.0.0.1:7001")
        #expect(routesA.endpoint(forAccount: ownedByA) == nil, "a's own shards are served locally")
        #expect(routesA.peerEndpoints == ["tcp://127.0.0.1:7001"])
        // b stops: its row ends, so a's next round routes nothing (a owns every shard after it).
        try await b.stop()
        try await settle([a])
        #expect(routesA.endpoint(forAccount: ownedByB) == nil)
        #expect(routesA.peerEndpoints.isEmpty)
        // b's id joins again without advertising: the old endpoint is not its new incarnation's.
        let again = try await PostgresStore(configuration: try PostgresStoreConfiguration(url: database.url))
        _ = try await again.joinCluster(nodeId: "node-b", ttl: .seconds(30))
        #expect(try await a.store.livePeerEndpoints().isEmpty)
        try await again.close()
        try await a.stop()
    }

    @Test("an address unsubscribed through one node is never touched by another node's campaign after the ack")
    func unsubscribeOnOneNodeStopsTouchesOnAnother() async throws {
        let database = try await TestPostgres.database("cluster")
        let a = try await Node.start("node-a", database)
        let b = try await Node.start("node-b", database)
        try await settle([a, b])
        let shared = "sam.shared@example.org"
        // The same person is a contact of an account of each node: primary at a's, colleague at b's.
        let accountA = account(ownedBy: a), accountB = account(ownedBy: b)
        #expect(await a.runtime.submitLead(requestId: "lead-a", lead: lead(accountA, primary: shared)).status == .accepted)
        #expect(await b.runtime.submitLead(requestId: "lead-b", lead: lead(accountB, colleague: shared)).status == .accepted)
        // b decides its campaign before the unsubscribe (its state is in memory, its suppression list loaded).
        _ = try await b.runtime.advanceClock(seconds: 3600)

        // The person unsubscribes through a; the ack means the suppression is committed.
        let unsubscribed = await a.runtime.submitResponse(requestId: "unsub", ResponseInput(
            accountId: accountA, contactEmail: shared, kind: .unsubscribe))
        #expect(unsubscribed.status == .accepted, "\(unsubscribed)")
        let acked = try await a.store.lastSeq()

        // b runs its campaign for 30 days: every touch to the shared address after the ack is refused at commit
        // (b learns the suppression there) and decided again without it.
        _ = try await b.runtime.advanceClock(seconds: 30 * 86_400)
        let later = try await b.store.events(accountId: accountB, afterSeq: acked, limit: 1000)
        let touched = later.filter { $0.type == "touchpoint.due" }
        #expect(!touched.isEmpty, "b's campaign went on with its other contacts")
        let toShared = touched.filter { String(decoding: $0.body, as: UTF8.self).contains(shared) }
        #expect(toShared.isEmpty, "touched \(shared) after its unsubscribe was acknowledged: \(toShared.count) touches")
        try await b.stop()
        try await a.stop()
    }

    @Test("a graceful stop: the peer owns all 256 shards after one round (≤ 500 ms) and fires the campaign's timer")
    func gracefulStop() async throws {
        let database = try await TestPostgres.database("cluster")
        let a = try await Node.start("node-a", database)
        let b = try await Node.start("node-b", database)
        try await settle([a, b])
        let id = account(ownedBy: a)
        #expect(await a.runtime.submitLead(requestId: "lead-1", lead: lead(id)).status == .accepted)
        let due = try #require(try await a.store.timer(accountId: id))
        let eventsBefore = try await b.store.events(accountId: id, afterSeq: 0, limit: 100)

        try await a.stop()
        #expect(try await b.store.liveNodeIds() == ["node-b"])
        let moves = try await b.member.round()
        #expect(moves.release.isEmpty)
        #expect(b.runtime.ownedShards.count == shardCount)

        // The timer a set is b's now: it fires when b's clock gets there.
        _ = try await b.runtime.advanceClock(to: due)
        let eventsAfter = try await b.store.events(accountId: id, afterSeq: 0, limit: 100)
        #expect(eventsAfter.count > eventsBefore.count)
        #expect(eventsAfter.last.map { $0.at >= due } == true)
        #expect(try await b.store.timer(accountId: id) != due)
        #expect(await b.runtime.statistics().timersFired >= 1)
        try await b.stop()
    }

    @Test("a node that stops renewing (kill -9): its shards are taken after its liveness TTL, its late writes fenced")
    func killedNode() async throws {
        let database = try await TestPostgres.database("cluster")
        let a = try await Node.start("node-a", database)
        try await settle([a])
        let b = try await Node.start("node-b", database)
        try await settle([a, b])
        let id = account(ownedBy: a)
        #expect(await a.runtime.submitLead(requestId: "lead-1", lead: lead(id)).status == .accepted)

        // a's last heartbeat, with a short TTL (however slow the setup above was), then a is "killed": it runs no
        // more rounds and renews nothing. Once its row expires on the database clock (a bounded wait: the TTL is
        // real time), b's next round takes every one of its shards.
        #expect(try await a.store.renewLiveness(a.identity, ttl: .seconds(1)))
        let deadline = ContinuousClock.now + .seconds(20)
        while try await b.store.liveNodeIds().contains("node-a"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        let moves = try await b.member.round()
        #expect(moves.release.isEmpty)
        #expect(b.runtime.ownedShards.count == shardCount, "\(moves)")
        #expect(try await b.store.liveNodeIds() == ["node-b"])

        // a wakes up: its write under the old epoch is fenced, and it forgets the shard.
        let late = await a.runtime.submitLead(requestId: "lead-late", lead: lead(account(ownedBy: a)))
        #expect(late.status == .rejected && late.error?.code == ErrorCode.notOwner)
        #expect(await b.runtime.submitLead(requestId: "lead-1", lead: lead(id)).status == .duplicate)
        try await b.stop()
        await a.runtime.shutdown()
        try? await a.store.close()
    }
}
