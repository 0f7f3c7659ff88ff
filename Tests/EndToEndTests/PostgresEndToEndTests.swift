import AbmTestSupport
import AbmWire
import CampaignCore
import CampaignGateway
import CampaignRuntime
import Foundation
import PostgresTestSupport
import Synchronization
import Testing
import ZeroMQ

/// `abm serve --store postgresql://… --node-id NAME`: one node on the test process's throwaway PostgreSQL.
@Suite(.timeLimit(.minutes(2)))
struct PostgresEndToEndTests {
    @Test func leadsInEventsBackAcrossARestartOnPostgreSQL() async throws {
        let database = try await TestPostgres.database("e2e")
        let unused = ServerProcess.tempDirectory()
        let server = try await ServerProcess.start(dataDirectory: unused, store: database.url,
                                                   extraArguments: ["--node-id", "node-1"])
        let c = try Clients(server.endpoints)
        var campaigns: [String: JSONValue] = [:]
        for account in ["acme", "globex", "initech"] {
            let ack = try await c.ingress.call(lead(id: "pg-\(account)", account: account,
                                                    colleagues: [colleague(account, 1, name: "Sam Smith")]))
            #expect(ack["status"] == "accepted", "\(ack)")
            campaigns[account] = ack["campaign_id"]
        }
        _ = try await c.advance(days: 10)
        let log = try await c.replay()
        #expect(log.map { $0["seq"]?.int } == (1...Int64(log.count)).map { $0 }, "gap-free from 1")
        for account in campaigns.keys {
            let own = log.filter { $0["account_id"]?.stringValue == account }
            #expect(own.first?["type"] == "campaign.started", "\(account)")
            #expect(own.filter { $0["type"] == "touchpoint.due" }.count >= 2, "\(account): \(own)")
        }
        // A second process with the same node id is refused while this one is live (its liveness row).
        do {
            let twin = try await ServerProcess.start(dataDirectory: unused, store: database.url, extraArguments: ["--node-id", "node-1"])
            _ = await twin.terminate()
            Issue.record("a second abm serve with --node-id node-1 started")
        } catch {
            #expect("\(error)".contains("store.node_in_use"), "\(error)")
        }
        let status = try await c.control.call(["type": "status", "id": "st-1", "account_id": "globex"])
        #expect(status["campaign"]?["campaign_id"] == campaigns["globex"])
        await c.close()
        #expect(await server.terminate() == 0)
        // No SQLite store was created beside it.
        #expect(!FileManager.default.fileExists(atPath: unused))

        // What the server wrote is in the database, under this node's leases; SIGTERM released them all (no
        // owner, epoch + 1, so that nothing decided under them can land later).
        let stored = try await TestPostgres.psql(database, "SELECT count(*), max(seq), min(epoch), max(epoch) FROM events")
        #expect(stored == "\(log.count)|\(log.count)|1|1\n")
        let owners = try await TestPostgres.psql(database, "SELECT owner, owner_incarnation, count(*), max(epoch) FROM shard_leases GROUP BY 1, 2")
        #expect(owners == "||256|2\n")
        // SIGTERM left the cluster: the row expired at once, so a restart need not wait for the TTL.
        let left = try await TestPostgres.psql(database, "SELECT node_id, incarnation, expires_at <= now() FROM cluster_nodes")
        #expect(left == "node-1|1|t\n")

        // A restart on the same database: the log is there, a repeated lead is a duplicate, and the next
        // writes go on under the new epochs.
        let again = try await ServerProcess.start(dataDirectory: unused, store: database.url, extraArguments: ["--node-id", "node-1"])
        let d = try Clients(again.endpoints)
        #expect(try await d.replay() == log)
        let repeated = try await d.ingress.call(lead(id: "pg-acme", account: "acme"))
        #expect(repeated["status"] == "duplicate")
        #expect(repeated["campaign_id"] == campaigns["acme"])
        let fresh = try await d.ingress.call(lead(id: "pg-umbrella", account: "umbrella"))
        #expect(fresh["status"] == "accepted")
        let after = try await d.replay(after: Int64(log.count))
        #expect(after.first?["seq"]?.int == Int64(log.count) + 1)
        #expect(after.first?["type"] == "campaign.started")
        await d.close()
        #expect(await again.terminate() == 0)
        let epochs = try await TestPostgres.psql(database, "SELECT DISTINCT epoch FROM events WHERE account_id = 'umbrella'")
        #expect(epochs == "3\n")
        // The restart joined as the node's second incarnation, and released its shards again on SIGTERM.
        let rejoined = try await TestPostgres.psql(database, "SELECT incarnation FROM cluster_nodes")
        #expect(rejoined == "2\n")
        #expect(try await TestPostgres.psql(database, "SELECT count(*) FROM shard_leases WHERE owner = ''") == "256\n")
    }

    /// Who owns the shards, by owner (free ones under ""), from the database.
    private func leaseCounts(_ database: TestDatabase) async throws -> [String: Int] {
        let rows = try await TestPostgres.psql(database, """
            SELECT l.owner, count(*) FROM shard_leases l JOIN cluster_nodes n
              ON n.node_id = l.owner AND n.incarnation = l.owner_incarnation AND n.expires_at > now() GROUP BY 1
            """)
        var counts: [String: Int] = [:]
        for line in rows.split(separator: "\n") {
            let parts = line.split(separator: "|").map(String.init)
            if parts.count == 2, let n = Int(parts[1]) { counts[parts[0]] = n }
        }
        return counts
    }

    /// The rows of a query, each split into its columns (psql's unaligned output).
    private func rows(_ database: TestDatabase, _ sql: String) async throws -> [[String]] {
        try await TestPostgres.psql(database, sql).split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
    }

    /// Polls (bounded) until the live leases are the placement `ShardPlacement` computes for `nodes`, every shard
    /// held by the node that should own it, so that no shard moves any more (a timer of a shard still moving
    /// fires on its new owner when it arrives, on that owner's clock). Returns whether they got there, and the
    /// lease counts by owner.
    private func waitForPlacement(_ database: TestDatabase, of nodes: [String],
                                  within seconds: Double) async throws -> (settled: Bool, counts: [String: Int]) {
        let desired = ShardPlacement(liveNodes: nodes).assignment()
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            var owners = [String?](repeating: nil, count: desired.count)
            for row in try await rows(database, """
                SELECT l.shard, l.owner FROM shard_leases l JOIN cluster_nodes n
                  ON n.node_id = l.owner AND n.incarnation = l.owner_incarnation AND n.expires_at > now()
                """) {
                if let shard = Int(row[0]), owners.indices.contains(shard) { owners[shard] = row[1] }
            }
            if owners == desired || Date() >= deadline {
                return (owners == desired, Dictionary(owners.compactMap { $0.map { ($0, 1) } }, uniquingKeysWith: +))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Polls `leaseCounts` until `done` holds, for at most `seconds` (a bounded wait: placement runs on real time).
    private func waitForLeases(_ database: TestDatabase, within seconds: Double,
                               _ done: ([String: Int]) -> Bool) async throws -> [String: Int] {
        let deadline = Date().addingTimeInterval(seconds)
        var counts = try await leaseCounts(database)
        while !done(counts), Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
            counts = try await leaseCounts(database)
        }
        return counts
    }

    @Test func twoNodesShareTheShardsAndFailOverOnSIGTERM() async throws {
        let database = try await TestPostgres.database("e2e-cluster")
        let unused = ServerProcess.tempDirectory()
        let one = try await ServerProcess.start(dataDirectory: unused, store: database.url, extraArguments: ["--node-id", "node-1"])
        let two = try await ServerProcess.start(dataDirectory: unused, store: database.url, extraArguments: ["--node-id", "node-2"])
        // node-1 took every shard alone; node-2 gets its share, 26 shards a round (500 ms).
        let split = try await waitForLeases(database, within: 15) { ($0["node-2"] ?? 0) > 100 && ($0["node-1"] ?? 0) + ($0["node-2"] ?? 0) == 256 }
        #expect(split["node-1"] ?? 0 > 100 && split["node-2"] ?? 0 > 100 && split.values.reduce(0, +) == 256, "\(split)")

        // Each lead is accepted by exactly one of the two; the other answers not_owner.
        let c1 = try Clients(one.endpoints), c2 = try Clients(two.endpoints)
        var accepted = 0
        for account in ["acme", "globex", "initech", "umbrella"] {
            let a1 = try await c1.ingress.call(lead(id: "c-\(account)", account: account))
            let a2 = try await c2.ingress.call(lead(id: "c-\(account)", account: account))
            let statuses = [a1["status"], a2["status"]]
            #expect(statuses.contains("accepted") && statuses.contains("rejected"), "\(a1) \(a2)")
            let refused = a1["status"] == "rejected" ? a1 : a2
            #expect(refused["error"]?["code"] == "not_owner", "\(refused)")
            if statuses.contains("accepted") { accepted += 1 }
        }
        #expect(accepted == 4)
        await c1.close()

        // SIGTERM node-1: it releases its shards and leaves; node-2 takes them at its next round.
        let stopped = Date()
        #expect(await one.terminate() == 0)
        let after = try await waitForLeases(database, within: 5) { $0["node-2"] == 256 }
        #expect(after == ["node-2": 256])
        // Within 1 s by design (one 500 ms round after the release; ~0.45 s measured here, process exit
        // included), with slack for a loaded machine.
        #expect(Date().timeIntervalSince(stopped) < 2, "failover took \(Date().timeIntervalSince(stopped)) s")
        // (The lease rows change hands a moment before node-2 has loaded the shards' timers and takes their
        // requests: sendToOwner sends again while node-2 still answers not_owner.)
        for account in ["acme", "globex", "initech", "umbrella"] {
            let again = try await sendToOwner(lead(id: "c-\(account)", account: account), [c2])
            #expect(again["status"] == "duplicate", "\(again)")
        }
        await c2.close()
        #expect(await two.terminate() == 0)
    }

    /// Two nodes on one database: each publishes the whole log (the events of the other node's commits too),
    /// in seq order and without a gap, and a subscriber that leaves one node goes on at the other from the last
    /// seq it saw (`events` with `after_seq`) without missing or repeating an event.
    @Test func everyNodePublishesTheWholeLogAndASubscriberSwitchesNodes() async throws {
        let database = try await TestPostgres.database("e2e")
        let unused = ServerProcess.tempDirectory()
        let b = try await ServerProcess.start(dataDirectory: unused, store: database.url, extraArguments: ["--node-id", "node-b"])
        let a = try await ServerProcess.start(dataDirectory: unused, store: database.url, extraArguments: ["--node-id", "node-a"])
        let ca = try Clients(a.endpoints), cb = try Clients(b.endpoints)
        let subA = try Peer.subscriber(a.endpoints.events), subB = try Peer.subscriber(b.endpoints.events)
        func send(_ k: Int) async throws {
            let ack = try await sendToOwner(lead(id: "two-\(k)", account: "two-\(k)"), [ca, cb])
            #expect(ack["status"] == "accepted", "\(ack)")
        }
        // Warm-up until both subscriptions receive (a SUB misses what is published before it is connected).
        var k = 0
        while true {
            try await send(k)
            k += 1
            let seenA = await subA.mailbox.take(within: 0.05) != nil, seenB = await subB.mailbox.take(within: 0.05) != nil
            if seenA && seenB { break }
            try #require(k < 200, "the subscriptions never received")
        }
        let firstSeq = (try await ca.replay().last?["seq"]?.int ?? 0) + 1
        func drain(_ sub: Peer) async { while await sub.mailbox.take(within: 0.05) != nil {} }
        await drain(subA)
        await drain(subB)
        for n in k..<(k + 40) { try await send(n) }
        let log = try await ca.replay(after: firstSeq - 1)
        let lastSeq = try #require(log.last?["seq"]?.int)
        #expect(log.map { $0["seq"]?.int } == (firstSeq...lastSeq).map { $0 }, "the log is gap-free")
        /// The events a subscriber received from `firstSeq` to `lastSeq` (earlier ones, left from the warm-up, skipped).
        func received(_ sub: Peer) async throws -> [JSONValue] {
            var out: [JSONValue] = []
            while out.last?["seq"]?.int != lastSeq {
                guard let m = await sub.mailbox.take(within: 10) else { throw Timeout(what: "event \(lastSeq)") }
                let event = try JSONParser.parse(m.frames[1])
                if let seq = event["seq"]?.int, seq >= firstSeq { out.append(event) }
            }
            return out
        }
        // Both nodes published every event, each exactly once and in order, whichever node committed it.
        #expect(try await received(subA) == log)
        #expect(try await received(subB) == log)

        // A subscriber of node a that saw events up to the middle switches to node b: b's replay after that seq
        // and b's live stream continue it.
        let middle = log[log.count / 2]["seq"]?.int ?? 0
        await subA.close()
        let rest = try await cb.replay(after: middle)
        #expect(rest == Array(log.drop { ($0["seq"]?.int ?? 0) <= middle }))
        try await send(k + 40)
        let next = try JSONParser.parse(try #require(await subB.mailbox.take(within: 10)).frames[1])
        #expect(next["seq"]?.int == lastSeq + 1)

        await subB.close()
        await ca.close()
        await cb.close()
        #expect(await a.terminate() == 0)
        #expect(await b.terminate() == 0)
    }
}

extension PostgresEndToEndTests {
    /// An owner paused (SIGSTOP) mid-burst past its liveness TTL loses its shards to the other node; woken
    /// (SIGCONT) it is fenced: not one write of it lands after the takeover, it publishes no event, and it
    /// stops by itself. Every lead acknowledged by either node is in the store.
    @Test(.timeLimit(.minutes(2)))
    func anOwnerPausedPastItsLeaseIsFencedWhenItWakes() async throws {
        let database = try await TestPostgres.database("e2e-stop")
        let unused = ServerProcess.tempDirectory()
        // A short drain: woken, node a stops within its drain bound (twice the drain timeout, plus 10 s).
        let a = try await ServerProcess.start(dataDirectory: unused, store: database.url,
                                              extraArguments: ["--node-id", "node-a", "--drain-timeout", "5"])
        let b = try await ServerProcess.start(dataDirectory: unused, store: database.url, extraArguments: ["--node-id", "node-b"])
        _ = try await waitForLeases(database, within: 15) { ($0["node-b"] ?? 0) > 100 && ($0.values.reduce(0, +)) == 256 }
        let ca = try Clients(a.endpoints), cb = try Clients(b.endpoints)
        let subscriber = try Peer.subscriber(a.endpoints.events)
        // A burst to node a, not waited for, then the pause: some of it is in flight inside the paused process.
        for k in 0..<400 { try await ca.ingress.send(lead(id: "burst-\(k)", account: "burst-\(k)")) }
        kill(a.pid, SIGSTOP)
        // Past node a's liveness TTL (10 s), node b takes every shard.
        let taken = try await waitForLeases(database, within: 30) { $0 == ["node-b": 256] }
        #expect(taken == ["node-b": 256])
        let aWrites = "SELECT count(*) FROM events e JOIN lease_history h ON h.shard = e.shard AND h.epoch = e.epoch WHERE h.owner = 'node-a'"
        let before = try await TestPostgres.psql(database, aWrites)
        // What node a published before the pause (long delivered by now), so that only later events count.
        while await subscriber.mailbox.take(within: 0.5) != nil {}
        kill(a.pid, SIGCONT)
        // Woken, node a finds its liveness row gone and stops; whatever it still had in flight is refused.
        let status = await a.exitStatus(within: 30)
        #expect(status != nil, "node a did not stop after losing its liveness")
        #expect(try await TestPostgres.psql(database, aWrites) == before, "node a wrote after the takeover")
        #expect(await subscriber.mailbox.take(within: 0.5) == nil, "node a published after waking")
        await subscriber.close()
        // Every lead node a acknowledged (before the pause or after waking) is stored; the rest go to node b.
        var acked: [String] = []
        while let m = await ca.ingress.mailbox.take(within: 0.2) {
            let ack = try JSONParser.parse(m.frames.last ?? [])
            if ack["status"] == "accepted", let id = ack["id"]?.stringValue { acked.append(id) }
        }
        let stored = try await TestPostgres.psql(database, "SELECT id FROM requests WHERE space = 'ingress' AND id LIKE 'burst-%'")
        let storedIds = Set(stored.split(separator: "\n").map(String.init))
        #expect(Set(acked).isSubset(of: storedIds), "acknowledged but not stored: \(Set(acked).subtracting(storedIds).sorted().prefix(5))")
        let resent = try await cb.ingress.call(lead(id: "burst-0", account: "burst-0"))
        #expect(resent["status"] == "accepted" || resent["status"] == "duplicate", "\(resent)")
        await ca.close()
        await cb.close()
        #expect(await b.terminate() == 0)
    }
}

extension PostgresEndToEndTests {
    /// kill -9 of an owner mid-burst: the other node owns every shard once the liveness row expired (the
    /// failover time is printed), every lead the dead node acknowledged is a duplicate when sent again, the
    /// log stays gap-free and no touch is in it twice.
    @Test(.timeLimit(.minutes(2)))
    func killNineOfAnOwnerMidBurstLosesNothingAcknowledged() async throws {
        let database = try await TestPostgres.database("e2e-kill")
        let unused = ServerProcess.tempDirectory()
        let a = try await ServerProcess.start(dataDirectory: unused, store: database.url, extraArguments: ["--node-id", "node-a"])
        let b = try await ServerProcess.start(dataDirectory: unused, store: database.url, extraArguments: ["--node-id", "node-b"])
        _ = try await waitForLeases(database, within: 15) { ($0["node-b"] ?? 0) > 100 && ($0.values.reduce(0, +)) == 256 }
        let ca = try Clients(a.endpoints), cb = try Clients(b.endpoints)
        let n = 600
        for k in 0..<n { try await ca.ingress.send(lead(id: "kill-\(k)", account: "kill-\(k)", colleagues: [colleague("kill-\(k)", 1, name: "Sam Smith")])) }
        // Some acks in, then the kill while the rest are in flight.
        var ackedByA: [String] = []
        while ackedByA.count < 50, let m = await ca.ingress.mailbox.take(within: 10) {
            let ack = try JSONParser.parse(m.frames.last ?? [])
            if ack["status"] == "accepted", let id = ack["id"]?.stringValue { ackedByA.append(id) }
        }
        await a.kill9()
        let killed = Date()
        while let m = await ca.ingress.mailbox.take(within: 0.2) {
            let ack = try JSONParser.parse(m.frames.last ?? [])
            if ack["status"] == "accepted", let id = ack["id"]?.stringValue { ackedByA.append(id) }
        }
        #expect(ackedByA.count >= 50)
        let taken = try await waitForLeases(database, within: 30) { $0 == ["node-b": 256] }
        #expect(taken == ["node-b": 256])
        let failover = Date().timeIntervalSince(killed)
        print("kill -9 failover: node-b owns all 256 shards \(String(format: "%.1f", failover)) s after the kill (TTL 10 s, rounds 500 ms)")
        #expect(failover < 14, "failover after kill -9 took \(failover) s")
        // The producer sends everything again to the survivor: what node a acknowledged is a duplicate.
        var duplicates = Set<String>()
        for k in 0..<n {
            let ack = try await cb.ingress.call(lead(id: "kill-\(k)", account: "kill-\(k)", colleagues: [colleague("kill-\(k)", 1, name: "Sam Smith")]))
            #expect(ack["status"] == "accepted" || ack["status"] == "duplicate", "\(ack)")
            if ack["status"] == "duplicate" { duplicates.insert("kill-\(k)") }
        }
        #expect(Set(ackedByA).isSubset(of: duplicates), "acknowledged by node a, then lost: \(Set(ackedByA).subtracting(duplicates).sorted().prefix(5))")
        let log = try await cb.replay()
        #expect(log.map { $0["seq"]?.int } == (1...Int64(log.count)).map { $0 }, "the log is gap-free")
        let started = log.filter { $0["type"] == "campaign.started" }
        #expect(started.count == n, "one campaign per account: \(started.count)")
        let touches = log.filter { $0["type"] == "touchpoint.due" }.compactMap { $0["touchpoint_id"]?.stringValue }
        #expect(touches.count == Set(touches).count, "a touch is in the log twice")
        await ca.close()
        await cb.close()
        #expect(await b.terminate() == 0)
    }
}

extension PostgresEndToEndTests {
    /// A node joining and a node leaving, under a steady stream of leads: node c joins nodes a and b and takes
    /// its share of the shards, then b leaves on SIGTERM and its shards go to a and c, all while leads of new
    /// accounts keep coming. Every acknowledged lead is stored, once; the clocks start on a Saturday, so every
    /// first touch is a timer (Monday 09:00) that moved with its shard; advanced to Monday on every remaining
    /// node, every campaign sends its first touch exactly once (twice: a campaign ran on two nodes; never:
    /// it stopped in a handover).
    @Test(.timeLimit(.minutes(2)))
    func aNodeJoiningAndLeavingUnderLoadMovesShardsAndStopsNoCampaign() async throws {
        let began = Date()
        let database = try await TestPostgres.database("e2e-join")
        let unused = ServerProcess.tempDirectory()
        // Saturday noon in UTC (the leads' zone): the send window opens on Monday at 09:00.
        let saturday = "2026-02-28T12:00:00Z"
        func node(_ id: String) async throws -> ServerProcess {
            try await ServerProcess.start(dataDirectory: unused, store: database.url, virtualClock: saturday,
                                          extraArguments: ["--node-id", id])
        }
        let a = try await node("node-a"), b = try await node("node-b")
        let two = try await waitForPlacement(database, of: ["node-a", "node-b"], within: 15)
        try #require(two.settled, "\(two.counts)")
        let ca = try Clients(a.endpoints), cb = try Clients(b.endpoints)
        let stream = LeadStream(prefix: "join", nodes: [ca, cb])
        let producer = Task { try await stream.run() }
        defer { stream.stop() }

        // Node c joins mid-stream: a and b hand it its share (each at most 26 shards a round).
        try await stream.waitUntil(accepted: 60, within: 30)
        let beforeJoin = stream.acceptedCount
        let c = try await node("node-c")
        let cc = try Clients(c.endpoints)
        stream.route(to: [ca, cb, cc])
        // Every shard where the placement of three nodes puts it: c has its share (about a third), from both others.
        let placed = try await waitForPlacement(database, of: ["node-a", "node-b", "node-c"], within: 20)
        #expect(placed.settled, "\(placed.counts)")
        let three = placed.counts
        #expect(three["node-c"] ?? 0 > 50 && three["node-a"] ?? 0 < two.counts["node-a"] ?? 0
                && three["node-b"] ?? 0 < two.counts["node-b"] ?? 0, "\(two.counts) → \(three)")
        #expect(stream.acceptedCount > beforeJoin, "no lead acknowledged while node c joined")
        let cLeases = try await TestPostgres.psql(database, "SELECT count(*) FROM lease_history WHERE owner = 'node-c'")
        #expect(Int(cLeases.trimmingCharacters(in: .newlines)) ?? 0 >= three["node-c"] ?? 0, "lease_history rows of node c: \(cLeases)")
        try await stream.waitUntil(accepted: stream.acceptedCount + 60, within: 30)

        // Node b leaves mid-stream. The producer stops sending to it first (a request it read after its gateway
        // stopped would never be answered); the lead in flight to it, if any, is answered before the SIGTERM.
        let bShards = try await rows(database, "SELECT shard FROM shard_leases WHERE owner = 'node-b'").map { $0[0] }
        #expect(bShards.count == three["node-b"], "\(bShards.count) shards of node b, \(three)")
        let routed = stream.route(to: [ca, cc])
        try await stream.waitUntil(begun: routed + 1, within: 15)
        let leaving = Task { await b.terminate() }
        let after = try await waitForPlacement(database, of: ["node-a", "node-c"], within: 10)
        #expect(await leaving.value == 0)
        #expect(after.settled, "\(after.counts)")
        let heirs = try await rows(database, "SELECT owner, count(*) FROM shard_leases WHERE shard IN (\(bShards.joined(separator: ","))) GROUP BY 1 ORDER BY 1")
        #expect(heirs.map { $0[0] } == ["node-a", "node-c"], "b's shards went to: \(heirs)")
        #expect(heirs.compactMap { Int($0[1]) }.reduce(0, +) == bShards.count, "\(heirs)")
        try await stream.waitUntil(accepted: stream.acceptedCount + 60, within: 30)
        stream.stop()
        try await producer.value
        #expect(stream.unexpected.isEmpty, "\(stream.unexpected.prefix(3))")

        // Every acknowledged lead is stored: one campaign per account, started once, and every node took some.
        let accepted = stream.accepted
        let stored = try await rows(database, "SELECT account_id, campaign_id FROM campaigns WHERE account_id LIKE 'join-%'")
        let storedCampaigns = Dictionary(stored.map { ($0[0], $0[1]) }, uniquingKeysWith: { first, _ in first })
        #expect(storedCampaigns == accepted, "acknowledged but not stored: \(Set(accepted.keys).subtracting(storedCampaigns.keys).sorted().prefix(5))")
        let started = try await TestPostgres.psql(database, """
            SELECT count(*), count(DISTINCT e.account_id), count(DISTINCT h.owner) FROM events e
              JOIN lease_history h ON h.shard = e.shard AND h.epoch = e.epoch WHERE e.type = 'campaign.started'
            """)
        #expect(started == "\(accepted.count)|\(accepted.count)|3\n", "started, accounts, nodes: \(started)")
        #expect(try await TestPostgres.psql(database, "SELECT count(*) FROM events WHERE type = 'touchpoint.due'") == "0\n",
                "a touch before Monday")

        // Monday noon on both remaining nodes (one request id for both): each node runs its own shards' timers.
        let replies = try await advanceAll([ca, cc], seconds: 2 * 86_400, id: "to-monday")
        #expect(replies.allSatisfy { $0["ok"] == true && $0["now"] == "2026-03-02T12:00:00.000Z" }, "\(replies)")
        // Per campaign: its touches, their smallest and largest step, and the nodes whose leases they were written under.
        let touches = try await rows(database, """
            SELECT e.campaign_id, count(*), min(convert_from(e.body, 'UTF8')::json->>'step'),
                   max(convert_from(e.body, 'UTF8')::json->>'step'), min(h.owner), max(h.owner)
              FROM events e JOIN lease_history h ON h.shard = e.shard AND h.epoch = e.epoch
             WHERE e.type = 'touchpoint.due' GROUP BY 1
            """)
        let touched = Dictionary(touches.map { ($0[0], Int($0[1]) ?? 0) }, uniquingKeysWith: +)
        #expect(touches.allSatisfy { $0[2] == "1" && $0[3] == "1" }, "a touch past step 1: \(touches.filter { $0[2] != "1" || $0[3] != "1" }.prefix(3))")
        let firedBy = Set(touches.flatMap { $0[4...] })
        let campaigns = Set(accepted.values)
        #expect(campaigns.subtracting(touched.keys).isEmpty,
                "\(campaigns.subtracting(touched.keys).count) campaigns without a first touch: \(campaigns.subtracting(touched.keys).sorted().prefix(5))")
        #expect(Set(touched.keys).subtracting(campaigns).isEmpty, "touches of campaigns never acknowledged")
        #expect(touched.filter { $0.value != 1 }.isEmpty, "touched more than once: \(touched.filter { $0.value != 1 }.prefix(5))")
        #expect(firedBy == ["node-a", "node-c"], "\(firedBy)")
        // All on time: Monday 09:00, none late on a node whose clock was elsewhere.
        #expect(try await TestPostgres.psql(database, "SELECT count(DISTINCT at) FROM events WHERE type = 'touchpoint.due'") == "1\n")
        print("join and leave under load: \(accepted.count) leads, \(campaigns.count) first touches, c's share \(three["node-c"] ?? 0), "
              + "b's \(bShards.count) shards to a and c, \(String(format: "%.1f", Date().timeIntervalSince(began))) s")
        await ca.close()
        await cb.close()
        await cc.close()
        #expect(await a.terminate() == 0)
        #expect(await c.terminate() == 0)
    }

    /// In a cluster the virtual clock is per node. One `clock.advance` id sent to every node moves each node's
    /// clock once (its reply and target are stored under its node id), so the timers of every node's shards
    /// fire; the same id sent again to a node replays that node's reply and moves nothing.
    @Test func oneClockAdvanceIdAdvancesEveryNodeOnce() async throws {
        let database = try await TestPostgres.database("e2e-clock")
        let unused = ServerProcess.tempDirectory()
        let saturday = "2026-02-28T12:00:00Z"
        let a = try await ServerProcess.start(dataDirectory: unused, store: database.url, virtualClock: saturday, extraArguments: ["--node-id", "node-a"])
        let b = try await ServerProcess.start(dataDirectory: unused, store: database.url, virtualClock: saturday, extraArguments: ["--node-id", "node-b"])
        let placed = try await waitForPlacement(database, of: ["node-a", "node-b"], within: 15)
        try #require(placed.settled, "\(placed.counts)")
        let ca = try Clients(a.endpoints), cb = try Clients(b.endpoints)
        for k in 0..<20 {
            let ack = try await sendToOwner(lead(id: "tick-\(k)", account: "tick-\(k)"), [ca, cb])
            #expect(ack["status"] == "accepted", "\(ack)")
        }
        let owners = try await TestPostgres.psql(database, """
            SELECT DISTINCT h.owner FROM events e JOIN lease_history h ON h.shard = e.shard AND h.epoch = e.epoch ORDER BY 1
            """)
        try #require(owners == "node-a\nnode-b\n", "campaigns on both nodes: \(owners)")

        // Monday noon on both, one id: every campaign's first touch (Monday 09:00), whichever node owns it.
        let replies = try await advanceAll([ca, cb], seconds: 2 * 86_400, id: "to-monday")
        #expect(replies.allSatisfy { $0["ok"] == true && $0["now"] == "2026-03-02T12:00:00.000Z" }, "\(replies)")
        let touches = "SELECT count(*), count(DISTINCT campaign_id) FROM events WHERE type = 'touchpoint.due'"
        let touched = try await TestPostgres.psql(database, touches)
        #expect(touched == "20|20\n", "touches, campaigns touched: \(touched)")
        // The same id again, to each node: its own reply, byte for byte, and no clock moved.
        #expect(try await advanceAll([ca, cb], seconds: 2 * 86_400, id: "to-monday") == replies)
        let again = try await TestPostgres.psql(database, touches)
        #expect(again == "20|20\n", "touches, campaigns touched: \(again)")
        let second = try await advanceAll([ca, cb], seconds: 1, id: "one-more-second")
        #expect(second.map { $0["now"] } == ["2026-03-02T12:00:01.000Z", "2026-03-02T12:00:01.000Z"], "\(second)")
        let keys = try await TestPostgres.psql(database, "SELECT key FROM meta WHERE key LIKE 'clock.advance%to-monday' ORDER BY 1")
        #expect(keys == """
            clock.advance.target/node-a/to-monday
            clock.advance.target/node-b/to-monday
            clock.advance/node-a/to-monday
            clock.advance/node-b/to-monday

            """)
        await ca.close()
        await cb.close()
        #expect(await a.terminate() == 0)
        #expect(await b.terminate() == 0)
    }
}

/// deploy/abm-cluster: one command starts a throwaway PostgreSQL and N nodes on loopback, prints their
/// endpoints, serves, and stops everything cleanly on SIGTERM (nodes drained, database stopped, directory gone).
@Suite(.timeLimit(.minutes(2)))
struct ClusterLauncherTests {
    @Test func theLauncherStartsServesAndStopsCleanly() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var environment = ProcessInfo.processInfo.environment
        environment["ABM"] = try ServerProcess.binary.path
        let launcher = try ChildProcess(root.appendingPathComponent("deploy/abm-cluster").path, ["2"], environment: environment,
                                        directory: root.path, standardOutput: .pipe, standardError: .standardOutput)
        let out = try #require(launcher.standardOutput)
        let lines = try await onThread { () -> [String] in
            var collected: [String] = []
            var buffer = Data()
            while collected.last != "cluster ready" {
                let chunk = out.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let nl = buffer.firstIndex(of: 0x0A) {
                    collected.append(String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self))
                    buffer.removeSubrange(buffer.startIndex...nl)
                }
            }
            return collected
        }
        try #require(lines.last == "cluster ready", "\(lines)")
        func endpoint(_ node: Int, _ kind: String) throws -> String {
            try #require(lines.first { $0.hasPrefix("node-\(node) \(kind) ") }?.split(separator: " ").last.map(String.init))
        }
        let database = try #require(lines.first { $0.hasPrefix("database ") }?.dropFirst("database ".count))
        #expect(database.hasPrefix("postgresql://postgres@127.0.0.1:"))
        let nodes = try (1...2).map { try AbmEndpoints(ingress: endpoint($0, "ingress"), control: endpoint($0, "control"), events: endpoint($0, "events")) }
        #expect(Set(nodes.map(\.ingress)).count == 2)
        // A lead is accepted by the node that owns its account, and both nodes know the campaign.
        let clients = try nodes.map { try Clients($0) }
        let ack = try await sendToOwner(lead(id: "launcher-1", account: "launcher"), clients)
        #expect(ack["status"] == "accepted", "\(ack)")
        for c in clients {
            let log = try await c.replay()
            #expect(log.contains { $0["type"] == "campaign.started" && $0["account_id"] == "launcher" })
            await c.close()
        }
        launcher.send(SIGTERM)
        #expect(await launcher.wait(within: 60) == .exit(0))
        let rest = String(decoding: out.readDataToEndOfFile(), as: UTF8.self)
        #expect(rest.contains("cluster stopped"), "\(rest)")
        let directory = try #require(lines.first { $0.hasPrefix("logs ") }?.dropFirst("logs ".count))
        #expect(!FileManager.default.fileExists(atPath: String(directory)), "the launcher left \(directory)")
    }
}

/// Sends a request to whichever node owns its account's shard (the others answer not_owner) and returns that
/// node's reply. While nodes rebalance, a shard being handed over is owned by none for a moment: the request is
/// then sent again (the same id: a not_owner refusal stored nothing), for at most 10 s.
func sendToOwner(_ body: JSONValue, _ nodes: [Clients]) async throws -> JSONValue {
    let deadline = ContinuousClock.now + .seconds(10)
    while true {
        for node in nodes {
            let reply = try await node.ingress.call(body)
            if reply["error"]?["code"] != "not_owner" { return reply }
        }
        guard ContinuousClock.now < deadline else { throw Timeout(what: "a node owning the account of \(body["lead"]?["account_id"] ?? body)") }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// Advances the virtual clock of every node by `seconds`, one node after the other, with the same request id:
/// in a cluster the clock is per node (each fires the timers of the shards it owns), and each node stores its
/// `clock.advance` reply under its own node id, so every node moves once and a resend replays that node's reply.
func advanceAll(_ nodes: [Clients], seconds: Int64, id: String = UUID().uuidString) async throws -> [JSONValue] {
    var replies: [JSONValue] = []
    for node in nodes {
        replies.append(try await node.control.call(["type": "clock.advance", "id": .string(id), "seconds": .int(seconds)], within: 60))
    }
    return replies
}

/// A producer of leads, each of a new account (`PREFIX-k`, also its id), sent one after another to its owner
/// among the nodes it is routed to now (`sendToOwner`), until stopped: a steady load while nodes come and go.
final class LeadStream: Sendable {
    private struct State {
        var nodes: [Clients]
        var begun = 0
        var accepted: [String: String] = [:]
        var unexpected: [String] = []
        var stopped = false
        var failure: String?
    }

    let prefix: String
    private let state: Mutex<State>

    init(prefix: String, nodes: [Clients]) {
        self.prefix = prefix
        state = Mutex(State(nodes: nodes))
    }

    /// Sends until `stop()`; throws what ended it before (a lead no node took within `sendToOwner`'s bound).
    func run() async throws {
        do { try await send() } catch {
            state.withLock { $0.failure = "\(error)"; $0.stopped = true }
            throw error
        }
    }

    private func send() async throws {
        while true {
            let next: (Int, [Clients])? = state.withLock { s in
                guard !s.stopped else { return nil }
                s.begun += 1
                return (s.begun - 1, s.nodes)
            }
            guard let (k, nodes) = next else { return }
            let account = "\(prefix)-\(k)"
            let ack = try await sendToOwner(lead(id: account, account: account), nodes)
            state.withLock { s in
                if ack["status"] == "accepted", let campaign = ack["campaign_id"]?.stringValue {
                    s.accepted[account] = campaign
                } else {
                    s.unexpected.append("\(ack)")
                }
            }
        }
    }

    func stop() { state.withLock { $0.stopped = true } }

    /// Sends the next leads to `nodes`; returns the number of the first lead that goes there (the one before
    /// may still be in flight to the previous nodes: `waitUntil(begun:)` past it).
    @discardableResult
    func route(to nodes: [Clients]) -> Int {
        state.withLock { s in
            s.nodes = nodes
            return s.begun
        }
    }

    /// Account → campaign id of every lead acknowledged `accepted`.
    var accepted: [String: String] { state.withLock { $0.accepted } }
    var acceptedCount: Int { state.withLock { $0.accepted.count } }
    /// Any other reply (a lead of a new account is accepted, never a duplicate nor refused).
    var unexpected: [String] { state.withLock { $0.unexpected } }

    /// Polls (bounded) until `accepted` leads were acknowledged.
    func waitUntil(accepted n: Int, within seconds: Double) async throws {
        try await poll(within: seconds, "\(n) accepted leads") { $0.accepted.count >= n }
    }

    /// Polls (bounded) until `n` leads were begun (so every lead before the last of them was answered).
    func waitUntil(begun n: Int, within seconds: Double) async throws {
        try await poll(within: seconds, "\(n) leads begun") { $0.begun >= n }
    }

    private func poll(within seconds: Double, _ what: String, _ done: (State) -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while !state.withLock({ done($0) }) {
            if let failure = state.withLock({ $0.failure }) { throw Timeout(what: "\(what): the stream stopped on \(failure)") }
            guard ContinuousClock.now < deadline else { throw Timeout(what: what) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
