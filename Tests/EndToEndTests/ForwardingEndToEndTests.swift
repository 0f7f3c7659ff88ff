import AbmTestSupport
import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import PostgresTestSupport
import Testing

/// `abm serve --store postgresql://… --peer tcp://…`: any node accepts any request; one for a shard another node
/// owns is forwarded to that node's internal ROUTER and acknowledged once the owner committed it.
@Suite(.timeLimit(.minutes(2)))
struct ForwardingEndToEndTests {
    /// The live owner of each shard, from the database.
    private func owners(_ database: TestDatabase) async throws -> [Int: String] {
        let rows = try await TestPostgres.psql(database, """
            SELECT l.shard, l.owner FROM shard_leases l JOIN cluster_nodes n
              ON n.node_id = l.owner AND n.incarnation = l.owner_incarnation AND n.expires_at > now()
            """)
        var owners: [Int: String] = [:]
        for line in rows.split(separator: "\n") {
            let parts = line.split(separator: "|").map(String.init)
            if parts.count == 2, let shard = Int(parts[0]) { owners[shard] = parts[1] }
        }
        return owners
    }

    /// The first `count` account ids `PREFIX-K` whose shard `node` owns.
    private func accounts(_ prefix: String, ownedBy node: String, _ owner: [Int: String], count: Int) -> [String] {
        Array((0...).lazy.map { "\(prefix)-\($0)" }.filter { owner[accountShard($0)] == node }.prefix(count))
    }

    /// The first account id `PREFIX-K` whose shard `node` owns.
    private func account(_ prefix: String, ownedBy node: String, _ owner: [Int: String]) -> String {
        accounts(prefix, ownedBy: node, owner, count: 1)[0]
    }

    /// Starts two nodes with internal ROUTERs and waits (bounded: placement runs on real time) until they split
    /// the shards and each has routed a probe to the other, i.e. both know where the other's shards are.
    private func twoForwardingNodes(_ database: TestDatabase, extraArguments: [String] = [], logLevel: String = "warning",
                                    logFiles: [String?] = [nil, nil]) async throws -> (ServerProcess, ServerProcess, [Int: String]) {
        let unused = ServerProcess.tempDirectory()
        var nodes: [ServerProcess] = []
        for (name, logFile) in zip(["node-1", "node-2"], logFiles) {
            nodes.append(try await ServerProcess.start(dataDirectory: unused, store: database.url, logLevel: logLevel, logFile: logFile,
                                                       extraArguments: ["--node-id", name, "--peer", "tcp://127.0.0.1:*"] + extraArguments))
        }
        #expect(nodes.allSatisfy { $0.peerEndpoint?.hasPrefix("tcp://127.0.0.1:") == true })
        let deadline = Date().addingTimeInterval(15)
        var split = try await owners(database)
        while Date() < deadline {
            let counts = Dictionary(grouping: split.values, by: { $0 }).mapValues(\.count)
            if counts.count == 2, counts.values.allSatisfy({ $0 > 100 }), split.count == 256 {
                // Stable for one more round (500 ms), so that both nodes' routes are read after the last move.
                try await Task.sleep(for: .milliseconds(600))
                let again = try await owners(database)
                if again == split { return (nodes[0], nodes[1], split) }
                split = again
                continue
            }
            try await Task.sleep(for: .milliseconds(50))
            split = try await owners(database)
        }
        throw Timeout(what: "two nodes splitting the shards: \(split.count) leased")
    }

    @Test func eitherNodeAcceptsEveryAccountAndAcksAfterTheOwnersCommit() async throws {
        let database = try await TestPostgres.database("fwd")
        let (one, two, owner) = try await twoForwardingNodes(database, extraArguments: ["--http", "127.0.0.1:0"])
        let c1 = try Clients(one.endpoints), c2 = try Clients(two.endpoints)
        let accounts = (0..<120).map { "fwd-\($0)" }
        let ownedByTwo = accounts.filter { owner[accountShard($0)] == "node-2" }
        let ownedByOne = accounts.filter { owner[accountShard($0)] == "node-1" }
        #expect(ownedByTwo.count > 20 && ownedByOne.count > 20)

        // Every lead to node-1 is accepted, whoever owns its account; one the other node owns is in the database
        // when its ack arrives (acknowledged after the owner's commit).
        var campaigns: [String: JSONValue] = [:]
        for account in accounts {
            let ack = try await c1.ingress.call(lead(id: "l-\(account)", account: account))
            #expect(ack["status"] == "accepted", "\(account): \(ack)")
            campaigns[account] = ack["campaign_id"]
            if account == ownedByTwo.first || account == ownedByTwo.last {
                let stored = try await TestPostgres.psql(database, "SELECT count(*) FROM campaigns WHERE account_id = '\(account)'")
                #expect(stored == "1\n", "\(account) acked by node-1 but not stored by node-2")
            }
        }
        // The same ids through node-2: duplicates with the original campaign, whichever node answers.
        for account in accounts {
            let again = try await c2.ingress.call(lead(id: "l-\(account)", account: account))
            #expect(again["status"] == "duplicate" && again["campaign_id"] == campaigns[account], "\(account): \(again)")
        }
        let stored = try await TestPostgres.psql(database, "SELECT count(DISTINCT account_id) FROM campaigns WHERE account_id LIKE 'fwd-%'")
        #expect(stored == "\(accounts.count)\n")
        // Each campaign started exactly once, by its account's owner (its events carry the owner's lease epoch).
        let started = try await TestPostgres.psql(database,
            "SELECT count(*) FROM events WHERE type = 'campaign.started' AND account_id LIKE 'fwd-%'")
        #expect(started == "\(accounts.count)\n")

        // Control requests too: status through either node, a pause through the node that does not own the account.
        for account in [ownedByOne[0], ownedByTwo[0]] {
            for (k, c) in [c1, c2].enumerated() {
                let status = try await c.control.call(["type": "status", "id": .string("st-\(k)-\(account)"),
                                                       "account_id": .string(account)])
                #expect(status["ok"] == true && status["campaign"]?["campaign_id"] == campaigns[account], "\(status)")
            }
        }
        let paused = try await c1.control.call(["type": "pause", "id": "p-1", "account_id": .string(ownedByTwo[1])])
        #expect(paused["ok"] == true, "\(paused)")
        let seen = try await c2.control.call(["type": "status", "id": "st-p", "account_id": .string(ownedByTwo[1])])
        #expect(seen["campaign"]?["status"] == "paused", "\(seen)")

        // A client pipelining a lead and a reply about one account through the non-owner: applied in its order.
        let account = self.account("piped", ownedBy: "node-1", owner)
        try await c2.ingress.send(lead(id: "pipe-lead", account: account))
        try await c2.ingress.send(["type": "response", "id": "pipe-reply", "account_id": .string(account),
                                   "contact_email": .string("jane@\(account).example.com"), "kind": "reply", "text": "Yes"])
        let first = try await c2.ingress.receiveJSON(), second = try await c2.ingress.receiveJSON()
        #expect(first["id"] == "pipe-lead" && first["status"] == "accepted", "\(first)")
        #expect(second["id"] == "pipe-reply" && second["status"] == "accepted", "\(second)")
        let after = try await c1.control.call(["type": "status", "id": "st-piped", "account_id": .string(account)])
        #expect(after["campaign"]?["status"] == "paused", "a reply applied after its lead pauses the campaign: \(after)")

        // node-1 forwarded the leads of node-2's accounts and 2 control requests (a status, the pause): answered.
        let metrics = try await HTTPEndToEndTests.get(try #require(one.httpURL) + "metrics").1
        let answered = metrics.split(separator: "\n").first { $0.hasPrefix(#"abm_forwarded_requests_total{outcome="answered"}"#) }
        #expect(answered.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } == ownedByTwo.count + 2, "\(answered ?? "none")")

        await c1.close()
        await c2.close()
        #expect(await one.terminate() == 0)
        #expect(await two.terminate() == 0)
    }

    /// An owner killed while its liveness row still stands: a request forwarded to it gets no answer and is
    /// refused with `internal` (nothing known stored; resend the same id) within the forward timeout; once the
    /// other node took the shards over, the resend is accepted there.
    @Test func aRequestForwardedToADeadOwnerIsRefusedThenAcceptedAfterFailover() async throws {
        let database = try await TestPostgres.database("fwddead")
        let (one, two, owner) = try await twoForwardingNodes(database)
        let c1 = try Clients(one.endpoints)
        let account = self.account("dead", ownedBy: "node-2", owner)
        let local = self.account("alive", ownedBy: "node-1", owner)
        await two.kill9()
        let sent = Date()
        try await c1.ingress.send(lead(id: "to-the-dead", account: account))
        // The same connection's next lead, for node-1's own account, is not held up behind the dead owner's.
        let first = try await c1.ingress.call(lead(id: "to-the-living", account: local), within: 20)
        #expect(first["id"] == "to-the-living" && first["status"] == "accepted", "\(first)")
        #expect(Date().timeIntervalSince(sent) < 2, "node-1's own lead waited \(Date().timeIntervalSince(sent)) s")
        let refused = try await c1.ingress.receiveJSON(within: 20)
        #expect(refused["status"] == "rejected" && refused["error"]?["code"] == "internal", "\(refused)")
        #expect(refused["error"]?["message"]?.stringValue?.contains("resend the same id") == true, "\(refused)")
        #expect(Date().timeIntervalSince(sent) < 8, "refused after \(Date().timeIntervalSince(sent)) s")
        let accepted = try await sendUntilServed(lead(id: "to-the-dead", account: account), c1, within: 20)
        #expect(accepted["status"] == "accepted", "\(accepted)")
        await c1.close()
        #expect(await one.terminate() == 0)
    }

    /// With CURVE, the nodes share the server key pair: forwarding works through the internal ROUTER, which
    /// admits that key only (a producer's key is refused there, in ZAP domain `abm.peer`).
    @Test func withCurveNodesForwardWithTheServerKeyAndTheInternalRouterAdmitsNoOtherKey() async throws {
        let dir = ServerProcess.tempDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func path(_ name: String) -> String { dir + "/" + name }
        for name in ["server", "producer", "operator"] {
            #expect(try await CurveEndToEndTests.abm(["keygen", path(name)]).status == 0)
        }
        try String(contentsOfFile: path("producer.pub"), encoding: .utf8).write(toFile: path("producers.list"), atomically: true, encoding: .utf8)
        try String(contentsOfFile: path("operator.pub"), encoding: .utf8).write(toFile: path("operators.list"), atomically: true, encoding: .utf8)
        try "# nobody\n".write(toFile: path("subscribers.list"), atomically: true, encoding: .utf8)
        let database = try await TestPostgres.database("fwdcurve")
        let (one, two, owner) = try await twoForwardingNodes(database, extraArguments: [
            "--curve-secret-key", path("server.key"), "--allow-producers", path("producers.list"),
            "--allow-operators", path("operators.list"), "--allow-subscribers", path("subscribers.list"),
        ], logLevel: "notice", logFiles: [path("node-1.log"), path("node-2.log")])
        let account = self.account("curve", ownedBy: "node-2", owner)
        try #"{"account_id": "ACCOUNT", "email": "sam@acct.example.com", "name": "Sam Lee", "timezone": "UTC"}"#
            .replacingOccurrences(of: "ACCOUNT", with: account).write(toFile: path("lead.json"), atomically: true, encoding: .utf8)
        func lead(at endpoint: String, id: String, timeout: String) async throws -> CurveEndToEndTests.Run {
            try await CurveEndToEndTests.abm(["lead", path("lead.json"), "--id", id, "--ingress", endpoint, "--timeout", timeout,
                                              "--server-key", path("server.pub"), "--key", path("producer.key")])
        }
        // Through node-1, which does not own the account: forwarded over CURVE to node-2, accepted.
        let forwarded = try await lead(at: one.endpoints.ingress, id: "c-1", timeout: "10")
        #expect(forwarded.status == 0 && forwarded.stdout.contains("accepted"), "\(forwarded.stdout) \(forwarded.stderr)")
        #expect(try await TestPostgres.psql(database, "SELECT count(*) FROM campaigns WHERE account_id = '\(account)'") == "1\n")
        // The producer's key straight at node-2's internal ROUTER: refused by ZAP (no answer, a log line).
        let direct = try await lead(at: try #require(two.peerEndpoint), id: "c-2", timeout: "1")
        #expect(direct.status == 3, "\(direct.stdout) \(direct.stderr)")
        #expect(await one.terminate() == 0)
        #expect(await two.terminate() == 0)
        let log = try String(contentsOfFile: path("node-2.log"), encoding: .utf8)
        #expect(log.contains("refused an unknown client key") && log.contains("abm.peer"), "\(log)")
    }

    /// `erase` and `migrate` of every campaign reach every node: the one asked runs them on the others, then on
    /// its own accounts, and answers with the sum.
    @Test func eraseAndMigrateThroughOneNodeCoverTheAccountsOfEveryNode() async throws {
        let database = try await TestPostgres.database("fwderase")
        let (one, two, owner) = try await twoForwardingNodes(database)
        let c1 = try Clients(one.endpoints), c2 = try Clients(two.endpoints)
        // The same person is the primary contact of an account on each node.
        let accounts = ["node-1", "node-2"].map { self.account("erase", ownedBy: $0, owner) }
        for account in accounts {
            var body = lead(id: "l-\(account)", account: account)
            if case .object(var fields) = body, case .object(var inner)? = fields["lead"] {
                inner["email"] = "pat.person@example.org"
                fields["lead"] = .object(inner)
                body = .object(fields)
            }
            #expect(try await c2.ingress.call(body)["status"] == "accepted")
        }
        let mentions = "SELECT count(*) FROM events WHERE position(convert_to('pat.person@example.org', 'UTF8') in body) > 0"
        #expect(try await TestPostgres.psql(database, mentions) != "0\n")

        let erased = try await c1.control.call(["type": "erase", "id": "er-1", "email": "Pat.Person@example.org"])
        #expect(erased["ok"] == true && erased["erased"]?["accounts"] == 2, "\(erased)")
        #expect(try await TestPostgres.psql(database, mentions) == "0\n", "an event still names the person")
        let again = try await c2.control.call(["type": "erase", "id": "er-2", "email": "pat.person@example.org"])
        #expect(again["ok"] == true && again["erased"]?["accounts"] == 0, "\(again)")

        // Every campaign (both nodes' accounts): no not_owner on the way.
        let migrated = try await c1.control.call(["type": "migrate", "id": "mg-1", "playbook": "default", "to_version": 1])
        #expect(migrated["ok"] == true, "\(migrated)")
        await c1.close()
        await c2.close()
        #expect(await one.terminate() == 0)
        #expect(await two.terminate() == 0)
    }

    /// A node stopped with SIGTERM keeps answering what its peers forward it while it stops (its released shards:
    /// `not_owner` at once) until they route around it: a client of the other node never waits for the forward
    /// timeout, and every lead it resends is accepted there.
    @Test func forwardsToANodeStoppingWithSIGTERMAreAnsweredAtOnce() async throws {
        let database = try await TestPostgres.database("fwdterm")
        let (one, two, owner) = try await twoForwardingNodes(database)
        let c1 = try Clients(one.endpoints)
        let accounts = self.accounts("term", ownedBy: "node-2", owner, count: 400)
        var slowest: Double = 0
        var refusals = 0
        var stopped = false
        let started = Date()
        for (k, account) in accounts.enumerated() {
            if k == 20 { two.child.send(SIGTERM); stopped = true }
            while true {
                let sent = Date()
                let reply = try await c1.ingress.call(lead(id: "t-\(account)", account: account), within: 20)
                slowest = max(slowest, Date().timeIntervalSince(sent))
                if reply["status"] == "accepted" { break }
                #expect(["not_owner", "internal"].contains(reply["error"]?["code"]?.stringValue ?? ""), "\(reply)")
                refusals += 1
                try await Task.sleep(for: .milliseconds(20))
            }
            // Enough once node-2 has been gone a while: its shards are node-1's.
            if stopped, Date().timeIntervalSince(started) > 4, k > 40 { break }
        }
        #expect(slowest < 2, "a request waited \(slowest) s (the forward timeout is 5 s)")
        #expect(await two.exitStatus(within: 30) == 0)
        await c1.close()
        #expect(await one.terminate() == 0)
    }

    /// `--peer` refusals at start, each naming the problem: without a shared store, on a wildcard host (it is
    /// advertised to the other nodes), and off loopback without CURVE.
    @Test func peerOptionsThatCannotWorkAreRefusedAtStart() async throws {
        let noStore = try await StartupTests.serveExpectingExit(StartupTests.ephemeral + ["--data-dir", ":memory:",
                                                                                           "--peer", "tcp://127.0.0.1:*"])
        #expect(noStore.status != 0 && noStore.stderr.contains("--peer needs --store"), "\(noStore.stderr)")
        let database = try await TestPostgres.database("fwdopts")
        let wildcard = try await StartupTests.serveExpectingExit(StartupTests.ephemeral + ["--store", database.url,
                                                                                           "--peer", "tcp://0.0.0.0:*"])
        #expect(wildcard.status != 0 && wildcard.stderr.contains("binds every interface"), "\(wildcard.stderr)")
        let open = try await StartupTests.serveExpectingExit(StartupTests.ephemeral + ["--store", database.url,
                                                                                       "--peer", "tcp://10.1.2.3:7000"])
        #expect(open.status == 2 && open.stderr.contains("insecure_bind: peer binds tcp://10.1.2.3:7000"), "\(open.stderr)")
        #expect(!open.stdout.contains("ready"))
    }

    /// Sends again (the same id) while the answer is a retryable refusal (`not_owner`, `internal`), bounded.
    private func sendUntilServed(_ body: JSONValue, _ node: Clients, within seconds: Double) async throws -> JSONValue {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let reply = try await node.ingress.call(body, within: seconds)
            let code = reply["error"]?["code"]
            guard code == "not_owner" || code == "internal", Date() < deadline else { return reply }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
