import AbmWire
import CampaignCore
import CampaignRuntime
import CampaignStore
import Foundation
import Synchronization
import ZeroMQ

/// Publishes committed events on the events PUB socket as `[topic][body]`, topic `<type>/<account_id>`,
/// body the stored bytes (`{"seq":N,…}`), so what is published, stored and replayed is identical.
/// The runtime's outbox calls `publish` in seq order; one `send(batch:)` per call.
///
/// Per subscriber the PUB queues at most `ServerOptions.eventHighWaterMark` events, each at most
/// `maxLiveEventBytes`: a byte bound on what a subscriber that does not read can hold (protocol §8.3).
public final class EventSocketPublisher: EventPublisher {
    let socket: AsyncZMQSocket
    let maxLiveEventBytes: Int
    private let skipped = Atomic(0)
    private let published = Atomic(0)

    /// Events handed to the PUB so far.
    var publishedCount: Int { published.load(ordering: .relaxed) }

    init(socket: AsyncZMQSocket, maxLiveEventBytes: Int) {
        self.socket = socket
        self.maxLiveEventBytes = maxLiveEventBytes
    }

    /// Events stored but not published live for being over `maxLiveEventBytes` (replay has them).
    public var eventsNotPublishedLive: Int { skipped.load(ordering: .relaxed) }

    public func publish(_ events: [StoredEvent]) async {
        guard !events.isEmpty else { return }
        var messages: [ZMQMessage] = []
        messages.reserveCapacity(events.count)
        for e in events {
            let topic = WireEvent.topic(type: e.type, accountId: e.accountId)
            guard topic.count + e.body.count <= maxLiveEventBytes else {
                skipped.add(1, ordering: .relaxed)
                continue
            }
            messages.append(ZMQMessage([topic, [UInt8](e.body)]))
        }
        // PUB never blocks: a slow subscriber loses messages at its high-water mark and recovers by
        // replay (`events` with `after_seq`), as the protocol says.
        _ = await socket.send(batch: messages)
        published.add(events.count, ordering: .relaxed)
    }
}
