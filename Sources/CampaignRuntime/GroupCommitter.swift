import AbmWire
import CampaignStore
import DequeModule
import Foundation
import Logging

/// Batches many campaigns' writes into one `store.commit` (one transaction, one fsync).
///
/// A commit starts as soon as the previous one has finished and takes whatever is queued, up to
/// `maxBatch` writes. There is no timed wait: under light load a write commits alone at once; under
/// load the queue fills while the previous fsync runs. When a batch fails, each account's writes are
/// retried alone (together: a batch of one account's requests is all or nothing), so one bad write
/// fails only its own campaign.
///
/// After a successful commit, and before any writer resumes, the committer extends the in-memory
/// suppression list and hands the batch's events, in seq order, to the outbox.
///
/// Suppression is checked here, where the write commits, and not only where it was decided: a turn
/// decided while another account's unsubscribe of the same address was being committed would otherwise
/// send to that address after its suppression. A write that touches an address suppressed by an earlier
/// commit (or by an earlier write of its own batch) is refused with `SuppressedSinceDecision`, nothing of
/// it stored; its turn decides again and sees the suppression.
actor GroupCommitter {
    /// One submission: a single turn's write, or a batch of timer turns' writes with one continuation.
    private struct Pending {
        enum Resume {
            case one(CheckedContinuation<[StoredEvent], any Error>)
            case many(CheckedContinuation<[Result<[StoredEvent], any Error>], Never>)
        }
        var writes: [AccountWrite]
        /// Per write, the addresses it sends a touch to.
        var touches: [[String]]
        var resume: Resume

        func deliver(_ results: ArraySlice<Result<[StoredEvent], any Error>>) {
            switch resume {
            case .one(let c): c.resume(with: results.first!)
            case .many(let c): c.resume(returning: Array(results))
            }
        }
    }

    private let store: any CampaignStorage
    private let outbox: Outbox
    private let suppressions: SuppressionList
    private let maxBatch: Int
    private let logger: Logger
    private let metrics: RuntimeMetrics

    private var queue = Deque<Pending>()
    /// Responses and operator commands: taken before `queue`, so that a reply's pause is not committed
    /// behind a burst of leads or timer turns.
    private var urgent = Deque<Pending>()
    private var running = false
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []

    /// Counters for benchmarks and logs.
    private(set) var commits = 0
    private(set) var writesCommitted = 0

    init(store: any CampaignStorage, outbox: Outbox, suppressions: SuppressionList, maxBatch: Int, logger: Logger,
         metrics: RuntimeMetrics = RuntimeMetrics()) {
        self.metrics = metrics
        self.store = store
        self.outbox = outbox
        self.suppressions = suppressions
        self.maxBatch = max(1, maxBatch)
        self.logger = logger
    }

    /// Commits `write` with whatever else is queued; returns its events, numbered. Throws the store's
    /// error when the write could not be committed (nothing of it is stored).
    /// `touching`: the addresses the write sends a touch to (checked against the suppression list).
    /// `urgent`: a response or an operator command (committed ahead of queued leads and timer turns).
    func submit(_ write: AccountWrite, touching: [String] = [], urgent: Bool = false) async throws -> [StoredEvent] {
        try await withCheckedThrowingContinuation { c in
            enqueue(Pending(writes: [write], touches: [touching], resume: .one(c)), urgent: urgent)
        }
    }

    /// Commits several campaigns' writes (the scheduler's batch of timer turns) with whatever else is
    /// queued; returns, per write and in order, its numbered events or the error that kept it out.
    /// One bad write fails only itself (see the type's doc).
    func submit(batch writes: [AccountWrite], touching: [[String]], urgent: Bool = false) async -> [Result<[StoredEvent], any Error>] {
        guard !writes.isEmpty else { return [] }
        return await withCheckedContinuation { c in
            enqueue(Pending(writes: writes, touches: touching, resume: .many(c)), urgent: urgent)
        }
    }

    private func enqueue(_ pending: Pending, urgent isUrgent: Bool) {
        if isUrgent { urgent.append(pending) } else { queue.append(pending) }
        if !running {
            running = true
            Task { await self.drain() }
        }
    }

    /// Returns once nothing is queued or being committed.
    func waitIdle() async {
        if !running && queue.isEmpty && urgent.isEmpty { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    var stats: (commits: Int, writes: Int) { (commits, writesCommitted) }

    /// Submissions waiting for a commit (for tests and statistics).
    var queuedCount: Int { queue.count + urgent.count }

    private func drain() async {
        while !queue.isEmpty || !urgent.isEmpty {
            // Whole submissions, up to `maxBatch` writes (a larger batch submission goes alone), urgent first.
            var batch = [urgent.popFirst() ?? queue.removeFirst()]
            var count = batch[0].writes.count
            while let next = urgent.first ?? queue.first, count + next.writes.count <= maxBatch {
                batch.append(urgent.isEmpty ? queue.removeFirst() : urgent.removeFirst())
                count += next.writes.count
            }
            await commit(batch)
        }
        running = false
        let waiters = idleWaiters
        idleWaiters = []
        for w in waiters { w.resume() }
    }

    private func commit(_ batch: [Pending]) async {
        let all = batch.count == 1 ? batch[0].writes : batch.flatMap(\.writes)
        var results = [Result<[StoredEvent], any Error>?](repeating: nil, count: all.count)
        // Refuse the writes that touch an address suppressed by now; the rest commit. An account's writes
        // go together (its later writes were decided on the state its earlier ones leave).
        var refusedAccounts: [String: String] = [:]
        var batchSuppressed: Set<String> = []
        for p in batch {
            for (w, touched) in zip(p.writes, p.touches) where refusedAccounts[w.accountId] == nil {
                if let address = touched.first(where: { suppressions.contains($0) || batchSuppressed.contains($0) }) {
                    refusedAccounts[w.accountId] = address
                } else if !w.suppressions.isEmpty {
                    batchSuppressed.formUnion(w.suppressions)
                }
            }
        }
        var writes: [AccountWrite] = []
        var positions: [Int] = []
        writes.reserveCapacity(all.count)
        positions.reserveCapacity(all.count)
        let touches = batch.count == 1 ? batch[0].touches : batch.flatMap(\.touches)
        for (index, w) in all.enumerated() {
            if let address = refusedAccounts[w.accountId] {
                results[index] = .failure(SuppressedSinceDecision(email: address))
            } else {
                writes.append(w)
                // A shared store checks them again inside the commit (another process's unsubscribes).
                if !touches[index].isEmpty { writes[writes.count - 1].touches = touches[index] }
                positions.append(index)
            }
        }
        if !writes.isEmpty {
            for (position, result) in zip(positions, await commitWrites(writes)) { results[position] = result }
        }
        var start = 0
        for p in batch {
            p.deliver(ArraySlice(results[start..<start + p.writes.count].map { $0! }))
            start += p.writes.count
        }
    }

    /// One transaction for `writes`; when it fails, each write alone.
    private func commitWrites(_ writes: [AccountWrite]) async -> [Result<[StoredEvent], any Error>] {
        var results: [Result<[StoredEvent], any Error>] = []
        results.reserveCapacity(writes.count)
        let start = ContinuousClock.now
        do {
            let numbered = try await store.commit(writes)
            metrics.committed(writes: writes.count, since: start)
            let elapsed = ContinuousClock.now - start
            // Counts only: the writes hold personal data.
            logger.debug("committed", metadata: [
                "writes": "\(writes.count)", "events": "\(numbered.reduce(0) { $0 + $1.count })",
                "ms": "\(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)",
            ])
            await committed(writes, numbered)
            for i in writes.indices { results.append(.success(i < numbered.count ? numbered[i] : [])) }
        } catch {
            metrics.failures.increment()
            // Another process suppressed an address since these writes were decided: known here from now on,
            // so that the retry below refuses exactly the writes touching it and their turns decide again.
            let suppressedElsewhere = (error as? StoreError)?.suppressedEmails ?? []
            // Kept as hashes: the address may be an erased person's (its stored entry is only a hash).
            if !suppressedElsewhere.isEmpty {
                suppressions.insert(contentsOf: suppressedElsewhere.map { Suppression.hashed(EmailHash.sha256($0)) })
            }
            if writes.count == 1 {
                results.append(.failure(suppressedElsewhere.first.map { SuppressedSinceDecision(email: $0) } ?? error))
            } else {
                logger.warning("batch commit failed; retrying each account's writes alone",
                               metadata: ["writes": "\(writes.count)", "error": "\(error)"])
                var byAccount: [String: [Int]] = [:]
                var order: [String] = []
                for (i, w) in writes.enumerated() {
                    if byAccount[w.accountId] == nil { order.append(w.accountId) }
                    byAccount[w.accountId, default: []].append(i)
                }
                var slots = [Result<[StoredEvent], any Error>?](repeating: nil, count: writes.count)
                for account in order {
                    let indices = byAccount[account]!
                    let group = indices.map { writes[$0] }
                    if let address = group.lazy.flatMap(\.touches).first(where: { self.suppressions.contains($0) }) {
                        for i in indices { slots[i] = .failure(SuppressedSinceDecision(email: address)) }
                        continue
                    }
                    do {
                        let retryStart = ContinuousClock.now
                        let numbered = try await store.commit(group)
                        metrics.committed(writes: group.count, since: retryStart)
                        await committed(group, numbered)
                        for (k, i) in indices.enumerated() { slots[i] = .success(k < numbered.count ? numbered[k] : []) }
                    } catch {
                        // Suppressed meanwhile by yet another commit: refused like the first time, decided again.
                        let more = (error as? StoreError)?.suppressedEmails ?? []
                        if !more.isEmpty { suppressions.insert(contentsOf: more.map { Suppression.hashed(EmailHash.sha256($0)) }) }
                        let failure: any Error = more.first.map { SuppressedSinceDecision(email: $0) } ?? error
                        for i in indices { slots[i] = .failure(failure) }
                    }
                }
                results = slots.map { $0! }
            }
        }
        return results
    }

    private func committed(_ writes: [AccountWrite], _ numbered: [[StoredEvent]]) async {
        commits += 1
        writesCommitted += writes.count
        var all: [StoredEvent] = []
        for i in writes.indices {  // by index: a copy of each write would retain all of its parts
            if !writes[i].suppressions.isEmpty { suppressions.insert(contentsOf: writes[i].suppressions) }
            if let erasure = writes[i].erasure { suppressions.erase(erasure.email, emailSHA256: erasure.emailSHA256) }
            if i < numbered.count { all.append(contentsOf: numbered[i]) }
        }
        if !all.isEmpty { await outbox.enqueue(all) }
    }
}

/// A write refused at commit: it touches an address that was suppressed after the write was decided.
/// Nothing of it is stored; the turn decides again.
struct SuppressedSinceDecision: Error, Sendable, CustomStringConvertible {
    var email: String
    var description: String { "\(email) was suppressed after the decision to touch it" }
}
