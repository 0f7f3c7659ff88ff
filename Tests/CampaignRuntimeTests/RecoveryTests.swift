import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import NIOConcurrencyHelpers
import Testing

@testable import CampaignRuntime

@Suite struct RecoveryTests {
    /// Kill without shutdown, reopen the same file later: nothing acknowledged is lost, no touchpoint
    /// is emitted twice, and timers that came due while the process was down fire once, late.
    @Test func crashWithoutShutdownLosesNothingAcknowledged() async throws {
        let path = temporaryDatabasePath()
        let crashStore = FaultyStore(try SQLiteStore(path: path))
        let (a, clockA, _) = try await startRuntime(crashStore)
        var accepted: [String: String] = [:]
        for i in 0..<20 {
            let ack = await a.submitLead(requestId: "lead-\(i)", lead: lead("acct\(i)"))
            #expect(ack.status == .accepted)
            accepted["acct\(i)"] = ack.campaignId
        }
        _ = try await a.advanceClock(seconds: 3 * day)
        // A response acknowledged right before the crash must survive it.
        #expect(await a.submitResponse(requestId: "resp", ResponseInput(accountId: "acct7", contactEmail: "pat@acct7.example", kind: .reply)).status == .accepted)
        let crashTime = clockA.now
        let beforeCrash = try await allEvents(a)
        crashStore.kill()  // no shutdown: whatever the old runtime still does never reaches the file

        // Restart five days later.
        let restart = crashTime.addingTimeInterval(5 * day)
        let (b, _, publisherB) = try await startRuntime(try SQLiteStore(path: path), at: restart)
        await b.settle()
        let afterRestart = try await allEvents(b)
        #expect(Array(afterRestart.prefix(beforeCrash.count)) == beforeCrash)
        for (account, campaignId) in accepted {
            #expect(await b.status(accountId: account)?["campaign_id"]?.stringValue == campaignId)
        }
        #expect(await b.status(accountId: "acct7")?["status"] == "paused")
        // Each account whose timer fell in the downtime fired it exactly once, stamped with the instant it went
        // out (the restart) and carrying its planned due time.
        let late = afterRestart.dropFirst(beforeCrash.count).filter { $0.type == "touchpoint.due" }
        #expect(!late.isEmpty)
        #expect(Set(late.map(\.accountId)).count == late.count)
        for t in late {
            #expect(t.at == restart)
            let planned = t.json["planned_at"]?.stringValue.flatMap(WireTime.parse)
            #expect(planned.map { $0 > crashTime && $0 < restart } == true)
        }
        #expect(!late.contains { $0.accountId == "acct7" })
        // Replay includes the republished tail; the idempotency replies survived too.
        #expect(await b.submitLead(requestId: "lead-3", lead: lead("acct3")).status == .duplicate)

        _ = try await b.advanceClock(seconds: 60 * day)
        let all = try await allEvents(b)
        let ids = all.compactMap(\.touchpointId)
        #expect(ids.count == Set(ids).count)
        #expect(all.map(\.seq) == Array(1...Int64(all.count)))
        for i in 0..<20 where i != 7 {
            #expect(all.filter { $0.accountId == "acct\(i)" && $0.type == "touchpoint.due" }.count == 7)
        }
        let published = await publisherB.events
        #expect(published.last?.seq == all.last?.seq)
        await b.shutdown()
    }

    @Test(arguments: StoreKind.allCases)
    func unpublishedEventsAreRepublishedFirstAfterRestart(kind: StoreKind) async throws {
        let base = try kind.make()
        let store = FaultyStore(base)
        store.failMarkPublished(true)
        let (a, _, publisherA) = try await startRuntime(store)
        for i in 0..<5 { _ = await a.submitLead(requestId: "l\(i)", lead: lead("acct\(i)")) }
        await a.settle()
        let published = await publisherA.events
        #expect(!published.isEmpty)
        #expect(try await base.publishedSeq() == 0)
        store.kill()

        let (b, _, publisherB) = try await startRuntime(base)
        let republished = await publisherB.events
        #expect(republished.map(\.seq) == published.map(\.seq))
        #expect(republished == published)
        #expect(try await base.publishedSeq() == published.last!.seq)
        _ = await b.submitLead(requestId: "new", lead: lead("fresh"))
        await b.settle()
        let seqs = await publisherB.seqs
        #expect(seqs == Array(1...Int64(seqs.count)))
        await b.shutdown()
    }

    @Test func failingCampaignIsIsolatedRetriedThenParkedAndCanBeResumed() async throws {
        let store = FaultyStore(InMemoryStore())
        let (runtime, _, _) = try await startRuntime(store)
        for name in ["good1", "bad", "good2"] {
            #expect(await runtime.submitLead(requestId: name, lead: lead(name)).status == .accepted)
        }
        await runtime.settle()
        store.fail("bad")
        // Requests fail cleanly (nothing applied, safe to retry), the others carry on.
        let refused = await runtime.submitResponse(requestId: "x", ResponseInput(accountId: "bad", contactEmail: "pat@bad.example", kind: .reply))
        #expect(refused.status == .rejected)
        #expect(refused.error?.code == "unavailable")
        _ = try await runtime.advanceClock(seconds: 60 * day)
        let events = try await allEvents(runtime)
        for good in ["good1", "good2"] {
            #expect(events.filter { $0.accountId == good && $0.type == "touchpoint.due" }.count == 7)
        }
        #expect(events.filter { $0.accountId == "bad" && $0.type == "touchpoint.due" }.count == 1)
        #expect(runtime.parkedAccounts == ["bad"])
        let status = await runtime.status(accountId: "bad")
        #expect(status?["parked"] == true)
        #expect(await runtime.command(requestId: "p", accountId: "bad", .pause(reason: nil)).error?.code == "parked")

        store.heal("bad")
        let resumed = await runtime.command(requestId: "r", accountId: "bad", .resume)
        #expect(resumed.ok)
        _ = try await runtime.advanceClock(seconds: 60 * day)
        #expect(runtime.parkedAccounts.isEmpty)
        let after = try await allEvents(runtime)
        #expect(after.filter { $0.accountId == "bad" && $0.type == "touchpoint.due" }.count == 7)
        #expect(await runtime.status(accountId: "bad")?["parked"] == nil)
    }

    /// Un-parking does not fire a timer that is not due yet: the touch goes out when it was planned.
    @Test func unparkingKeepsAFutureTimerForItsDueTime() async throws {
        let store = FaultyStore(InMemoryStore())
        let (runtime, _, _) = try await startRuntime(store)
        #expect(await runtime.submitLead(requestId: "l", lead: lead("later")).status == .accepted)
        await runtime.settle()
        let due = try #require(try await store.timer(accountId: "later"))
        #expect(due > monday9.addingTimeInterval(day))
        store.fail("later")
        for k in 0..<3 {  // three failed requests park it (maxFailures 3)
            let r = await runtime.submitResponse(requestId: "r\(k)", ResponseInput(accountId: "later", contactEmail: "nobody@later.example", kind: .negative))
            #expect(r.error?.code == "unavailable")
        }
        #expect(runtime.parkedAccounts == ["later"])
        store.heal("later")
        let before = try await allEvents(runtime).count
        #expect(await runtime.retry(accountId: "later"))
        await runtime.settle()
        #expect(try await allEvents(runtime).count == before, "un-parking fired a timer due at \(due)")
        _ = try await runtime.advanceClock(seconds: due.timeIntervalSince(monday9))
        let touches = try await allEvents(runtime).filter { $0.type == "touchpoint.due" }
        #expect(touches.count == 2)
        #expect(touches.last?.at == due)
    }

    /// A status that cannot be read is answered with the failure, but a read is not a failed turn of the
    /// campaign: it never counts towards parking.
    @Test func failingStatusReadsDoNotPark() async throws {
        let store = FaultyStore(InMemoryStore())
        let (first, _, _) = try await startRuntime(store)
        #expect(await first.submitLead(requestId: "l", lead: lead("shaky")).status == .accepted)
        await first.shutdown()
        // A fresh runtime: the campaign is not resident, so a status reads the store.
        let (runtime, _, _) = try await startRuntime(store)
        store.fail("shaky")
        for _ in 0..<5 {
            let status = await runtime.status(accountId: "shaky")
            #expect(status?["failure"] != nil)
            #expect(status?["parked"] == false)
        }
        #expect(runtime.parkedAccounts.isEmpty)
        store.heal("shaky")
        #expect(await runtime.status(accountId: "shaky")?["status"] == "active")
        let r = await runtime.submitResponse(requestId: "r", ResponseInput(accountId: "shaky", contactEmail: "pat@shaky.example", kind: .reply))
        #expect(r.status == .accepted)
    }

    /// A crash in the middle of a long `clock.advance` (the clock is stored at its end): after the restart
    /// the clock is not earlier than the events already in the log, so new events never go back in time.
    @Test func theVirtualClockDoesNotRunBackwardsAfterACrashMidAdvance() async throws {
        let path = temporaryDatabasePath()
        let crashStore = FaultyStore(try SQLiteStore(path: path))
        // The "crash": once the clock passes day 10 of the advance, nothing more reaches the file.
        let (a, _, _) = try await startRuntime(crashStore, decider: KillAfter(monday9.addingTimeInterval(10 * day), store: crashStore))
        for i in 0..<10 { _ = await a.submitLead(requestId: "l\(i)", lead: lead("acct\(i)")) }
        _ = try await a.advanceClock(seconds: 30 * day)
        let before = try await SQLiteStore(path: path).events(afterSeq: 0, limit: 100_000)
        let newestBefore = try #require(before.map(\.at).max())
        #expect(newestBefore > monday9.addingTimeInterval(5 * day), "the crash came too early to prove anything")

        // Restarted as `abm serve --virtual-clock <the same start>` would be.
        let (b, clockB, _) = try await startRuntime(try SQLiteStore(path: path), at: monday9)
        #expect(clockB.now >= newestBefore)
        #expect(await b.submitLead(requestId: "new", lead: lead("fresh")).status == .accepted)
        _ = try await b.advanceClock(seconds: day)
        let after = try await allEvents(b).dropFirst(before.count)
        #expect(!after.isEmpty)
        for e in after { #expect(e.at >= newestBefore, "\(e.type) stamped \(e.at), before \(newestBefore)") }
        await b.shutdown()
    }

    /// A campaign parked while its timer came due, then un-parked 60 days later, fires that timer once, late:
    /// one touch, the campaign still active. (Late timers used to emit every missed touch at once, which
    /// completed the campaign; whether an operator's `resume` then found it active or completed depended on
    /// which of the two turns ran first — the flaky failure of the test above.)
    @Test func unparkingAfterLongDowntimeSendsOneLateTouch() async throws {
        let store = FaultyStore(InMemoryStore())
        let (runtime, clock, _) = try await startRuntime(store)
        #expect(await runtime.submitLead(requestId: "l", lead: lead("idle")).status == .accepted)
        await runtime.settle()
        store.fail("idle")
        _ = try await runtime.advanceClock(seconds: 3 * day)  // the timer fails, retries, parks
        #expect(runtime.parkedAccounts == ["idle"])
        _ = try await runtime.advanceClock(seconds: 60 * day)
        store.heal("idle")
        #expect(await runtime.retry(accountId: "idle"))
        await runtime.settle()
        let touches = try await allEvents(runtime).filter { $0.type == "touchpoint.due" }
        #expect(touches.count == 2)
        #expect(touches.last?.at == clock.now)
        #expect(await runtime.status(accountId: "idle")?["status"] == "active")
        #expect(await runtime.command(requestId: "r", accountId: "idle", .resume).error?.code != "invalid_state")
    }

    @Test func retriesBackOffInClockTime() async throws {
        let store = FaultyStore(InMemoryStore())
        let (runtime, _, _) = try await startRuntime(store) {
            $0.maxFailures = 4
            $0.retryBackoff = 60
        }
        _ = await runtime.submitLead(requestId: "l", lead: lead("bad"))
        await runtime.settle()
        store.fail("bad")
        _ = try await runtime.advanceClock(seconds: 2 * day)  // step 2 due: fails once
        #expect(runtime.parkedAccounts.isEmpty)
        _ = try await runtime.advanceClock(seconds: 60)   // retry 1 after 60 s: fails
        _ = try await runtime.advanceClock(seconds: 119)  // retry 2 due after 120 s: not yet
        #expect(runtime.parkedAccounts.isEmpty)
        _ = try await runtime.advanceClock(seconds: 1)    // retry 2: fails
        #expect(runtime.parkedAccounts.isEmpty)
        store.heal("bad")
        _ = try await runtime.advanceClock(seconds: 240)  // retry 3 succeeds, late
        #expect(runtime.parkedAccounts.isEmpty)
        let touches = try await allEvents(runtime).filter { $0.type == "touchpoint.due" }
        #expect(touches.count == 2)
    }

    @Test func undecodableStateIsParkedWithoutStoppingOthers() async throws {
        let store = InMemoryStore()
        // A corrupt blob with a due timer, as if written by a broken version.
        _ = try await store.commit([AccountWrite(accountId: "corrupt", state: Data("{not json".utf8), timer: .set(monday9))])
        let (runtime, _, _) = try await startRuntime(store)
        _ = await runtime.submitLead(requestId: "l", lead: lead("fine"))
        _ = try await runtime.advanceClock(seconds: 60 * day)
        #expect(runtime.parkedAccounts == ["corrupt"])
        #expect(try await allEvents(runtime).filter { $0.accountId == "fine" && $0.type == "touchpoint.due" }.count == 7)
        let status = await runtime.status(accountId: "corrupt")
        #expect(status?["parked"] == true)
        #expect(status?["account_id"] == "corrupt")
    }

    @Test func throwingDecisionIsIsolated() async throws {
        let throwing = NIOLockedValueBox<Set<String>>([])
        let (runtime, _, _) = try await startRuntime(InMemoryStore(), decider: ThrowingDecider(throwing: throwing))
        _ = await runtime.submitLead(requestId: "a", lead: lead("boom"))
        _ = await runtime.submitLead(requestId: "b", lead: lead("calm"))
        throwing.withLockedValue { $0 = ["boom"] }
        let ack = await runtime.submitLead(requestId: "c", lead: lead("boom", extra: ["new@boom.example"]))
        #expect(ack.error?.code == "unavailable")
        _ = try await runtime.advanceClock(seconds: 60 * day)
        #expect(runtime.parkedAccounts == ["boom"])
        #expect(try await allEvents(runtime).filter { $0.accountId == "calm" && $0.type == "touchpoint.due" }.count == 7)
        // The id of the failed request was not stored: it can be retried once the campaign is healthy.
        throwing.withLockedValue { $0 = [] }
        #expect(await runtime.retry(accountId: "boom"))
        #expect(await runtime.submitLead(requestId: "c", lead: lead("boom", extra: ["new@boom.example"])).status == .accepted)
    }
}

/// The real engine; kills `store` (every later call throws, like a process that died) at the first decision
/// made at or after `instant`.
struct KillAfter: CampaignDecider {
    let engine = CampaignEngine()
    let instant: Date
    let store: FaultyStore

    init(_ instant: Date, store: FaultyStore) {
        self.instant = instant
        self.store = store
    }

    func decide(_ state: AccountState, _ input: CampaignInput, now: Date,
                context: EngineContext) throws -> Result<Transition, AbmError> {
        if now >= instant { store.kill() }
        return try engine.decide(state, input, now: now, context: context)
    }

    func status(_ state: AccountState, now: Date) -> JSONValue? { engine.status(state, now: now) }
}
