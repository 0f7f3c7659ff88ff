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
///
/// A shard being released (`CampaignRuntime.release(shards:)`) is `draining`: no longer owned for new work
/// (requests get `not_owner`, timers do not fire), while the turns already running still write under its epoch.
final class ShardOwnership: Sendable {
    private enum Holding: Equatable {
        case owned(Int64)
        case draining(Int64)
    }

    private let holdings = NIOLockedValueBox([Holding?](repeating: nil, count: shardCount))

    func acquired(_ leases: [Int: Int64]) {
        holdings.withLockedValue { h in
            for (shard, epoch) in leases where shard >= 0 && shard < shardCount { h[shard] = .owned(epoch) }
        }
    }

    /// The epoch to stamp on a write of `shard`; nil when the shard is not (or no longer) held.
    func epoch(_ shard: Int) -> Int64? {
        switch holdings.withLockedValue({ $0[shard] }) {
        case .owned(let epoch)?, .draining(let epoch)?: return epoch
        case nil: return nil
        }
    }

    /// Whether new work of `shard` is taken here.
    func owns(_ shard: Int) -> Bool {
        if case .owned? = holdings.withLockedValue({ $0[shard] }) { return true }
        return false
    }

    /// The owned shards of `shards` stop taking new work; returns them with their epochs (a shard already
    /// draining, from a release that could not finish, is returned again).
    func beginRelease(_ shards: [Int]) -> [Int: Int64] {
        holdings.withLockedValue { h in
            var leases: [Int: Int64] = [:]
            for shard in Set(shards) where shard >= 0 && shard < shardCount {
                switch h[shard] {
                case .owned(let epoch)?, .draining(let epoch)?:
                    h[shard] = .draining(epoch)
                    leases[shard] = epoch
                case nil:
                    break
                }
            }
            return leases
        }
    }

    /// The shards owned or draining.
    var held: [Int] { holdings.withLockedValue { h in h.indices.filter { h[$0] != nil } } }

    /// The shards taking new work.
    var owned: [Int] { holdings.withLockedValue { h in h.indices.filter { if case .owned? = h[$0] { true } else { false } } } }

    /// The shards being released.
    var draining: [Int] { holdings.withLockedValue { h in h.indices.filter { if case .draining? = h[$0] { true } else { false } } } }

    /// Forgets a shard that another owner took over (or that was released). Returns true the first time.
    @discardableResult
    func lose(_ shard: Int) -> Bool {
        holdings.withLockedValue { h in
            guard h[shard] != nil else { return false }
            h[shard] = nil
            return true
        }
    }

    /// Shards taking new work.
    var ownedCount: Int { owned.count }
}

extension Error {
    /// Whether this is the store's refusal of a write whose shard lease was taken over.
    var isFenced: Bool { (self as? StoreError)?.code == StoreError.fencedCode }
}
