import AbmWire
import CampaignStore
import Foundation
import NIOConcurrencyHelpers

/// The shards this process owns, with the lease epoch each was acquired under (`acquireShards`).
///
/// Every write is stamped with its shard's epoch and the store refuses it (`store.fenced`) once another
/// process has taken the shard over. The runtime then forgets the shard here: its requests are refused
/// up front (`not_owner`), its timers dropped, and nothing of it is ever written or published again.
/// One process with SQLite owns all 256 shards; a cluster spreads them (same code, more owners).
final class ShardOwnership: Sendable {
    private let epochs = NIOLockedValueBox([Int64?](repeating: nil, count: shardCount))

    func acquired(_ leases: [Int: Int64]) {
        epochs.withLockedValue { e in
            for (shard, epoch) in leases where shard >= 0 && shard < shardCount { e[shard] = epoch }
        }
    }

    /// The epoch to stamp on a write of `shard`; nil when the shard is not (or no longer) owned.
    func epoch(_ shard: Int) -> Int64? {
        epochs.withLockedValue { $0[shard] }
    }

    func owns(_ shard: Int) -> Bool { epoch(shard) != nil }

    /// Forgets a shard that another owner took over. Returns true the first time.
    @discardableResult
    func lose(_ shard: Int) -> Bool {
        epochs.withLockedValue { e in
            guard e[shard] != nil else { return false }
            e[shard] = nil
            return true
        }
    }

    var ownedCount: Int { epochs.withLockedValue { $0.lazy.filter { $0 != nil }.count } }
}

extension Error {
    /// Whether this is the store's refusal of a write whose shard lease was taken over.
    var isFenced: Bool { (self as? StoreError)?.code == StoreError.fencedCode }
}
