import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import Testing

@testable import CampaignRuntime

@Suite struct LeadToTouchTests {
    @Test(arguments: StoreKind.allCases)
    func leadRunsToCompletionDurablyAndPublishesInOrder(kind: StoreKind) async throws {
        let store = try kind.make()
        let (runtime, clock, publisher) = try await startRuntime(store)
        let ack = await runtime.submitLead(requestId: "r1", lead: lead("acme"))
        #expect(ack.status == .accepted)
        #expect(ack.campaignId != nil)
        #expect(ack.error == nil)

        await runtime.settle()
        let first = try await allEvents(runtime)
        #expect(first.map(\.type).contains("campaign.started"))
        #expect(first.filter { $0.type == "touchpoint.due" }.count == 1)  // the first step is due at once
        #expect(first.first { $0.type == "touchpoint.due" }?.at == monday9)

        let now = try await runtime.advanceClock(seconds: 60 * day)
        #expect(now == monday9.addingTimeInterval(60 * day))
        #expect(clock.now == now)
        let events = try await allEvents(runtime)
        let touches = events.filter { $0.type == "touchpoint.due" }
        #expect(touches.count == 7)
        #expect(Set(touches.compactMap(\.touchpointId)).count == 7)
        #expect(events.last?.type == "campaign.completed")
        // Gap-free seqs, published in order, everything published when advanceClock returned.
        #expect(events.map(\.seq) == Array(1...Int64(events.count)))
        #expect(await publisher.seqs == events.map(\.seq))
        #expect(try await store.publishedSeq() == events.last!.seq)
        // Events fired by timers are stamped with their due time, each inside the send window.
        for t in touches {
            let secondsOfDay = Int(t.at.timeIntervalSince1970) % 86_400
            #expect(secondsOfDay >= 9 * 3600 && secondsOfDay < 17 * 3600)
        }
        let status = await runtime.status(accountId: "acme")
        #expect(status?["status"] == "completed")
        #expect(status?["parked"] == nil)
        #expect(try await store.meta(CampaignRuntime.clockMetaKey) == WireTime.format(now))
        await runtime.shutdown()
    }

    @Test func aTouchDueAtTwoIsStampedTwoWhenTheClockJumpsADay() async throws {
        // The lead arrives on Monday 14:00; with the defaults step 2 is due two days later at 14:00.
        let start = monday9.addingTimeInterval(5 * 3600)
        let (runtime, _, _) = try await startRuntime(InMemoryStore(), at: start)
        _ = await runtime.submitLead(requestId: "r1", lead: lead("acme"))
        _ = try await runtime.advanceClock(seconds: 3 * day)
        let touches = try await allEvents(runtime).filter { $0.type == "touchpoint.due" }
        #expect(touches.map(\.at) == [start, start.addingTimeInterval(2 * day)])
        #expect(touches.map { $0.json["at"]?.stringValue } == ["2026-03-02T14:00:00.000Z", "2026-03-04T14:00:00.000Z"])
    }

    @Test func leadWithoutUsableAccountIdIsRejectedBeforeRouting() async throws {
        let store = FaultyStore(InMemoryStore())
        let (runtime, _, _) = try await startRuntime(store)
        var noAccount = lead("x").objectValue!
        noAccount["account_id"] = nil
        let missing = await runtime.submitLead(requestId: "r1", lead: .object(noAccount))
        #expect(missing.status == .rejected)
        #expect(missing.error?.code == "missing_field")
        #expect(missing.error?.field == "lead.account_id")
        noAccount["account_id"] = 42
        let wrongType = await runtime.submitLead(requestId: "r1", lead: .object(noAccount))
        #expect(wrongType.error?.code == "invalid_field")
        noAccount["account_id"] = "  "
        #expect(await runtime.submitLead(requestId: "r1", lead: .object(noAccount)).error?.code == "invalid_field")
        #expect(store.commitsSeen == 0)
    }

    @Test func rejectedRequestStoresNothingAndItsIdCanBeReused() async throws {
        let store = InMemoryStore()
        let (runtime, _, _) = try await startRuntime(store)
        let bad = await runtime.submitLead(requestId: "r1", lead: lead("acme", primary: "not-an-email"))
        #expect(bad.status == .rejected)
        #expect(bad.error?.code != nil)
        #expect(try await store.lastSeq() == 0)
        #expect(try await store.reply(for: RequestKey(space: .ingress, id: "r1")) == nil)
        #expect(await runtime.status(accountId: "acme") == nil)
        let good = await runtime.submitLead(requestId: "r1", lead: lead("acme"))
        #expect(good.status == .accepted)
    }

    @Test func responseForUnknownAccountIsNotFoundButUnsubscribeIsRecorded() async throws {
        let store = InMemoryStore()
        let (runtime, _, _) = try await startRuntime(store)
        let reply = await runtime.submitResponse(requestId: "r1", ResponseInput(accountId: "ghost", contactEmail: "a@b.example", kind: .reply))
        #expect(reply.error?.code == "not_found")
        let unsub = await runtime.submitResponse(requestId: "r2", ResponseInput(accountId: "ghost", contactEmail: "A@b.example", kind: .unsubscribe))
        #expect(unsub.status == .accepted)
        #expect(unsub.campaignId == nil)
        await runtime.settle()
        let suppressed = try await allEvents(runtime).filter { $0.type == "contact.suppressed" }
        #expect(suppressed.count == 1)
        #expect(suppressed.first?.campaignId == nil)
        #expect(suppressed.first?.json["campaign_id"] == .null)
        #expect(try await store.isSuppressed(email: "a@b.example"))
        #expect(await runtime.status(accountId: "ghost") == nil)
    }

    @Test func commandsReplyWithTheCampaignAndRejectUnknownAccounts() async throws {
        let (runtime, _, _) = try await startRuntime(InMemoryStore())
        #expect(await runtime.command(requestId: "c0", accountId: "acme", .pause(reason: nil)).error?.code == "not_found")
        _ = await runtime.submitLead(requestId: "r1", lead: lead("acme"))
        let paused = await runtime.command(requestId: "c1", accountId: "acme", .pause(reason: "holiday"))
        #expect(paused.ok)
        #expect(paused.status == .accepted)
        #expect(paused.campaign?["status"] == "paused")
        let again = await runtime.command(requestId: "c1", accountId: "acme", .resume)
        #expect(again.status == .duplicate)
        #expect(again.campaign?["status"] == "paused")  // the original reply, whatever the body
        let resumed = await runtime.command(requestId: "c2", accountId: "acme", .resume)
        #expect(resumed.campaign?["status"] == "active")
        // Control and ingress ids are separate spaces.
        #expect(await runtime.submitLead(requestId: "c2", lead: lead("other")).status == .accepted)
    }

    @Test func virtualClockResumesAtTheLaterOfStartAndStoredTime() async throws {
        let path = temporaryDatabasePath()
        do {
            let (runtime, _, _) = try await startRuntime(try SQLiteStore(path: path))
            _ = try await runtime.advanceClock(seconds: 2 * day)
            await runtime.shutdown()
        }
        do {
            let (runtime, clock, _) = try await startRuntime(try SQLiteStore(path: path), at: monday9)
            #expect(clock.now == monday9.addingTimeInterval(2 * day))
            await runtime.shutdown()
        }
        do {
            let later = monday9.addingTimeInterval(10 * day)
            let (runtime, clock, _) = try await startRuntime(try SQLiteStore(path: path), at: later)
            #expect(clock.now == later)
            await runtime.shutdown()
        }
    }

    @Test func advanceClockNeedsTheVirtualClock() async throws {
        let runtime = CampaignRuntime(store: InMemoryStore(), clock: WallClock(), publisher: RecordingPublisher())
        try await runtime.start()
        await #expect(throws: AbmError.self) { try await runtime.advanceClock(seconds: 1) }
        await runtime.shutdown()
    }
}

@Suite struct PauseOrderingTests {
    /// Everything committed up to a response, the pause included, is published before its ack returns.
    @Test func aResponseAckComesAfterItsEventsArePublished() async throws {
        let (runtime, _, publisher) = try await startRuntime(InMemoryStore(), publisher: RecordingPublisher(yields: 2_000))
        for n in 0..<50 {
            _ = await runtime.submitLead(requestId: "l\(n)", lead: lead("acct\(n)"))
        }
        let ack = await runtime.submitResponse(requestId: "r", ResponseInput(
            accountId: "acct7", contactEmail: "c1@acct7.example", kind: .reply))
        #expect(ack.status == .accepted)
        let published = await publisher.seqs
        let events = try await allEvents(runtime)
        let paused = try #require(events.first { $0.type == "campaign.paused" && $0.accountId == "acct7" })
        #expect(Set(published).isSuperset(of: 1...paused.seq))
    }
}
