import AbmWire
import NIOConcurrencyHelpers

/// Requests in flight per peer (ROUTER routing id) of one socket, each bounded by `limit`, so that one
/// client cannot take the whole server-wide window (`GatewayServer.maxInFlight`) and push every other
/// client's requests behind its own. A request over its peer's limit is refused with `rate_limited`.
final class PeerWindows: Sendable {
    let limit: Int
    private let counts = NIOLockedValueBox<[[UInt8]: Int]>([:])

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Takes a slot for `peer`; false when it already has `limit` requests in flight.
    func acquire(_ peer: [UInt8]) -> Bool {
        counts.withLockedValue { c in
            let n = c[peer, default: 0]
            guard n < limit else { return false }
            c[peer] = n + 1
            return true
        }
    }

    func release(_ peer: [UInt8]) {
        counts.withLockedValue { c in
            guard let n = c[peer] else { return }
            if n > 1 { c[peer] = n - 1; return }
            c[peer] = nil
            // A dictionary keeps its capacity when emptied: after a burst from many peers give it back.
            if c.isEmpty { c = [:] }
        }
    }

    /// Requests in flight for `peer`.
    func inFlight(_ peer: [UInt8]) -> Int { counts.withLockedValue { $0[peer, default: 0] } }
}
