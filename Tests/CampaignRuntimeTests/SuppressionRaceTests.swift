import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import NIOConcurrencyHelpers
import Testing

@testable import CampaignRuntime

/// A store whose next commit carrying a suppression is held until the test releases it.
final class HoldingStore: CampaignStorage, Sendable {
    private struct State {
        var armed = false
        var held: CheckedContinuation<Void, Never>?
        var heldWaiter: CheckedContinuation<Void, Never>?
        var released = false
    }

    let base: any CampaignStorage
    private let state = NIOLockedValueBox(State())

    init(_ base: any CampaignStorage) { self.base = base }

    func holdNextSuppression() { state.withLockedValue { $0.armed = true } }

    /// Returns once a commit is being held.
    func waitUntilHeld() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { s -> Bool in
                if s.held != nil { return true }
                s.heldWaiter = c
                return false
            }
            if now { c.resume() }
        }
    }

    func release() {
        let c = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
            s.released = true
            defer { s.held = nil }
            return s.held
        }
        c?.resume()
    }

    func commit(_ writes: [AccountWrite]) async throws -> [[StoredEvent]] {
        let hold = state.withLockedValue { s -> Bool in
            guard s.armed, writes.contains(where: { !$0.suppressions.isEmpty }) else { return false }
            s.armed = false
            return true
        }
        if hold {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let (resumeNow, waiter) = state.withLockedValue { s -> (Bool, CheckedContinuation<Void, Never>?) in
                    if s.released { return (true, nil) }
                    s.held = c
                    defer { s.heldWaiter = nil }
                    return (false, s.heldWaiter)
                }
                waiter?.resume()
                if resumeNow { c.resume() }
            }
        }
        return try await base.commit(writes)
    }

    func loadState(accountId: String) async throws -> Data? { try await base.loadState(accountId: accountId) }
    func reply(for key: RequestKey) async throws -> Data? { try await base.reply(for: key) }
    func replies(for keys: [RequestKey]) async throws -> [RequestKey: Data] { return try await base.replies(for: keys) }
    func loadStates(accountIds: [String]) async throws -> [String: Data] {
        return try await base.loadStates(accountIds: accountIds)
    }
    func dueTimers(upTo: Date, limit: Int) async throws -> [DueTimer] { try await base.dueTimers(upTo: upTo, limit: limit) }
    func nextTimer() async throws -> DueTimer? { try await base.nextTimer() }
    func events(afterSeq: Int64, limit: Int) async throws -> [StoredEvent] { try await base.events(afterSeq: afterSeq, limit: limit) }
    func lastSeq() async throws -> Int64 { try await base.lastSeq() }
    func publishedSeq() async throws -> Int64 { try await base.publishedSeq() }
    func markPublished(upTo seq: Int64) async throws { try await base.markPublished(upTo: seq) }
    func isSuppressed(email: String) async throws -> Bool { try await base.isSuppressed(email: email) }
    func suppressedEmails() async throws -> Set<String> { try await base.suppressedEmails() }
    func meta(_ key: String) async throws -> String? { try await base.meta(key) }
    func setMeta(_ key: String, _ value: String) async throws { try await base.setMeta(key, value) }
    func loadAccount(accountId: String) async throws -> StoredAccount? { try await base.loadAccount(accountId: accountId) }
    func timer(accountId: String) async throws -> Date? { try await base.timer(accountId: accountId) }
    func timers(after: DueTimer?, upTo: Date?, limit: Int) async throws -> [DueTimer] {
        try await base.timers(after: after, upTo: upTo, limit: limit)
    }
    func accountCount() async throws -> Int { try await base.accountCount() }
    func campaigns(_ query: CampaignQuery) async throws -> [CampaignIndexEntry] { try await base.campaigns(query) }
    func events(accountId: String, afterSeq: Int64, limit: Int) async throws -> [StoredEvent] {
        try await base.events(accountId: accountId, afterSeq: afterSeq, limit: limit)
    }
    func campaignCounts() async throws -> [String: Int] { try await base.campaignCounts() }
    func accounts(mentioning text: String, limit: Int) async throws -> [String] {
        try await base.accounts(mentioning: text, limit: limit)
    }
    func finishErasure(email: String, emailSHA256: String, replacement: String) async throws -> Int {
        try await base.finishErasure(email: email, emailSHA256: emailSHA256, replacement: replacement)
    }
    func pruneEvents(before: Date, limit: Int) async throws -> Int {
        try await base.pruneEvents(before: before, limit: limit)
    }
    func pruneRequests(before: Date, limit: Int) async throws -> Int {
        try await base.pruneRequests(before: before, limit: limit)
    }
    func prunedSeq() async throws -> Int64 { try await base.prunedSeq() }
    func accounts(after: String?, limit: Int) async throws -> [StoredAccount] {
        try await base.accounts(after: after, limit: limit)
    }
    func acquireShards(_ shards: [Int], owner: String) async throws -> [Int: Int64] {
        try await base.acquireShards(shards, owner: owner)
    }
    func shardLeases() async throws -> [Int: ShardLease] { try await base.shardLeases() }
    func acquireFreeShards(_ shards: [Int], owner: String) async throws -> [Int: Int64] {
        try await base.acquireFreeShards(shards, owner: owner)
    }
    func releaseShards(_ leases: [Int: Int64], owner: String) async throws -> [Int] {
        try await base.releaseShards(leases, owner: owner)
    }
    func timers(inShards shards: [Int], after: DueTimer?, limit: Int) async throws -> [DueTimer] {
        try await base.timers(inShards: shards, after: after, limit: limit)
    }
    func close() async throws { try await base.close() }
}

/// The real engine; signals the first timer decision for `account` that plans a touch.
final class TimerDecisionSignal: CampaignDecider, Sendable {
    let engine = CampaignEngine()
    let account: String
    private let state = NIOLockedValueBox<(fired: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    init(account: String) { self.account = account }

    func decide(_ state: AccountState, _ input: CampaignInput, now: Date,
                context: EngineContext) throws -> Result<Transition, AbmError> {
        let result = try engine.decide(state, input, now: now, context: context)
        if state.accountId == account, case .timerFired = input, case .success(let t) = result,
           t.effects.contains(where: { if case .emit(let e) = $0 { e.type == .touchpointDue } else { false } }) {
            let w = self.state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
                s.fired = true
                defer { s.waiter = nil }
                return s.waiter
            }
            w?.resume()
        }
        return result
    }

    func status(_ state: AccountState, now: Date) -> JSONValue? { engine.status(state, now: now) }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { s -> Bool in
                if s.fired { return true }
                s.waiter = c
                return false
            }
            if now { c.resume() }
        }
    }
}

@Suite struct SuppressionRaceTests {
    /// Account A unsubscribes an address while account B's timer decides a touch to the same address.
    /// The interleaving is forced: A's commit is held in the store until B has decided. B's touch must
    /// not be committed after A's suppression (it is decided again, and finds the address suppressed).
    @Test func noTouchToAnAddressCommitsAfterItsSuppression() async throws {
        let store = HoldingStore(InMemoryStore())
        let signal = TimerDecisionSignal(account: "b")
        let (runtime, _, _) = try await startRuntime(store, decider: signal)
        let shared = "x@shared.example"
        #expect(await runtime.submitLead(requestId: "la", lead: lead("a", colleagues: 0, primary: shared)).status == .accepted)
        #expect(await runtime.submitLead(requestId: "lb", lead: lead("b", colleagues: 0, primary: shared)).status == .accepted)
        await runtime.settle()

        store.holdNextSuppression()
        let unsubscribe = Task {
            await runtime.submitResponse(requestId: "u", ResponseInput(accountId: "a", contactEmail: shared, kind: .unsubscribe))
        }
        await store.waitUntilHeld()
        let advance = Task { try await runtime.advanceClock(seconds: 3 * day) }
        await signal.wait()  // B decided a touch to the address while A's suppression is uncommitted
        store.release()
        #expect(await unsubscribe.value.status == .accepted)
        _ = try await advance.value

        let events = try await allEvents(runtime)
        let suppressedAt = try #require(events.first { $0.accountId == "a" && $0.type == "contact.suppressed" }?.seq)
        let late = events.filter { $0.type == "touchpoint.due" && $0.contactEmail == shared && $0.seq > suppressedAt }
        #expect(late.isEmpty, "touches committed after the suppression: \(late.map(\.seq))")
        // B decided again and set the address aside itself.
        #expect(events.contains { $0.accountId == "b" && $0.type == "contact.suppressed" })
        #expect(runtime.parkedAccounts.isEmpty)
        await runtime.shutdown()
    }
}
