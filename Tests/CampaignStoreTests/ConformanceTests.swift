import CampaignPostgres
import CampaignStore
import Foundation
import Testing

/// The semantics every `CampaignStorage` engine must share (see the protocol's doc comment).
/// Each test runs once per engine in `StoreEngine.all`.
@Suite("CampaignStorage conformance")
struct ConformanceTests {
    @Test("commit then load: state, version, events, timer, reply, suppression", arguments: StoreEngine.all)
    func roundTrip(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            let first = AccountWrite(
                accountId: "a1", state: json("{\"step\":1}"), timer: .set(t(60)),
                events: [event("a1", "lead.accepted", body: "{\"lead\":\"L1\"}"), event("a1", "touch.sent", body: "{}")],
                request: (RequestKey(space: .ingress, id: "r1"), json("{\"status\":\"accepted\"}")),
                suppressions: ["Bob@Example.com"])
            let stored = try await store.commit([first])
            #expect(stored.count == 1)
            #expect(stored[0].map(\.seq) == [1, 2])
            #expect(stored[0][0].body == json("{\"seq\":1,\"lead\":\"L1\"}"))
            #expect(stored[0][1].body == json("{\"seq\":2}"))
            #expect(stored[0][0].type == "lead.accepted")
            #expect(stored[0][0].campaignId == "camp-1")
            #expect(stored[0][0].at == t(0))
            #expect(try await store.events(afterSeq: 0, limit: 10) == stored[0])

            #expect(try await store.loadState(accountId: "a1") == json("{\"step\":1}"))
            #expect(try await store.loadAccount(accountId: "a1")
                    == StoredAccount(accountId: "a1", shard: accountShard("a1"), state: json("{\"step\":1}"), version: 1))
            #expect(try await store.loadState(accountId: "nobody") == nil)
            #expect(try await store.loadAccount(accountId: "nobody") == nil)
            #expect(try await store.timer(accountId: "a1") == t(60))
            #expect(try await store.reply(for: RequestKey(space: .ingress, id: "r1")) == json("{\"status\":\"accepted\"}"))
            #expect(try await store.reply(for: RequestKey(space: .control, id: "r1")) == nil)
            #expect(try await store.isSuppressed(email: "bob@example.com"))
            #expect(try await store.isSuppressed(email: "BOB@EXAMPLE.COM"))
            #expect(try await store.lastSeq() == 2)
            #expect(try await store.accountCount() == 1)

            // A second write of the same account: new state, version 2, still one account; nil state keeps it.
            _ = try await store.commit([write("a1", state: "{\"step\":2}", events: 0)])
            #expect(try await store.loadAccount(accountId: "a1")?.version == 2)
            _ = try await store.commit([write("a1", state: nil, events: 1)])
            #expect(try await store.loadAccount(accountId: "a1")
                    == StoredAccount(accountId: "a1", shard: accountShard("a1"), state: json("{\"step\":2}"), version: 2))
            #expect(try await store.accountCount() == 1)
            _ = try await store.commit([write("a2"), write("a3")])
            #expect(try await store.accountCount() == 3)
        }
    }

    @Test("a batch's reads: stored replies and states of several accounts at once, empty values kept", arguments: StoreEngine.all)
    func batchReads(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            _ = try await store.commit([
                AccountWrite(accountId: "a1", state: json("{\"n\":1}"),
                             request: (RequestKey(space: .ingress, id: "r1"), json("{\"ok\":1}"))),
                AccountWrite(accountId: "a2", state: Data(), request: (RequestKey(space: .control, id: "r1"), Data())),
            ])
            let keys = [RequestKey(space: .ingress, id: "r1"), RequestKey(space: .control, id: "r1"),
                        RequestKey(space: .ingress, id: "nope")]
            #expect(try await store.replies(for: keys)
                    == [RequestKey(space: .ingress, id: "r1"): json("{\"ok\":1}"), RequestKey(space: .control, id: "r1"): Data()])
            #expect(try await store.replies(for: []) == [:])
            #expect(try await store.loadStates(accountIds: ["a1", "a2", "a3", "a1"]) == ["a1": json("{\"n\":1}"), "a2": Data()])
            #expect(try await store.loadStates(accountIds: []) == [:])
        }
    }

    @Test("event bodies get seq as their first key, whitespace tolerated", arguments: StoreEngine.all)
    func eventBodyNumbering(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            let bodies = ["{}", " { } ", "{\"a\":[1,{\"b\":2}]}", "\n{\"a\":1}\n"]
            let stored = try await store.commit([AccountWrite(accountId: "a", events: bodies.map { event("a", body: $0) })])
            #expect(stored[0].map { String(decoding: $0.body, as: UTF8.self) }
                    == ["{\"seq\":1}", "{\"seq\":2}", "{\"seq\":3,\"a\":[1,{\"b\":2}]}", "{\"seq\":4,\"a\":1}"])
            for event in stored[0] {
                let object = try JSONSerialization.jsonObject(with: event.body) as? [String: Any]
                #expect((object?["seq"] as? NSNumber)?.int64Value == event.seq)
            }
        }
    }

    @Test("dates are kept to the millisecond", arguments: StoreEngine.all)
    func millisecondDates(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            let precise = Date(timeIntervalSince1970: 1_800_000_000.123_456)
            let rounded = Date(timeIntervalSince1970: 1_800_000_000.123)
            let stored = try await store.commit([AccountWrite(accountId: "a", timer: .set(precise),
                                                              events: [event("a", at: precise)])])
            #expect(stored[0][0].at == rounded)
            #expect(try await store.events(afterSeq: 0, limit: 1).first?.at == rounded)
            #expect(try await store.timer(accountId: "a") == rounded)
        }
    }

    @Test("a failing write leaves nothing of its batch", arguments: StoreEngine.all)
    func batchAtomicity(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            _ = try await store.commit([write("before", events: 2)])
            let good = write("a1", events: 2, timer: .set(t(5)), request: "r-good", suppress: ["x@example.com"])
            let clearBefore = AccountWrite(accountId: "before", state: json("{\"changed\":true}"), timer: .clear)
            let bad = AccountWrite(accountId: "a2", state: json("{}"),
                                   events: [event("a2"), NewEvent(type: "broken", accountId: "a2", campaignId: nil,
                                                                  at: t(0), body: json("[1,2]"))])
            await expectStoreError("store.event_body_not_object") {
                _ = try await store.commit([good, clearBefore, bad])
            }
            try await expectUntouchedAfterFailedBatch(store)

            // A compare-and-set failure in the last write rolls back the earlier ones too.
            await expectStoreError("store.version_conflict") {
                _ = try await store.commit([good, clearBefore, write("before", expectedVersion: 7)])
            }
            try await expectUntouchedAfterFailedBatch(store)

            // The next batch continues the sequence with no gap.
            let next = try await store.commit([write("a3")])
            #expect(next[0].map(\.seq) == [3])
        }
    }

    private func expectUntouchedAfterFailedBatch(_ store: any CampaignStorage) async throws {
        #expect(try await store.lastSeq() == 2)
        #expect(try await store.events(afterSeq: 0, limit: 100).count == 2)
        #expect(try await store.loadState(accountId: "a1") == nil)
        #expect(try await store.loadState(accountId: "a2") == nil)
        #expect(try await store.loadAccount(accountId: "before")?.version == 1)
        #expect(try await store.loadState(accountId: "before") == json("{\"s\":1}"))
        #expect(try await store.timer(accountId: "a1") == nil)
        #expect(try await store.reply(for: RequestKey(space: .ingress, id: "r-good")) == nil)
        #expect(try await store.isSuppressed(email: "x@example.com") == false)
        #expect(try await store.accountCount() == 1)
    }

    @Test("expectedVersion: 0 creates, the batch's own earlier writes count", arguments: StoreEngine.all)
    func compareAndSet(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            _ = try await store.commit([write("a", expectedVersion: 0), write("a", expectedVersion: 1),
                                        write("b", state: nil, expectedVersion: 0)])
            #expect(try await store.loadAccount(accountId: "a")?.version == 2)
            #expect(try await store.loadAccount(accountId: "b") == nil)
            await expectStoreError("store.version_conflict") {
                _ = try await store.commit([write("a", expectedVersion: 0)])
            }
            _ = try await store.commit([write("a", expectedVersion: 2)])
            #expect(try await store.loadAccount(accountId: "a")?.version == 3)
        }
    }

    @Test("seq is gap-free across batches, in write order", arguments: StoreEngine.all)
    func gapFreeAcrossBatches(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            var expected: Int64 = 0
            for batch in 0..<6 {
                let writes = (0..<(batch % 3 + 1)).map { write("acct-\(batch)-\($0)", events: $0 + batch % 2) }
                let stored = try await store.commit(writes)
                #expect(stored.count == writes.count)
                for (write, events) in zip(writes, stored) {
                    #expect(events.count == write.events.count)
                    for event in events {
                        expected += 1
                        #expect(event.seq == expected)
                        #expect(event.accountId == write.accountId)
                    }
                }
            }
            #expect(try await store.lastSeq() == expected)
            #expect(try await store.commit([]) == [])
            #expect(try await store.lastSeq() == expected)
        }
    }

    @Test("concurrent committers get disjoint, contiguous seq ranges covering 1…n", arguments: StoreEngine.all)
    func concurrentCommitters(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            let batches = try await withThrowingTaskGroup(of: [[Int64]].self) { group in
                for committer in 0..<8 {
                    group.addTask {
                        var seen: [[Int64]] = []
                        for round in 0..<15 {
                            let writes = (0..<(1 + (committer + round) % 3)).map {
                                write("c\(committer)-\($0)", events: 1 + (round + $0) % 2)
                            }
                            seen.append(try await store.commit(writes).flatMap { $0.map(\.seq) })
                        }
                        return seen
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            for seqs in batches {
                #expect(seqs == Array(seqs[0]..<(seqs[0] + Int64(seqs.count))))
            }
            let all = batches.flatMap { $0 }.sorted()
            #expect(all == Array(1...Int64(all.count)))
            let log = try await store.events(afterSeq: 0, limit: 10_000)
            #expect(log.map(\.seq) == all)
            #expect(try await store.lastSeq() == Int64(all.count))
        }
    }

    @Test("events(afterSeq:limit:) pages in order", arguments: StoreEngine.all)
    func eventPaging(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            _ = try await store.commit([write("a", events: 12), write("b", events: 13)])
            var pages: [[Int64]] = []
            var after: Int64 = 0
            while true {
                let page = try await store.events(afterSeq: after, limit: 10)
                if page.isEmpty { break }
                pages.append(page.map(\.seq))
                after = page.last!.seq
            }
            #expect(pages.map(\.count) == [10, 10, 5])
            #expect(pages.flatMap { $0 } == Array(1...25))
            #expect(try await store.events(afterSeq: 25, limit: 10).isEmpty)
            #expect(try await store.events(afterSeq: 99, limit: 10).isEmpty)
            #expect(try await store.events(afterSeq: 3, limit: 0).isEmpty)
            #expect(try await store.events(afterSeq: -5, limit: 2).map(\.seq) == [1, 2])
            let page = try await store.events(afterSeq: 11, limit: 2)
            #expect(page.map(\.accountId) == ["a", "b"])
            #expect(page[1].body == json("{\"seq\":13,\"n\":0}"))
        }
    }

    @Test("timers: due ones earliest first, ties by account, limit, look-ahead paging", arguments: StoreEngine.all)
    func timerOrdering(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            let plan: [(String, Double)] = [("d", 30), ("a", 10), ("c", 20), ("b", 20), ("e", 40), ("f", 10)]
            _ = try await store.commit(plan.map { AccountWrite(accountId: $0.0, timer: .set(t($0.1))) })

            let due = try await store.dueTimers(upTo: t(20), limit: 10)
            #expect(due == [DueTimer(accountId: "a", dueAt: t(10)), DueTimer(accountId: "f", dueAt: t(10)),
                            DueTimer(accountId: "b", dueAt: t(20)), DueTimer(accountId: "c", dueAt: t(20))])
            #expect(try await store.dueTimers(upTo: t(20), limit: 3).map(\.accountId) == ["a", "f", "b"])
            #expect(try await store.dueTimers(upTo: t(9.999), limit: 10).isEmpty)
            #expect(try await store.dueTimers(upTo: t(100), limit: 0).isEmpty)
            #expect(try await store.nextTimer() == DueTimer(accountId: "a", dueAt: t(10)))

            var paged: [String] = []
            var cursor: DueTimer?
            while true {
                let page = try await store.timers(after: cursor, limit: 2)
                if page.isEmpty { break }
                paged += page.map(\.accountId)
                cursor = page.last
            }
            #expect(paged == ["a", "f", "b", "c", "d", "e"])
            #expect(try await store.timers(after: DueTimer(accountId: "b", dueAt: t(20)), upTo: t(30), limit: 10)
                        .map(\.accountId) == ["c", "d"])
        }
    }

    @Test("timer set, replace, unchanged, clear", arguments: StoreEngine.all)
    func timerLifecycle(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            #expect(try await store.nextTimer() == nil)
            _ = try await store.commit([AccountWrite(accountId: "a", timer: .set(t(50)))])
            #expect(try await store.timer(accountId: "a") == t(50))
            _ = try await store.commit([AccountWrite(accountId: "a", timer: .set(t(5)))])
            #expect(try await store.timer(accountId: "a") == t(5))
            #expect(try await store.timers(after: nil, limit: 10) == [DueTimer(accountId: "a", dueAt: t(5))])
            _ = try await store.commit([write("a", timer: .unchanged)])
            #expect(try await store.timer(accountId: "a") == t(5))
            _ = try await store.commit([AccountWrite(accountId: "a", timer: .clear)])
            #expect(try await store.timer(accountId: "a") == nil)
            #expect(try await store.nextTimer() == nil)
            // Clearing a timer that does not exist is fine.
            _ = try await store.commit([AccountWrite(accountId: "zz", timer: .clear)])
            // Set then clear in one batch: the later write wins.
            _ = try await store.commit([AccountWrite(accountId: "b", timer: .set(t(1))), AccountWrite(accountId: "b", timer: .clear)])
            #expect(try await store.timer(accountId: "b") == nil)
        }
    }

    @Test("request replies: the first reply for a key is kept, spaces are separate", arguments: StoreEngine.all)
    func requestReplies(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            let ingress = RequestKey(space: .ingress, id: "same")
            let control = RequestKey(space: .control, id: "same")
            _ = try await store.commit([
                AccountWrite(accountId: "a", request: (ingress, json("{\"first\":true}"))),
                AccountWrite(accountId: "b", request: (ingress, json("{\"second\":true}"))),
                AccountWrite(accountId: "b", request: (control, json("{\"control\":true}"))),
            ])
            #expect(try await store.reply(for: ingress) == json("{\"first\":true}"))
            #expect(try await store.reply(for: control) == json("{\"control\":true}"))
            _ = try await store.commit([AccountWrite(accountId: "c", request: (ingress, json("{\"later\":true}")))])
            #expect(try await store.reply(for: ingress) == json("{\"first\":true}"))
            #expect(try await store.reply(for: RequestKey(space: .ingress, id: "other")) == nil)
        }
    }

    @Test("suppression: lower-cased, idempotent", arguments: StoreEngine.all)
    func suppression(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            #expect(try await store.suppressedEmails().isEmpty)
            _ = try await store.commit([AccountWrite(accountId: "a", suppressions: ["A@x.io", "b@x.io"]),
                                        AccountWrite(accountId: "b", suppressions: ["a@X.io"])])
            _ = try await store.commit([AccountWrite(accountId: "c", suppressions: ["b@x.io", "c@x.io"])])
            #expect(try await store.suppressedEmails() == ["a@x.io", "b@x.io", "c@x.io"])
            #expect(try await store.isSuppressed(email: "C@X.IO"))
            #expect(try await store.isSuppressed(email: "d@x.io") == false)
        }
    }

    @Test("meta values and the outbox's published seq", arguments: StoreEngine.all)
    func metaAndPublished(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            #expect(try await store.meta("clock") == nil)
            try await store.setMeta("clock", "1800000000000")
            try await store.setMeta("other", "x")
            try await store.setMeta("clock", "1800000005000")
            #expect(try await store.meta("clock") == "1800000005000")
            #expect(try await store.meta("other") == "x")
            await expectStoreError("store.reserved_meta_key") { try await store.setMeta("store.published_seq", "9") }
            await expectStoreError("store.reserved_meta_key") { _ = try await store.meta("store.account_count") }

            #expect(try await store.publishedSeq() == 0)
            _ = try await store.commit([write("a", events: 6)])
            try await store.markPublished(upTo: 5)
            #expect(try await store.publishedSeq() == 5)
            try await store.markPublished(upTo: 3)
            #expect(try await store.publishedSeq() == 5)
            try await store.markPublished(upTo: 6)
            #expect(try await store.publishedSeq() == 6)
        }
    }

    @Test("a commit from a cancelled task still runs to completion", arguments: StoreEngine.all)
    func commitIgnoresCancellation(engine: StoreEngine) async throws {
        try await withStore(engine) { (store: any CampaignStorage) async throws in
            let task = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await store.commit([write("a", events: 2)])
            }
            #expect(try await task.value[0].map(\.seq) == [1, 2])
            #expect(try await store.lastSeq() == 2)
            #expect(try await store.loadState(accountId: "a") != nil)
        }
    }

    @Test("shard leases: acquiring bumps the epoch; a write under an older epoch fails its whole batch", arguments: StoreEngine.all)
    func shardLeasesFence(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            let shard = accountShard("a")
            let first = try await store.acquireShards([shard, accountShard("b")], owner: "one")
            #expect(first[shard] == 1)
            #expect(try await store.shardLeases()[shard] == ShardLease(owner: "one", epoch: 1))
            var ok = write("a", events: 1)
            ok.epoch = 1
            _ = try await store.commit([ok])

            let second = try await store.acquireShards([shard], owner: "two")
            #expect(second[shard] == 2)
            #expect(try await store.shardLeases()[shard] == ShardLease(owner: "two", epoch: 2))
            // The old owner's batch, even mixed with a write of a shard it still holds, stores nothing.
            var stale = write("a", state: "{\"late\":true}", events: 2)
            stale.epoch = 1
            var other = write("b", events: 1)
            other.epoch = first[accountShard("b")]
            await expectStoreError("store.fenced") { _ = try await store.commit([other, stale]) }
            #expect(try await store.lastSeq() == 1)
            #expect(try await store.loadState(accountId: "b") == nil)
            #expect(try await store.loadAccount(accountId: "a")?.version == 1)
            // A write of a shard never leased, with an epoch, is fenced too; without one it is not checked.
            var unleased = write("zz", events: 1)
            unleased.epoch = 1
            if accountShard("zz") != shard && accountShard("zz") != accountShard("b") {
                await expectStoreError("store.fenced") { _ = try await store.commit([unleased]) }
            }
            _ = try await store.commit([write("zz", events: 1)])
            var current = write("a", events: 1)
            current.epoch = 2
            #expect(try await store.commit([current])[0].map(\.seq) == [3])
        }
    }

    @Test("free shards: acquireFreeShards takes only free ones; releaseShards frees the owner's current leases and fences them",
          arguments: StoreEngine.all)
    func freeShardsAndRelease(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            // PostgreSQL ties a lease to its owner's liveness row: "one" is live (a lease of no row is free at once).
            if let postgres = store as? PostgresStore { _ = try await postgres.joinCluster(nodeId: "one", ttl: .seconds(60)) }
            let a = accountShard("a"), b = accountShard("b")
            #expect(a != b)
            #expect(try await store.acquireFreeShards([a, b, a], owner: "one") == [a: 1, b: 1])
            // Held, by the caller or by another owner: left alone.
            #expect(try await store.acquireFreeShards([a, b], owner: "one").isEmpty)
            #expect(try await store.acquireFreeShards([a], owner: "two").isEmpty)
            var ok = write("a", events: 1)
            ok.epoch = 1
            _ = try await store.commit([ok])

            // Only the owner's lease under its current epoch is released.
            #expect(try await store.releaseShards([a: 2], owner: "one").isEmpty)
            #expect(try await store.releaseShards([a: 1], owner: "two").isEmpty)
            #expect(try await store.shardLeases()[a] == ShardLease(owner: "one", epoch: 1))
            #expect(try await store.releaseShards([a: 1, b: 1], owner: "one") == [a, b].sorted())
            let released = try await store.shardLeases()[a]
            #expect(released == ShardLease(owner: ShardLease.free, epoch: 2) && released?.isFree == true)
            // Nothing decided under the released lease is stored afterwards.
            var late = write("a", state: "{\"late\":true}", events: 1)
            late.epoch = 1
            await expectStoreError("store.fenced") { _ = try await store.commit([late]) }
            #expect(try await store.lastSeq() == 1)
            // Free again: the next owner takes it with a newer epoch; the old one cannot release it any more.
            #expect(try await store.acquireFreeShards([a], owner: "two") == [a: 3])
            #expect(try await store.releaseShards([a: 3], owner: "one").isEmpty)
            #expect(try await store.shardLeases()[a] == ShardLease(owner: "two", epoch: 3))
            var next = write("a", events: 1)
            next.epoch = 3
            #expect(try await store.commit([next])[0].map(\.seq) == [2])
        }
    }

    @Test("timers of some shards: (dueAt, account) order, keyset paging, other shards left out", arguments: StoreEngine.all)
    func timersByShard(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            let plan: [(String, Double)] = (0..<40).map { ("acct-\($0)", Double($0 % 7)) }
            _ = try await store.commit(plan.map { AccountWrite(accountId: $0.0, timer: .set(t($0.1))) })
            let shards = [accountShard("acct-0"), accountShard("acct-1"), accountShard("acct-2")]
            let expected = plan.filter { shards.contains(accountShard($0.0)) }
                .sorted { $0.1 != $1.1 ? $0.1 < $1.1 : Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
                .map { DueTimer(accountId: $0.0, dueAt: t($0.1)) }
            #expect(expected.count >= 3 && expected.count < plan.count)
            #expect(try await store.timers(inShards: shards, after: nil, limit: 100) == expected)
            var paged: [DueTimer] = []
            var cursor: DueTimer?
            while true {
                let page = try await store.timers(inShards: shards, after: cursor, limit: 2)
                guard let last = page.last else { break }
                paged += page
                cursor = last
            }
            #expect(paged == expected)
            #expect(try await store.timers(inShards: [], after: nil, limit: 10).isEmpty)
        }
    }

    @Test("after close every call throws store.closed; close is idempotent", arguments: StoreEngine.all)
    func closed(engine: StoreEngine) async throws {
        let (store, cleanup) = try await engine.open()
        defer { cleanup() }
        _ = try await store.commit([write("a")])
        try await store.close()
        try await store.close()
        await expectStoreError("store.closed") { _ = try await store.loadState(accountId: "a") }
        await expectStoreError("store.closed") { _ = try await store.commit([write("b")]) }
        await expectStoreError("store.closed") { _ = try await store.events(afterSeq: 0, limit: 1) }
        await expectStoreError("store.closed") { try await store.setMeta("k", "v") }
    }
}
