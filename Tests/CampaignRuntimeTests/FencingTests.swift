import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import Testing

@testable import CampaignRuntime

@Suite struct FencingTests {
    /// Two runtimes on one SQLite file (what the data directory lock prevents for `abm serve`, and what a
    /// cluster does by design): the second takes every shard over; the first, fenced, writes nothing more —
    /// no request, no timer turn, not even its clock — and the second runs the campaigns alone.
    @Test func aFencedOwnerWritesNothing() async throws {
        let path = temporaryDatabasePath()
        let (a, _, publisherA) = try await startRuntime(try SQLiteStore(path: path)) { $0.owner = "a" }
        for i in 0..<10 {
            #expect(await a.submitLead(requestId: "l\(i)", lead: lead("acct\(i)")).status == .accepted)
        }
        await a.settle()
        let inspector = try SQLiteStore(path: path)
        let beforeTakeover = try await inspector.lastSeq()

        let (b, _, _) = try await startRuntime(try SQLiteStore(path: path)) { $0.owner = "b" }
        let clockBefore = try await inspector.meta(CampaignRuntime.clockMetaKey)
        #expect(Set(try await inspector.shardLeases().values.map(\.owner)) == ["b"])
        let publishedBefore = await publisherA.events.count

        // The old owner: its first write is refused by the store, then it refuses up front.
        let first = await a.submitLead(requestId: "late-1", lead: lead("late1"))
        #expect(first.error?.code == "not_owner")
        let second = await a.submitResponse(requestId: "late-2", ResponseInput(accountId: "acct3", contactEmail: "pat@acct3.example", kind: .reply))
        #expect(second.error?.code == "not_owner")
        // Its timers (every account's next touch) come due: none is written.
        _ = try await a.advanceClock(seconds: 30 * day)
        #expect(try await inspector.lastSeq() == beforeTakeover)
        #expect(try await inspector.meta(CampaignRuntime.clockMetaKey) == clockBefore)
        #expect(await publisherA.events.count == publishedBefore)
        #expect(a.parkedAccounts.isEmpty, "a fenced write is not a campaign failure")

        // The new owner runs every campaign to its end, each touch once.
        _ = try await b.advanceClock(seconds: 60 * day)
        let all = try await allEvents(b)
        let ids = all.compactMap(\.touchpointId)
        #expect(ids.count == Set(ids).count)
        for i in 0..<10 {
            #expect(all.filter { $0.accountId == "acct\(i)" && $0.type == "touchpoint.due" }.count == 7)
        }
        await b.shutdown()
        await a.shutdown()
        #expect(try await inspector.lastSeq() == all.last?.seq)
    }
}
