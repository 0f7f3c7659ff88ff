import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import Testing

@testable import CampaignRuntime

@Suite struct BatchIngressTests {
    @Test(arguments: StoreKind.allCases)
    func aBatchBehavesLikeTheSameRequestsOneByOne(kind: StoreKind) async throws {
        let requests: [IngressRequest] = (0..<40).map { .lead(id: "l\($0)", lead: lead("acct\($0 % 25)", colleagues: 2)) }
            + [.response(id: "r1", ResponseInput(accountId: "acct3", contactEmail: "pat@acct3.example", kind: .reply))]
        let (batched, _, _) = try await startRuntime(try kind.make())
        let acks = await batched.submit(batch: requests).acks
        let (single, _, _) = try await startRuntime(try kind.make())
        var expected: [Ack] = []
        for r in requests {
            switch r {
            case .lead(let id, let lead): expected.append(await single.submitLead(requestId: id, lead: lead))
            case .response(let id, let input): expected.append(await single.submitResponse(requestId: id, input))
            }
        }
        #expect(acks == expected)
        #expect(acks.filter { $0.status == .accepted }.count == 41)
        _ = try await batched.advanceClock(seconds: 30 * day)
        _ = try await single.advanceClock(seconds: 30 * day)
        #expect(behaviour(try await allEvents(batched)) == behaviour(try await allEvents(single)))
        #expect(await batched.status(accountId: "acct3")?["status"] == "paused")
        // Sent again: every id is a duplicate with its original campaign, nothing new stored.
        let count = try await allEvents(batched).count
        let again = await batched.submit(batch: requests).acks
        #expect(again.map(\.status) == Array(repeating: .duplicate, count: requests.count))
        #expect(again.map(\.campaignId) == acks.map(\.campaignId))
        #expect(try await allEvents(batched).count == count)
    }

    @Test func theSameIdTwiceInOneBatchIsAppliedOnce() async throws {
        let (runtime, _, _) = try await startRuntime(InMemoryStore())
        let acks = await runtime.submit(batch: [.lead(id: "x", lead: lead("one")), .lead(id: "x", lead: lead("one"))]).acks
        #expect(acks.map(\.status) == [.accepted, .duplicate])
        #expect(acks[0].campaignId == acks[1].campaignId)
        #expect(try await allEvents(runtime).filter { $0.type == "campaign.started" }.count == 1)
    }

    @Test func badRequestsAreRefusedNamingTheFieldAndStoreNothing() async throws {
        let (runtime, _, _) = try await startRuntime(InMemoryStore())
        var noAccount = lead("x")
        if case .object(var o) = noAccount { o["account_id"] = nil; noAccount = .object(o) }
        var badEmail = lead("y")
        if case .object(var o) = badEmail { o["email"] = "not an email"; badEmail = .object(o) }
        let acks = await runtime.submit(batch: [.lead(id: "a", lead: noAccount), .lead(id: "b", lead: badEmail),
                                                .lead(id: "c", lead: lead("good"))]).acks
        #expect(acks[0].error?.field == "lead.account_id")
        #expect(acks[0].error?.code == "missing_field")
        #expect(acks[1].status == .rejected)
        #expect(acks[1].error?.field == "lead.email")
        #expect(acks[2].status == .accepted)
        #expect(Set(try await allEvents(runtime).map(\.accountId)) == ["good"])
        // A refused id was not stored: it can be used again.
        #expect(await runtime.submitLead(requestId: "b", lead: lead("y")).status == .accepted)
    }

    /// One account's requests keep their arrival order across batches, even when a later batch finds the
    /// account's turn busy with the earlier batch's commit (it goes through the account's lane).
    @Test func perAccountOrderHoldsAcrossBatchesWhileATurnIsBusy() async throws {
        let store = HoldingStore(InMemoryStore())
        let (runtime, _, _) = try await startRuntime(store)
        #expect(await runtime.submitLead(requestId: "seed", lead: lead("busy")).status == .accepted)
        // The first batch's commit (it carries a suppression) is held while the next batches arrive.
        store.holdNextSuppression()
        let first = await runtime.submit(batch: [
            .response(id: "u", ResponseInput(accountId: "busy", contactEmail: "c1@busy.example", kind: .unsubscribe)),
        ])
        await store.waitUntilHeld()
        let second = await runtime.submit(batch: [
            .response(id: "p", ResponseInput(accountId: "busy", contactEmail: "pat@busy.example", kind: .reply)),
            .lead(id: "other", lead: lead("elsewhere")),
        ])
        let third = await runtime.submit(batch: [.lead(id: "again", lead: lead("busy", extra: ["new@busy.example"]))])
        store.release()
        #expect(await first.acks.map(\.status) == [.accepted])
        #expect(await second.acks.map(\.status) == [.accepted, .accepted])
        #expect(await third.acks.map(\.status) == [.accepted])
        let types = try await allEvents(runtime).filter { $0.accountId == "busy" }.map(\.type)
        let suppressed = try #require(types.firstIndex(of: "contact.suppressed"))
        let replied = try #require(types.lastIndex(of: "response.received"))
        #expect(suppressed < replied)
        #expect(types.contains("campaign.paused"))
    }

    @Test func aFailingAccountFailsOnlyItsOwnRequests() async throws {
        let store = FaultyStore(InMemoryStore())
        let (runtime, _, _) = try await startRuntime(store)
        store.fail("bad")
        let acks = await runtime.submit(batch: [.lead(id: "1", lead: lead("ok1")), .lead(id: "2", lead: lead("bad")),
                                                .lead(id: "3", lead: lead("ok2"))]).acks
        #expect(acks.map(\.status) == [.accepted, .rejected, .accepted])
        #expect(acks[1].error?.code == "unavailable")
        #expect(Set(try await allEvents(runtime).map(\.accountId)) == ["ok1", "ok2"])
        store.heal("bad")
        #expect(await runtime.submit(batch: [.lead(id: "2", lead: lead("bad"))]).acks.map(\.status) == [.accepted])
    }
}

@Suite struct CommitPriorityTests {
    /// A response's write queued behind leads is committed before them (the urgent lane).
    @Test func urgentWritesCommitAheadOfQueuedOnes() async throws {
        let store = HoldingStore(InMemoryStore())
        let outbox = Outbox(store: store, publisher: RecordingPublisher(), markEvery: 100, logger: .init(label: "t"))
        let committer = GroupCommitter(store: store, outbox: outbox, suppressions: SuppressionList(), maxBatch: 1,
                                       logger: .init(label: "t"))
        func write(_ account: String, suppress: [String] = []) -> AccountWrite {
            AccountWrite(accountId: account, state: Data("{}".utf8),
                         events: [NewEvent(type: "x", accountId: account, campaignId: nil, at: monday9, body: Data("{}".utf8))],
                         suppressions: suppress)
        }
        store.holdNextSuppression()
        let first = Task { try await committer.submit(write("first", suppress: ["s@x.example"])) }
        await store.waitUntilHeld()
        let lead = Task { try await committer.submit(write("lead")) }
        let leads = Task { await committer.submit(batch: [write("lead2"), write("lead3")], touching: [[], []]) }
        // Both queued behind the held commit before the urgent one arrives.
        while await committer.queuedCount < 2 { await Task.yield() }
        let urgent = Task { try await committer.submit(write("reply"), urgent: true) }
        while await committer.queuedCount < 3 { await Task.yield() }
        store.release()
        _ = try await first.value
        let replySeq = try await urgent.value.first!.seq
        let leadSeq = try await lead.value.first!.seq
        let batchSeqs = await leads.value.compactMap { try? $0.get().first?.seq }
        #expect(replySeq < leadSeq)
        #expect(batchSeqs.allSatisfy { replySeq < $0 })
    }
}

@Suite struct BatchSuppressionTests {
    /// A batch's lead decided while another account's unsubscribe of its address was being committed is
    /// refused at commit and decided again on the turn it still holds: the account's next request (already
    /// waiting in its lane) still comes after it.
    @Test func aRefusedWriteIsDecidedAgainBeforeTheAccountsNextRequest() async throws {
        let store = HoldingStore(InMemoryStore())
        let (runtime, _, _) = try await startRuntime(store)
        let shared = "x@shared.example"
        store.holdNextSuppression()
        let unsubscribe = Task {
            await runtime.submitResponse(requestId: "u", ResponseInput(accountId: "b", contactEmail: shared, kind: .unsubscribe))
        }
        await store.waitUntilHeld()
        let first = await runtime.submit(batch: [.lead(id: "la", lead: lead("a", colleagues: 1, primary: shared))])
        while await runtime.committer.queuedCount < 1 { await Task.yield() }  // A's write waits behind B's commit
        let second = await runtime.submit(batch: [
            .response(id: "ra", ResponseInput(accountId: "a", contactEmail: "c1@a.example", kind: .reply)),
        ])
        store.release()
        #expect(await unsubscribe.value.status == .accepted)
        #expect(await first.acks.map(\.status) == [.accepted])
        let reply = await second.acks
        #expect(reply.map(\.status) == [.accepted], "\(reply)")
        let a = try await allEvents(runtime).filter { $0.accountId == "a" }
        #expect(!a.contains { $0.type == "touchpoint.due" && $0.contactEmail == shared })
        let started = try #require(a.firstIndex { $0.type == "campaign.started" })
        let replied = try #require(a.firstIndex { $0.type == "response.received" })
        #expect(started < replied)
    }
}
