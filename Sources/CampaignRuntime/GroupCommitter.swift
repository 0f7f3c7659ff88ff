import CampaignStore
import DequeModule
import Foundation
import Logging

/// Batches many campaigns' writes into one `store.commit` (one transaction, one fsync).
///
/// A commit starts as soon as the previous one has finished and takes whatever is queued, up to
/// `maxBatch` writes. There is no timed wait: under light load a write commits alone at once; under
/// load the queue fills while the previous fsync runs. When a batch fails, each of its writes is
/// retried alone, so one bad write fails only its own campaign.
///
/// After a successful commit, and before any writer resumes, the committer extends the in-memory
/// suppression list and hands the batch's events, in seq order, to the outbox.
actor GroupCommitter {
    private struct Pending {
        var write: AccountWrite
        var continuation: CheckedContinuation<[StoredEvent], any Error>
    }

    private let store: any CampaignStorage
    private let outbox: Outbox
    private let suppressions: SuppressionList
    private let maxBatch: Int
    private let logger: Logger

    private var queue = Deque<Pending>()
    private var running = false
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []

    /// Counters for benchmarks and logs.
    private(set) var commits = 0
    private(set) var writesCommitted = 0

    init(store: any CampaignStorage, outbox: Outbox, suppressions: SuppressionList, maxBatch: Int, logger: Logger) {
        self.store = store
        self.outbox = outbox
        self.suppressions = suppressions
        self.maxBatch = max(1, maxBatch)
        self.logger = logger
    }

    /// Commits `write` with whatever else is queued; returns its events, numbered. Throws the store's
    /// error when the write could not be committed (nothing of it is stored).
    func submit(_ write: AccountWrite) async throws -> [StoredEvent] {
        try await withCheckedThrowingContinuation { c in
            queue.append(Pending(write: write, continuation: c))
            if !running {
                running = true
                Task { await self.drain() }
            }
        }
    }

    /// Returns once nothing is queued or being committed.
    func waitIdle() async {
        if !running && queue.isEmpty { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    var stats: (commits: Int, writes: Int) { (commits, writesCommitted) }

    private func drain() async {
        while !queue.isEmpty {
            let take = min(queue.count, maxBatch)
            let batch = Array(queue.prefix(take))
            queue.removeFirst(take)
            await commit(batch)
        }
        running = false
        let waiters = idleWaiters
        idleWaiters = []
        for w in waiters { w.resume() }
    }

    private func commit(_ batch: [Pending]) async {
        do {
            let numbered = try await store.commit(batch.map(\.write))
            await committed(batch, numbered)
        } catch {
            if batch.count == 1 {
                batch[0].continuation.resume(throwing: error)
                return
            }
            logger.warning("batch commit failed; retrying its writes one by one",
                           metadata: ["writes": "\(batch.count)", "error": "\(error)"])
            for p in batch {
                do {
                    let numbered = try await store.commit([p.write])
                    await committed([p], numbered)
                } catch {
                    p.continuation.resume(throwing: error)
                }
            }
        }
    }

    private func committed(_ batch: [Pending], _ numbered: [[StoredEvent]]) async {
        commits += 1
        writesCommitted += batch.count
        var all: [StoredEvent] = []
        for (i, p) in batch.enumerated() {
            if !p.write.suppressions.isEmpty { suppressions.insert(contentsOf: p.write.suppressions) }
            if i < numbered.count { all.append(contentsOf: numbered[i]) }
        }
        if !all.isEmpty { await outbox.enqueue(all) }
        for (i, p) in batch.enumerated() {
            p.continuation.resume(returning: i < numbered.count ? numbered[i] : [])
        }
    }
}
