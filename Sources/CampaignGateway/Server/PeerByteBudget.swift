import AbmWire
import Dispatch
import NIOConcurrencyHelpers

/// Request bytes per second per peer (ROUTER routing id) of one socket: a token bucket per peer that
/// holds up to one second's worth (`bytesPerSecond`, at least one largest message) and refills with time.
/// A request that finds its peer's bucket short is refused with `rate_limited`; beside `PeerWindows`
/// (requests in flight) it bounds what one connection costs in decoding and store work, so that a flood
/// of large requests from one client cannot slow the others.
///
/// Time comes from `now` (monotonic nanoseconds), injected so that tests drive it by hand.
final class PeerByteBudget: Sendable {
    let bytesPerSecond: Int
    private let capacity: Double
    private let now: @Sendable () -> UInt64
    private struct Bucket {
        var tokens: Double
        var at: UInt64
    }
    private let buckets = NIOLockedValueBox<[[UInt8]: Bucket]>([:])
    /// Past this many peers, buckets refilled to the full (idle a second or more) are dropped.
    static let sweepThreshold = 1024

    init(bytesPerSecond: Int, largestMessage: Int = WireLimits.maxMessageBytes,
         now: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }) {
        self.bytesPerSecond = max(1, bytesPerSecond)
        capacity = Double(max(self.bytesPerSecond, largestMessage))
        self.now = now
    }

    /// Spends `bytes` of `peer`'s budget; false (nothing spent) when the bucket holds fewer.
    func spend(_ peer: [UInt8], _ bytes: Int) -> Bool {
        let t = now()
        let rate = Double(bytesPerSecond)
        let capacity = self.capacity
        return buckets.withLockedValue { b in
            var bucket = b[peer] ?? Bucket(tokens: capacity, at: t)
            if t > bucket.at {
                bucket.tokens = min(capacity, bucket.tokens + Double(t - bucket.at) * rate / 1e9)
                bucket.at = t
            }
            let granted = bucket.tokens >= Double(bytes)
            if granted { bucket.tokens -= Double(bytes) }
            b[peer] = bucket
            if b.count > Self.sweepThreshold {
                b = b.filter { $0.value.tokens + Double(t &- $0.value.at) * rate / 1e9 < capacity }
            }
            return granted
        }
    }

    /// Peers with a bucket (tests).
    var peerCount: Int { buckets.withLockedValue { $0.count } }
}
