import CampaignStore
import Foundation
import Testing

/// Retention and erasure semantics every engine shares (`CampaignStorage`).
@Suite("CampaignStorage conformance: retention and erasure")
struct RetentionErasureConformanceTests {
    @Test("events are pruned oldest first, never past the published seq nor the newest; numbering goes on", arguments: StoreEngine.all)
    func pruneEvents(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            // seq 1…3 at t0, 4 at t100, 5 at t200.
            _ = try await store.commit([AccountWrite(accountId: "a", events: [event("a", at: t(0)), event("a", at: t(0)), event("a", at: t(0))])])
            _ = try await store.commit([AccountWrite(accountId: "a", events: [event("a", at: t(100))])])
            _ = try await store.commit([AccountWrite(accountId: "b", events: [event("b", at: t(200))])])
            #expect(try await store.prunedSeq() == 0)
            // Nothing published yet: nothing may go.
            #expect(try await store.pruneEvents(before: t(1000), limit: 100) == 0)
            try await store.markPublished(upTo: 2)
            #expect(try await store.pruneEvents(before: t(1000), limit: 100) == 2)
            #expect(try await store.prunedSeq() == 2)
            #expect(try await store.events(afterSeq: 0, limit: 10).map(\.seq) == [3, 4, 5])
            try await store.markPublished(upTo: 5)
            // Limit per call, then the age bound (seq 4 is at t100, not before t50).
            #expect(try await store.pruneEvents(before: t(50), limit: 100) == 1)
            #expect(try await store.events(afterSeq: 0, limit: 10).map(\.seq) == [4, 5])
            // Never the newest: the log keeps going from lastSeq.
            #expect(try await store.pruneEvents(before: t(1000), limit: 100) == 1)
            #expect(try await store.events(afterSeq: 0, limit: 10).map(\.seq) == [5])
            #expect(try await store.prunedSeq() == 4)
            #expect(try await store.lastSeq() == 5)
            let next = try await store.commit([AccountWrite(accountId: "a", events: [event("a", at: t(300))])])
            #expect(next[0].map(\.seq) == [6])
            #expect(try await store.events(accountId: "a", afterSeq: 0, limit: 10).map(\.seq) == [6])
        }
    }

    @Test("request ids are pruned by the time they were decided, oldest first", arguments: StoreEngine.all)
    func pruneRequests(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            func req(_ id: String, at: Date?) -> AccountWrite {
                AccountWrite(accountId: "a", request: (RequestKey(space: .ingress, id: id), json("{\"id\":\"\(id)\"}")), requestAt: at)
            }
            _ = try await store.commit([req("old1", at: t(0)), req("old2", at: t(10))])
            _ = try await store.commit([req("new", at: t(100)), AccountWrite(accountId: "b", request: (RequestKey(space: .control, id: "c"), json("{}")), requestAt: t(200))])
            #expect(try await store.pruneRequests(before: t(50), limit: 1) == 1)
            #expect(try await store.reply(for: RequestKey(space: .ingress, id: "old1")) == nil)
            #expect(try await store.reply(for: RequestKey(space: .ingress, id: "old2")) != nil)
            #expect(try await store.pruneRequests(before: t(50), limit: 100) == 1)
            #expect(try await store.reply(for: RequestKey(space: .ingress, id: "old2")) == nil)
            #expect(try await store.reply(for: RequestKey(space: .ingress, id: "new")) != nil)
            #expect(try await store.pruneRequests(before: t(150), limit: 100) == 1)
            #expect(try await store.reply(for: RequestKey(space: .control, id: "c")) != nil)
            // A pruned id is new again: its next reply is stored.
            _ = try await store.commit([AccountWrite(accountId: "a", request: (RequestKey(space: .ingress, id: "old1"), json("{\"again\":true}")), requestAt: t(300))])
            #expect(try await store.reply(for: RequestKey(space: .ingress, id: "old1")) == json("{\"again\":true}"))
        }
    }

    @Test("erasure: accounts found by state or events; events rewritten; replies scrubbed; suppression kept as a hash", arguments: StoreEngine.all)
    func erasure(engine: StoreEngine) async throws {
        try await withStore(engine) { store in
            _ = try await store.commit([
                AccountWrite(accountId: "a", state: json("{\"c\":\"jo@x.io\"}"), events: [event("a", body: "{\"email\":\"jo@x.io\"}")],
                             request: (RequestKey(space: .ingress, id: "r1"), json("{\"warnings\":[\"jo@x.io is suppressed\"]}")),
                             suppressions: ["jo@x.io", "other@x.io"]),
                AccountWrite(accountId: "b", state: json("{\"c\":\"someone@x.io\"}"), events: [event("b", body: "{\"to\":\"jo@x.io\"}")]),
                AccountWrite(accountId: "c", state: json("{\"c\":\"nobody@x.io\"}"), events: [event("c")]),
            ])
            #expect(try await store.accounts(mentioning: "jo@x.io", limit: 10) == ["a", "b"])
            #expect(try await store.accounts(mentioning: "jo@x.io", limit: 1) == ["a"])
            let erasure = ErasureWrite(email: "jo@x.io", emailSHA256: "ab12",
                                       eventRewrites: [EventRewrite(seq: 1, body: json("{\"seq\":1,\"email\":\"[erased]\"}"))])
            _ = try await store.commit([AccountWrite(accountId: "a", state: json("{\"c\":\"[erased]\"}"), erasure: erasure)])
            #expect(try await store.events(afterSeq: 0, limit: 1).first?.body == json("{\"seq\":1,\"email\":\"[erased]\"}"))
            #expect(try await store.suppressedEmails() == ["other@x.io", Suppression.hashed("ab12")])
            #expect(try await store.accounts(mentioning: "jo@x.io", limit: 10) == ["b"])
            // A rewrite must keep its seq first: else the whole batch fails.
            let bad = ErasureWrite(email: "jo@x.io", emailSHA256: "ab12", eventRewrites: [EventRewrite(seq: 2, body: json("{\"x\":1}"))])
            await #expect(throws: StoreError.self) {
                _ = try await store.commit([AccountWrite(accountId: "b", state: json("{}"), erasure: bad)])
            }
            #expect(try await store.loadState(accountId: "b") == json("{\"c\":\"someone@x.io\"}"))
            #expect(try await store.finishErasure(email: "jo@x.io", emailSHA256: "ab12", replacement: "[erased]") == 1)
            #expect(try await store.reply(for: RequestKey(space: .ingress, id: "r1")) == json("{\"warnings\":[\"[erased] is suppressed\"]}"))
            #expect(try await store.finishErasure(email: "jo@x.io", emailSHA256: "ab12", replacement: "[erased]") == 0)
            #expect(try await store.suppressedEmails() == ["other@x.io", Suppression.hashed("ab12")])
        }
    }
}
