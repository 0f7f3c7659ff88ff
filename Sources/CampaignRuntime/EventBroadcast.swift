import AbmWire
import CampaignStore
import NIOConcurrencyHelpers

/// Committed events for in-process watchers (the dashboard's live stream), next to the events socket.
///
/// Each watcher gets an `AsyncStream` holding at most `bufferSize` events: a watcher that falls behind
/// loses the oldest (it sees a gap in `seq` and can read them back from the store). Publishing costs
/// one lock per batch when nobody watches.
public final class EventBroadcast: EventPublisher, Sendable {
    private struct State {
        var next = 0
        var watchers: [Int: AsyncStream<StoredEvent>.Continuation] = [:]
        var finished = false
    }

    private let state = NIOLockedValueBox(State())
    private let bufferSize: Int

    public init(bufferSize: Int = 1000) {
        self.bufferSize = max(1, bufferSize)
    }

    /// The events published from now on, until the stream's consumer stops iterating or `finish()`
    /// (after which the streams returned are already finished).
    public func watch() -> AsyncStream<StoredEvent> {
        let (stream, continuation) = AsyncStream<StoredEvent>.makeStream(bufferingPolicy: .bufferingNewest(bufferSize))
        let id: Int? = state.withLockedValue { s in
            guard !s.finished else { return nil }
            defer { s.next += 1 }
            s.watchers[s.next] = continuation
            return s.next
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLockedValue { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }

    /// How many watch right now.
    public var watcherCount: Int { state.withLockedValue { $0.watchers.count } }

    public func publish(_ events: [StoredEvent]) async {
        let watchers = state.withLockedValue { Array($0.watchers.values) }
        guard !watchers.isEmpty else { return }
        for watcher in watchers {
            for event in events { watcher.yield(event) }
        }
    }

    /// Ends every watcher's stream, and those of later watchers (server stop).
    public func finish() {
        let watchers = state.withLockedValue { s in
            s.finished = true
            defer { s.watchers = [:] }
            return Array(s.watchers.values)
        }
        for watcher in watchers { watcher.finish() }
    }
}

/// Hands each batch to several publishers in turn (the events socket, then the in-process watchers).
public struct FanOutPublisher: EventPublisher {
    public let publishers: [any EventPublisher]

    public init(_ publishers: [any EventPublisher]) {
        self.publishers = publishers
    }

    public func publish(_ events: [StoredEvent]) async {
        for publisher in publishers { await publisher.publish(events) }
    }
}
