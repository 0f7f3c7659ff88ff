import CampaignCore
import CampaignRuntime
import CampaignStore
import Foundation
import Synchronization
import ZeroMQ

/// Publishes committed events on the events PUB socket as `[topic][body]`, topic `<type>/<account_id>`,
/// body the stored bytes (`{"seq":N,…}`), so what is published, stored and replayed is identical.
/// The runtime's outbox calls `publish` in seq order; one `send(batch:)` per call.
public final class EventSocketPublisher: EventPublisher {
    let socket: AsyncZMQSocket
    private let published = Atomic(0)

    /// Events handed to the PUB so far.
    var publishedCount: Int { published.load(ordering: .relaxed) }

    init(socket: AsyncZMQSocket) {
        self.socket = socket
    }

    public func publish(_ events: [StoredEvent]) async {
        guard !events.isEmpty else { return }
        let messages = events.map { e in
            ZMQMessage([WireEvent.topic(type: e.type, accountId: e.accountId), [UInt8](e.body)])
        }
        // PUB never blocks: a slow subscriber loses messages at its high-water mark and recovers by
        // replay (`events` with `after_seq`), as the protocol says.
        _ = await socket.send(batch: messages)
        published.add(events.count, ordering: .relaxed)
    }
}
