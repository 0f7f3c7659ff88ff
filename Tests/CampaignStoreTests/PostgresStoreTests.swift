import CampaignPostgres
import CampaignStore
import Foundation
import PostgresTestSupport
import Testing

/// What only the PostgreSQL engine has: several store instances (processes) on one database, fenced by the shard
/// leases; the cluster-wide event counter; versioned migrations; the connection URL.
@Suite("PostgreSQL store")
struct PostgresStoreTests {
    private func open(_ database: TestDatabase) async throws -> PostgresStore {
        try await PostgresStore(configuration: try PostgresStoreConfiguration(url: database.url))
    }

    @Test("a batch touching an address another process suppressed is rolled back with store.suppressed (plain or erased)")
    func touchesOfSuppressedAddressesAreRefused() async throws {
        let database = try await TestPostgres.database("suppressed")
        let one = try await open(database)
        let other = try await open(database)
        // The other process suppresses one address plainly, and keeps another only as the hash of an erasure.
        _ = try await other.commit([AccountWrite(accountId: "b", events: [event("b")], suppressions: ["pat@x.example", "gone@x.example"])])
        _ = try await other.commit([AccountWrite(accountId: "b", events: [event("b")], erasure: ErasureWrite(
            email: "gone@x.example", emailSHA256: "c93b3676408411eae2785a2e157f2b9eebfc01e6332252b79c729224661a113a", eventRewrites: []))])
        let before = try await one.lastSeq()
        for address in ["pat@x.example"] {
            var touching = AccountWrite(accountId: "a", state: json("{\"v\":1}"), events: [event("a")])
            touching.touches = [address, "free@x.example"]
            let free = AccountWrite(accountId: "c", state: json("{\"v\":1}"), events: [event("c")])
            do {
                _ = try await one.commit([free, touching])
                Issue.record("a touch of \(address) committed")
            } catch let error as StoreError {
                #expect(error.code == StoreError.suppressedCode && error.suppressedEmails == [address], "\(error)")
            }
            #expect(try await one.lastSeq() == before, "nothing of the batch stored")
        }
        // The erased address is refused by its hash entry; an address nobody suppressed commits.
        var erased = AccountWrite(accountId: "a", events: [event("a")])
        erased.touches = ["gone@x.example"]
        do {
            _ = try await one.commit([erased])
            Issue.record("a touch of an erased address committed")
        } catch let error as StoreError {
            #expect(error.code == StoreError.suppressedCode && error.suppressedEmails == ["gone@x.example"], "\(error)")
        }
        var fine = AccountWrite(accountId: "a", events: [event("a")])
        fine.touches = ["free@x.example"]
        #expect(try await one.commit([fine])[0].count == 1)
        try await one.close()
        try await other.close()
    }

    @Test("a store whose lease was taken over by another owner writes nothing and fails with store.fenced")
    func fencedAfterTakeover() async throws {
        let database = try await TestPostgres.database("fence")
        let old = try await open(database)
        let new = try await open(database)
        let shard = accountShard("acme")
        let oldEpoch = try #require(try await old.acquireShards([shard], owner: "node-a")[shard])
        let before = AccountWrite(accountId: "acme", state: json("{\"v\":1}"), events: [event("acme")], epoch: oldEpoch)
        #expect(try await old.commit([before])[0].map(\.seq) == [1])

        let newEpoch = try #require(try await new.acquireShards([shard], owner: "node-b")[shard])
        #expect(newEpoch == oldEpoch + 1)
        #expect(try await old.shardLeases()[shard] == ShardLease(owner: "node-b", epoch: newEpoch))

        // Under the old epoch, stamped on the write or only known to the instance: refused, whole batch.
        let stamped = AccountWrite(accountId: "acme", state: json("{\"v\":2}"), timer: .set(t(60)),
                                   events: [event("acme")], request: (RequestKey(space: .ingress, id: "late"), json("{}")),
                                   suppressions: ["late@x.io"], epoch: oldEpoch)
        await expectStoreError(StoreError.fencedCode) { _ = try await old.commit([stamped]) }
        var unstamped = stamped
        unstamped.epoch = nil
        await expectStoreError(StoreError.fencedCode) { _ = try await old.commit([write("other-shard-free"), unstamped]) }

        for store in [old, new] {
            #expect(try await store.lastSeq() == 1)
            #expect(try await store.loadAccount(accountId: "acme")?.version == 1)
            #expect(try await store.timer(accountId: "acme") == nil)
            #expect(try await store.reply(for: RequestKey(space: .ingress, id: "late")) == nil)
            #expect(try await store.isSuppressed(email: "late@x.io") == false)
            #expect(try await store.loadState(accountId: "other-shard-free") == nil)
        }
        // The new owner writes on; its events carry its epoch and the shard.
        var current = stamped
        current.epoch = newEpoch
        #expect(try await new.commit([current])[0].map(\.seq) == [2])
        let rows = try await TestPostgres.psql(database, "SELECT seq, shard, epoch FROM events ORDER BY seq")
        #expect(rows == "1|\(shard)|\(oldEpoch)\n2|\(shard)|\(newEpoch)\n")
        let history = try await TestPostgres.psql(database, "SELECT epoch, owner FROM lease_history WHERE shard = \(shard) ORDER BY epoch")
        #expect(history == "\(oldEpoch)|node-a\n\(newEpoch)|node-b\n")
        try await old.close()
        try await new.close()
    }

    @Test("two store instances committing at once share one gap-free seq, each batch contiguous")
    func clusterWideSeq() async throws {
        let database = try await TestPostgres.database("seq")
        let stores = [try await open(database), try await open(database)]
        let seen = try await withThrowingTaskGroup(of: [[Int64]].self) { group in
            for (n, store) in stores.enumerated() {
                for committer in 0..<4 {
                    group.addTask {
                        var batches: [[Int64]] = []
                        for round in 0..<20 {
                            let writes = (0..<(1 + round % 3)).map { write("s\(n)-c\(committer)-\($0)", events: 1 + $0 % 2) }
                            batches.append(try await store.commit(writes).flatMap { $0.map(\.seq) })
                        }
                        return batches
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        for seqs in seen { #expect(seqs == Array(seqs[0]..<(seqs[0] + Int64(seqs.count)))) }
        let all = seen.flatMap { $0 }.sorted()
        #expect(all == Array(1...Int64(all.count)))
        #expect(try await stores[1].events(afterSeq: 0, limit: 10_000).map(\.seq) == all)
        #expect(try await stores[0].lastSeq() == Int64(all.count))
        #expect(try await stores[0].accountCount() == 2 * 4 * 3)
        for store in stores { try await store.close() }
    }

    @Test("migrations are recorded, applied once, and a database from a newer build is refused")
    func migrations() async throws {
        let database = try await TestPostgres.database("migrate")
        let first = try await open(database)
        #expect(try await first.appliedMigrations() == ["v1", "v2-shard-leases", "v3-campaign-index",
                                                        "v4-events-by-account", "v5-request-time", "v6-node-liveness",
                                                        "v7-peer-endpoint"])
        #expect(PostgresStore.schemaVersion == "v7-peer-endpoint")
        _ = try await first.commit([write("a", events: 2)])
        try await first.close()

        let again = try await open(database)
        #expect(try await again.appliedMigrations().count == 7)
        #expect(try await again.commit([write("b", events: 1)])[0].map(\.seq) == [3])
        try await again.close()

        try await TestPostgres.psql(database, "INSERT INTO schema_migrations(version) VALUES ('v99-from-the-future')")
        do {
            _ = try await open(database)
            Issue.record("a database with an unknown migration was opened")
        } catch let error as StoreError {
            #expect(error.code == "store.schema_too_new", "\(error)")
        }
    }

    @Test("an unreachable server fails the open with store.unavailable, in bounded time")
    func unreachable() async throws {
        // A port nothing listens on: the database's own port, on a database server that is not there.
        var configuration = PostgresStoreConfiguration(host: "127.0.0.1", port: 1, database: "none")
        configuration.connectTimeout = .milliseconds(500)
        let started = ContinuousClock.now
        await expectStoreError(StoreError.unavailableCode) { _ = try await PostgresStore(configuration: configuration) }
        // connectTimeout + 2 s at most, with room for a loaded machine.
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("connection URLs: user, password, host, port, database, sslmode; mistakes named")
    func urls() throws {
        let full = try PostgresStoreConfiguration(url: "postgresql://abm:s%40cret@db.example:6543/campaigns?sslmode=disable")
        #expect(full.username == "abm")
        #expect(full.password == "s@cret")
        #expect(full.host == "db.example")
        #expect(full.port == 6543)
        #expect(full.database == "campaigns")
        #expect(full.preferTLS == false)
        #expect(full.redactedURL == "postgresql://abm@db.example:6543/campaigns")
        let short = try PostgresStoreConfiguration(url: "postgres://me@[::1]/abm")
        #expect(short.host == "::1")
        #expect(short.port == 5432)
        #expect(short.password == nil)
        #expect(short.preferTLS)
        for bad in ["postgresql://host/db", "postgresql://u@/db", "postgresql://u@h:5432", "postgresql://u@h/db?x=1",
                    "mysql://u@h/db"] {
            #expect(throws: StoreError.self, "\(bad)") { _ = try PostgresStoreConfiguration(url: bad) }
        }
        do {
            _ = try PostgresStoreConfiguration(url: "postgresql://u:hunter2@h/db?bogus=1")
        } catch let error as StoreError {
            #expect(error.code == "store.bad_url")
            #expect(!error.message.contains("hunter2"))
        }
    }
}
