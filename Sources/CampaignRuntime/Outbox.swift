import AbmWire
import CampaignStore
import Foundation
import Logging

/// Where the outbox takes the events it publishes from.
public enum EventFeed: Sendable, Equatable {
    /// This process's own commits, handed over by the group committer: the whole log when one process writes
    /// the store.
    case ownCommits
    /// The store's log, read in seq order after each own commit and every `pollInterval`: when several
    /// processes write one store (a cluster on PostgreSQL), each publishes every process's events, without a
    /// gap, so a subscriber may connect to any of them. The log's seq order is its commit order (one counter
    /// row, updated last in each commit), so a read after `seq` never skips a later-visible event.
    case storeLog(pollInterval: Duration)
}

/// Publishes committed events in `seq` order, then records how far it got (`markPublished`).
///
/// With `.ownCommits` the group committer hands over each batch's events in commit order, so the queue is
/// always in seq order; with `.storeLog` the outbox reads the store's log instead, and its progress is this
/// process's own (`published_seq/OWNER`), since every process publishes the whole log. `markPublished` is a store write of its own, so it is coalesced: after every
/// `markEvery` events and whenever the queue runs dry. A crash between publishing and marking only
/// means those events are published again at the next start (at least once; subscribers dedupe).
actor Outbox {
    private let store: any CampaignStorage
    private let publisher: any EventPublisher
    /// `.storeLog` in a cluster: nothing is published while it has run out.
    private let liveness: LivenessLease?
    /// Whether the last follow found the lease run out (logged once per lapse).
    private var lapsed = false
    private let markEvery: Int
    private let logger: Logger
    private let metrics: RuntimeMetrics
    private let feed: EventFeed
    /// The meta key of this process's progress through the log (`.storeLog` only).
    private let cursorKey: String
    private var poller: Task<Void, Never>?

    private var queue: [StoredEvent] = []
    private var publishing = false
    private var enqueuedSeq: Int64 = 0
    private var publishedSeq: Int64 = 0
    private var markedSeq: Int64 = 0
    private var flushWaiters: [(seq: Int64, continuation: CheckedContinuation<Void, Never>)] = []
    private var publishWaiters: [(seq: Int64, continuation: CheckedContinuation<Bool, Never>)] = []

    init(store: any CampaignStorage, publisher: any EventPublisher, markEvery: Int, logger: Logger,
         metrics: RuntimeMetrics = RuntimeMetrics(), feed: EventFeed = .ownCommits, owner: String = "",
         liveness: LivenessLease? = nil) {
        self.metrics = metrics
        self.liveness = liveness
        self.feed = feed
        self.cursorKey = "published_seq/" + owner
        self.store = store
        self.publisher = publisher
        self.markEvery = max(1, markEvery)
        self.logger = logger
    }

    /// Publishes, in order, everything stored after the last published seq (done once at start, before
    /// any new commit). Following the store's log, it starts from this process's own progress, or from the
    /// log's end the first time (subscribers replay what came before), then polls the log.
    func republishBacklog() async throws {
        if case .storeLog(let interval) = feed {
            let from: Int64
            if let stored = try await store.meta(cursorKey), let seq = Int64(stored) { from = seq } else { from = try await store.lastSeq() }
            publishedSeq = from
            markedSeq = from
            enqueuedSeq = from
            poller = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    await self?.kick()
                }
            }
            kick()
            return
        }
        let from = try await store.publishedSeq()
        publishedSeq = from
        markedSeq = from
        enqueuedSeq = from
        var after = from
        while true {
            let page = try await store.events(afterSeq: after, limit: 1000)
            guard let last = page.last else { break }
            await publisher.publish(page)
            metrics.published.increment(by: Int64(page.count))
            after = last.seq
        }
        if after > from {
            try await store.markPublished(upTo: after)
            logger.info("republished events after restart", metadata: ["from": "\(from + 1)", "to": "\(after)"])
        }
        publishedSeq = after
        markedSeq = after
        enqueuedSeq = after
    }

    /// Queues one commit's events (already in seq order) for publication. Following the store's log, it only
    /// says how far the log reaches now; the events are read from there, in order with other processes' ones.
    func enqueue(_ events: [StoredEvent]) {
        guard let last = events.last else { return }
        if feed == .ownCommits { queue.append(contentsOf: events) }
        enqueuedSeq = max(enqueuedSeq, last.seq)
        kick()
    }

    private func kick() {
        if !publishing {
            publishing = true
            Task { await self.publishLoop() }
        }
    }

    /// Stops polling the store's log (the last `flush` still publishes what this process committed).
    func stopFollowing() {
        poller?.cancel()
        poller = nil
    }

    /// Returns once everything enqueued so far is published and marked.
    func flush() async {
        let target = enqueuedSeq
        if markedSeq >= target { return }
        await withCheckedContinuation { c in
            flushWaiters.append((target, c))
            kick()
        }
    }

    var lastPublishedSeq: Int64 { publishedSeq }

    /// Returns true once every event up to `seq` (already enqueued) has been handed to the publisher; false
    /// when this node's liveness lease ran out first (it publishes nothing more until a renewal).
    /// Unlike `flush`, it does not wait for the published seq to be stored.
    func waitPublished(upTo seq: Int64) async -> Bool {
        if publishedSeq >= seq { return true }
        if let liveness, !liveness.isValid { return false }
        return await withCheckedContinuation { publishWaiters.append((seq, $0)) }
    }

    private func publishLoop() async {
        if feed != .ownCommits { return await followLoop() }
        while true {
            if !queue.isEmpty {
                let batch = queue
                queue.removeAll(keepingCapacity: true)
                await publisher.publish(batch)
                metrics.published.increment(by: Int64(batch.count))
                publishedSeq = batch.last!.seq
                resumePublishWaiters()
            }
            let drained = queue.isEmpty
            if publishedSeq > markedSeq, drained || publishedSeq - markedSeq >= Int64(markEvery) {
                let seq = publishedSeq
                do {
                    try await store.markPublished(upTo: seq)
                    markedSeq = max(markedSeq, seq)
                } catch {
                    // Not fatal: the events were published; a restart republishes them once more.
                    logger.warning("markPublished failed", metadata: ["seq": "\(seq)", "error": "\(error)"])
                    markedSeq = max(markedSeq, seq)
                }
                resumeFlushWaiters()
            }
            if queue.isEmpty {
                resumeFlushWaiters()
                publishing = false
                return
            }
        }
    }

    /// `.storeLog`: reads and publishes the log after `publishedSeq` until it is read to its end, then records
    /// this process's progress. A failed read is retried at the next poll or commit.
    private func followLoop() async {
        while true {
            let page: [StoredEvent]
            do {
                page = try await store.events(afterSeq: publishedSeq, limit: 1000)
            } catch {
                logger.warning("reading the event log failed", metadata: ["after": "\(publishedSeq)", "error": "\(error)"])
                page = []
            }
            if !page.isEmpty, let liveness, !liveness.isValid {
                // Peers may own this node's shards by now and publish the log themselves; this node is about to
                // stop (its heartbeat finds the row gone) or renews and goes on from here.
                if !lapsed {
                    logger.warning("liveness lease ran out: publishing nothing until it is renewed",
                                   metadata: ["published_seq": "\(publishedSeq)"])
                }
                lapsed = true
                // Neither a flush (the stop) nor a response's ack waits for it: the response is answered as not
                // published (`waitPublished` false), never acknowledged ahead of the events before it.
                for w in flushWaiters { w.continuation.resume() }
                for w in publishWaiters { w.continuation.resume(returning: false) }
                (flushWaiters, publishWaiters) = ([], [])
                publishing = false
                return
            }
            lapsed = false
            if let last = page.last {
                await publisher.publish(page)
                metrics.published.increment(by: Int64(page.count))
                publishedSeq = last.seq
                enqueuedSeq = max(enqueuedSeq, publishedSeq)
                resumePublishWaiters()
            }
            if publishedSeq > markedSeq, page.isEmpty || publishedSeq - markedSeq >= Int64(markEvery) {
                let seq = publishedSeq
                do { try await store.setMeta(cursorKey, String(seq)) } catch {
                    logger.warning("recording the published seq failed", metadata: ["seq": "\(seq)", "error": "\(error)"])
                }
                markedSeq = max(markedSeq, seq)
            }
            if page.isEmpty {
                // A read that failed or found less than this process committed is not the end: waiters stay.
                if publishedSeq >= enqueuedSeq { resumeFlushWaiters() }
                publishing = false
                return
            }
        }
    }

    private func resumePublishWaiters() {
        guard !publishWaiters.isEmpty else { return }
        var keep: [(seq: Int64, continuation: CheckedContinuation<Bool, Never>)] = []
        for w in publishWaiters {
            if w.seq <= publishedSeq { w.continuation.resume(returning: true) } else { keep.append(w) }
        }
        publishWaiters = keep
    }

    private func resumeFlushWaiters() {
        guard !flushWaiters.isEmpty else { return }
        var keep: [(seq: Int64, continuation: CheckedContinuation<Void, Never>)] = []
        for w in flushWaiters {
            if w.seq <= markedSeq { w.continuation.resume() } else { keep.append(w) }
        }
        flushWaiters = keep
    }
}
