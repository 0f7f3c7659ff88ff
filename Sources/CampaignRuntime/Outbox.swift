import AbmWire
import CampaignStore
import Foundation
import Logging

/// Publishes committed events in `seq` order, then records how far it got (`markPublished`).
///
/// The group committer hands over each batch's events in commit order, so the queue is always in seq
/// order. `markPublished` is a store write of its own, so it is coalesced: after every
/// `markEvery` events and whenever the queue runs dry. A crash between publishing and marking only
/// means those events are published again at the next start (at least once; subscribers dedupe).
actor Outbox {
    private let store: any CampaignStorage
    private let publisher: any EventPublisher
    private let markEvery: Int
    private let logger: Logger
    private let metrics: RuntimeMetrics

    private var queue: [StoredEvent] = []
    private var publishing = false
    private var enqueuedSeq: Int64 = 0
    private var publishedSeq: Int64 = 0
    private var markedSeq: Int64 = 0
    private var flushWaiters: [(seq: Int64, continuation: CheckedContinuation<Void, Never>)] = []
    private var publishWaiters: [(seq: Int64, continuation: CheckedContinuation<Void, Never>)] = []

    init(store: any CampaignStorage, publisher: any EventPublisher, markEvery: Int, logger: Logger,
         metrics: RuntimeMetrics = RuntimeMetrics()) {
        self.metrics = metrics
        self.store = store
        self.publisher = publisher
        self.markEvery = max(1, markEvery)
        self.logger = logger
    }

    /// Publishes, in order, everything stored after the last published seq (done once at start, before
    /// any new commit).
    func republishBacklog() async throws {
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

    /// Queues one commit's events (already in seq order) for publication.
    func enqueue(_ events: [StoredEvent]) {
        guard let last = events.last else { return }
        queue.append(contentsOf: events)
        enqueuedSeq = max(enqueuedSeq, last.seq)
        if !publishing {
            publishing = true
            Task { await self.publishLoop() }
        }
    }

    /// Returns once everything enqueued so far is published and marked.
    func flush() async {
        let target = enqueuedSeq
        if markedSeq >= target { return }
        await withCheckedContinuation { c in
            flushWaiters.append((target, c))
            if !publishing {
                publishing = true
                Task { await self.publishLoop() }
            }
        }
    }

    var lastPublishedSeq: Int64 { publishedSeq }

    /// Returns once every event up to `seq` (already enqueued) has been handed to the publisher.
    /// Unlike `flush`, it does not wait for the published seq to be stored.
    func waitPublished(upTo seq: Int64) async {
        if publishedSeq >= seq { return }
        await withCheckedContinuation { publishWaiters.append((seq, $0)) }
    }

    private func publishLoop() async {
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

    private func resumePublishWaiters() {
        guard !publishWaiters.isEmpty else { return }
        var keep: [(seq: Int64, continuation: CheckedContinuation<Void, Never>)] = []
        for w in publishWaiters {
            if w.seq <= publishedSeq { w.continuation.resume() } else { keep.append(w) }
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
