import AbmWire
import CampaignCore
import CampaignStore
import DequeModule
import Foundation
import Logging
import NIOConcurrencyHelpers

/// Supervises the campaign actors: routes work by account id, activates campaigns on demand,
/// passivates idle ones beyond a cap, and drops, retries and parks campaigns whose handling fails.
///
/// The registry is a lock-protected dictionary touched only for a moment per call, so requests for
/// different accounts never wait for each other here. Passivation uses CLOCK (second chance): an
/// entry touched since the hand last passed is spared once; an entry with work in progress is never
/// passivated. A passivated campaign is just dropped: its state in the store is authoritative.
final class Coordinator: Sendable {
    /// How a failed campaign is treated.
    struct FailureRecord: Sendable {
        var count: Int
        var parked: Bool
        var lastError: String
    }

    enum FailureDecision: Sendable, Equatable {
        case retry(at: Date)
        case parked
    }

    /// Its mutable fields are read and written only under `registry`'s lock.
    private final class Entry: @unchecked Sendable {
        let actor: CampaignActor
        var inUse = 0
        var referenced = true
        /// The idle sweep's generation when the entry was last used.
        var generation: UInt32
        init(_ actor: CampaignActor, generation: UInt32) {
            self.actor = actor
            self.generation = generation
        }
    }

    private struct Registry {
        var entries: [String: Entry] = [:]
        var hand = Deque<String>()
        var activations = 0
        var passivations = 0
        /// Bumped by each idle sweep.
        var generation: UInt32 = 0
        /// `drain(shards:)` calls waiting for the turns of their shards to end.
        var drainWaiters: [(shards: Set<Int>, continuation: CheckedContinuation<Void, Never>)] = []
    }

    let env: RuntimeEnvironment
    private let maxResident: Int?
    private let maxFailures: Int
    private let backoffBase: TimeInterval
    private let backoffCap: TimeInterval
    private let registry = NIOLockedValueBox(Registry())
    private let failures = NIOLockedValueBox([String: FailureRecord]())

    init(env: RuntimeEnvironment, maxResident: Int?, maxFailures: Int, backoffBase: TimeInterval,
         backoffCap: TimeInterval) {
        self.env = env
        self.maxResident = maxResident.map { max(1, $0) }
        self.maxFailures = max(1, maxFailures)
        self.backoffBase = backoffBase
        self.backoffCap = backoffCap
    }

    // MARK: - Routing

    /// Runs `body` on the account's actor. When the actor broke during an earlier queued turn, retries
    /// on a fresh one; when `body` itself fails, drops the actor (the failure is the caller's to record).
    func withActor<T: Sendable>(_ accountId: String,
                                _ body: (CampaignActor) async throws -> T) async throws -> T {
        var attempts = 0
        while true {
            let actor = checkout(accountId)
            do {
                let result = try await body(actor)
                checkin(accountId, actor)
                return result
            } catch CampaignActor.Failure.dropped where attempts < 3 {
                attempts += 1
                checkin(accountId, actor, drop: true)
            } catch {
                checkin(accountId, actor, drop: true)
                throw error
            }
        }
    }

    /// Drops the account's actor if it holds no campaign state (an unknown account that was asked about).
    func dropIfStateless(_ accountId: String, _ actor: CampaignActor, hasState: Bool) {
        guard !hasState else { return }
        registry.withLockedValue { r in
            if let e = r.entries[accountId], e.actor === actor, e.inUse == 0 {
                r.entries[accountId] = nil
            }
        }
    }

    func checkout(_ accountId: String) -> CampaignActor {
        registry.withLockedValue { r in
            if let e = r.entries[accountId] {
                e.inUse += 1
                e.referenced = true
                e.generation = r.generation
                return e.actor
            }
            let e = Entry(CampaignActor(accountId: accountId, env: env), generation: r.generation)
            e.inUse = 1
            r.entries[accountId] = e
            // The clock hand only matters with a cap; without one it would grow with every activation.
            if maxResident != nil { r.hand.append(accountId) }
            r.activations += 1
            if let cap = maxResident, r.entries.count > cap {
                Self.passivate(&r, downTo: cap)
            }
            return e.actor
        }
    }

    func checkin(_ accountId: String, _ actor: CampaignActor, drop: Bool = false) {
        let drained = registry.withLockedValue { r -> [CheckedContinuation<Void, Never>] in
            if let e = r.entries[accountId], e.actor === actor {
                e.inUse -= 1
                if drop { r.entries[accountId] = nil }
                // A burst may have kept more than `cap` campaigns busy; shed the excess once they are idle.
                if let cap = maxResident, r.entries.count > cap {
                    Self.passivate(&r, downTo: cap)
                }
                if e.inUse > 0 { return [] }
            }
            // A turn of a draining shard ends (or one on an actor dropped earlier): its drain may be over.
            // Checked only then; drains are rare.
            guard !r.drainWaiters.isEmpty else { return [] }
            let shard = accountShard(accountId)
            var done: [CheckedContinuation<Void, Never>] = []
            var waiting = r.drainWaiters
            waiting.removeAll { w in
                guard w.shards.contains(shard), Self.passivateIdle(&r, inShards: w.shards) else { return false }
                done.append(w.continuation)
                return true
            }
            r.drainWaiters = waiting
            return done
        }
        for c in drained { c.resume() }
    }

    private static func passivate(_ r: inout Registry, downTo cap: Int) {
        // Bounded work per call (the hand resumes where it stopped next time), so that a burst of busy
        // campaigns above the cap does not make every call scan them all.
        var budget = min(r.hand.count * 2 + 1, 64 + 2 * (r.entries.count - cap))
        budget = min(budget, 256)
        while r.entries.count > cap, budget > 0, let id = r.hand.popFirst() {
            budget -= 1
            guard let e = r.entries[id] else { continue }  // dropped earlier; its slot in the hand goes too
            if e.inUse > 0 || e.referenced {
                e.referenced = false
                r.hand.append(id)
                continue
            }
            r.entries[id] = nil
            r.passivations += 1
        }
        // Keep the hand from accumulating ids of dropped entries.
        if r.hand.count > r.entries.count * 2 + 1024 {
            r.hand = Deque(r.hand.filter { r.entries[$0] != nil })
        }
    }

    /// Passivates the campaigns not used since the sweep before last, i.e. idle for one to two sweep
    /// intervals, so that memory goes back down after a burst (their state is in the store; a timer or a
    /// request activates them again). Works in chunks so that routing never waits long for the lock.
    /// Returns how many were passivated.
    @discardableResult
    func sweepIdle() -> Int {
        let ids = registry.withLockedValue { r -> [String] in
            r.generation &+= 1
            return Array(r.entries.keys)
        }
        var dropped = 0
        var start = 0
        while start < ids.count {
            let end = min(start + 4096, ids.count)
            registry.withLockedValue { r in
                for id in ids[start..<end] {
                    guard let e = r.entries[id], e.inUse == 0, r.generation &- e.generation >= 2 else { continue }
                    r.entries[id] = nil
                    r.passivations += 1
                    dropped += 1
                }
                if r.entries.isEmpty && !r.hand.isEmpty { r.hand = Deque() }
            }
            start = end
        }
        return dropped
    }

    var residentCount: Int { registry.withLockedValue { $0.entries.count } }
    func isResident(_ accountId: String) -> Bool { registry.withLockedValue { $0.entries[accountId] != nil } }
    var counters: (activations: Int, passivations: Int) {
        registry.withLockedValue { ($0.activations, $0.passivations) }
    }

    // MARK: - Supervision

    /// Records a failed turn: the next attempt is after an exponential backoff, or the campaign is
    /// parked after `maxFailures` failures in a row.
    func recordFailure(_ accountId: String, error: any Error, now: Date) -> FailureDecision {
        let message = String(describing: error)
        let decision: FailureDecision = failures.withLockedValue { f in
            var rec = f[accountId] ?? FailureRecord(count: 0, parked: false, lastError: "")
            rec.count += 1
            rec.lastError = message
            if rec.count >= maxFailures { rec.parked = true }
            f[accountId] = rec
            if rec.parked { return .parked }
            let delay = min(backoffCap, backoffBase * pow(2, Double(rec.count - 1)))
            return .retry(at: now.addingTimeInterval(delay))
        }
        env.logger.warning("campaign handling failed", metadata: [
            "account_id": "\(accountId)", "error": "\(message)", "decision": "\(decision)",
        ])
        return decision
    }

    /// Forgets past failures after a successful turn.
    func recordSuccess(_ accountId: String) {
        failures.withLockedValue { f in
            if !f.isEmpty { f[accountId] = nil }
        }
    }

    func failureRecord(_ accountId: String) -> FailureRecord? {
        failures.withLockedValue { $0[accountId] }
    }

    func isParked(_ accountId: String) -> Bool {
        failures.withLockedValue { $0[accountId]?.parked ?? false }
    }

    /// Un-parks a campaign (operator `retry` / `resume`). Returns whether it was parked.
    @discardableResult
    func unpark(_ accountId: String) -> Bool {
        failures.withLockedValue { f in
            guard f[accountId]?.parked == true else { return false }
            f[accountId] = nil
            return true
        }
    }

    var parkedAccounts: [String] {
        failures.withLockedValue { f in f.filter { $0.value.parked }.map(\.key).sorted() }
    }

    // MARK: - Timers

    /// Fires one timer; on failure schedules a retry with backoff or parks the campaign.
    func fireTimer(_ accountId: String, dueAt: Date, now: Date) async {
        guard !isParked(accountId) else { return }
        do {
            let turn = try await withActor(accountId) { try await $0.fire(dueAt: dueAt, now: now) }
            if turn != nil { recordSuccess(accountId) }
        } catch {
            await timerFailed(accountId, error: error, now: now)
        }
    }

    /// The store refused a write of the account's shard: another owner took it over. This process reads
    /// the leases again and forgets every shard it lost (their requests are refused, their timers dropped):
    /// it never writes them again.
    func shardLost(_ accountId: String) async {
        var lost = [accountShard(accountId)]
        if let leases = try? await env.store.shardLeases() {
            lost += (0..<shardCount).filter { shard in
                guard let mine = env.ownership.epoch(shard) else { return false }
                return leases[shard]?.epoch != mine
            }
        }
        let forgotten = Set(lost.filter { env.ownership.lose($0) })
        env.timers.dropShards(forgotten)
        for shard in forgotten.sorted() {
            env.logger.error("shard taken over by another owner: this process no longer writes it", metadata: [
                "shard": "\(shard)", "shards_owned": "\(env.ownership.ownedCount)",
            ])
        }
    }

    /// Waits until no turn of an account in `shards` runs or waits, then passivates their campaigns and forgets
    /// their failures. The shards must take no new work by then (`ShardOwnership.beginRelease`): their requests
    /// are refused before reaching an actor, their timers are dropped. `checkin` resumes the wait when the last
    /// turn of these shards ends.
    func drain(shards: Set<Int>) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let idle = registry.withLockedValue { r -> Bool in
                if Self.passivateIdle(&r, inShards: shards) { return true }
                r.drainWaiters.append((shards, c))
                return false
            }
            if idle { c.resume() }
        }
        failures.withLockedValue { f in f = f.filter { !shards.contains(accountShard($0.key)) } }
    }

    /// Drops the idle campaigns of `shards`; returns whether none of them is busy.
    private static func passivateIdle(_ r: inout Registry, inShards shards: Set<Int>) -> Bool {
        var idle = true
        for (id, e) in r.entries where shards.contains(accountShard(id)) {
            if e.inUse > 0 {
                idle = false
            } else {
                r.entries[id] = nil
                r.passivations += 1
            }
        }
        return idle
    }

    /// Fires a batch of due timers (one per account) with one group-commit submission: each idle account
    /// decides in turn (holding its turn), all the writes are committed together, then each account applies
    /// its decision. Accounts busy with a request queue their timer behind it through `fireTimer`, as does
    /// an account whose actor broke earlier (it gets a fresh one). Failures are handled as in `fireTimer`.
    func fireTimers(_ due: [(accountId: String, dueAt: Date, now: Date)]) async {
        var prepared: [(accountId: String, dueAt: Date, now: Date, actor: CampaignActor, fire: CampaignActor.PreparedFire)] = []
        var queued: [(accountId: String, dueAt: Date, now: Date)] = []
        prepared.reserveCapacity(due.count)
        for t in due {
            guard !isParked(t.accountId), env.ownership.owns(accountShard(t.accountId)) else { continue }
            let actor = checkout(t.accountId)
            do {
                switch try await actor.beginFire(dueAt: t.dueAt, now: t.now) {
                case .busy:
                    checkin(t.accountId, actor)
                    queued.append(t)
                case .stale:
                    checkin(t.accountId, actor)
                case .done:
                    checkin(t.accountId, actor)
                    recordSuccess(t.accountId)
                case .prepared(let fire):
                    prepared.append((t.accountId, t.dueAt, t.now, actor, fire))
                }
            } catch CampaignActor.Failure.dropped {
                checkin(t.accountId, actor, drop: true)
                queued.append(t)
            } catch {
                checkin(t.accountId, actor, drop: true)
                await timerFailed(t.accountId, error: error, now: t.now)
            }
        }
        let results = await env.committer.submit(batch: prepared.map(\.fire.write), touching: prepared.map(\.fire.touches))
        for (p, result) in zip(prepared, results) {
            await p.actor.finishFire(p.fire, result: result)
            switch result {
            case .success:
                checkin(p.accountId, p.actor)
                recordSuccess(p.accountId)
            case .failure(let error) where error is SuppressedSinceDecision:
                // Not a failure: decided before an address it touches was suppressed. Fire again.
                checkin(p.accountId, p.actor)
                queued.append((p.accountId, p.dueAt, p.now))
            case .failure(let error):
                checkin(p.accountId, p.actor, drop: true)
                await timerFailed(p.accountId, error: error, now: p.now)
            }
        }
        if queued.isEmpty { return }
        await withTaskGroup(of: Void.self) { tasks in
            for t in queued {
                tasks.addTask { await self.fireTimer(t.accountId, dueAt: t.dueAt, now: t.now) }
            }
        }
    }

    /// A failed timer turn: retried after a backoff, or the campaign is parked; dropped when the shard was
    /// taken over.
    private func timerFailed(_ accountId: String, error: any Error, now: Date) async {
        if error.isFenced {
            await shardLost(accountId)
            return
        }
        switch recordFailure(accountId, error: error, now: now) {
        case .retry(let at):
            if env.timers.retry(accountId, at: at) { env.wake() }
        case .parked:
            break
        }
    }
}
