import CampaignStore

/// Which node should own each shard, and what one node does about it this round. Pure: no I/O, no clock.
///
/// Rendezvous (highest-random-weight) hashing: a shard goes to the live node whose weight for it, a stable
/// hash of "nodeId#shard", is highest. Every node computes the same answer from the same live set, and a
/// join or a leave changes the winner of only the shards the joiner wins or the leaver held (≈ 1/n of them),
/// so nothing else moves. The hash is FNV-1a 64 finished by SplitMix64's mixer (FNV alone clusters on ids that
/// differ in their last byte), never Swift's per-process seeded `Hasher`.
///
/// A round's moves are bounded so that a join does not make every shard change hands at once: a node
/// releases at most `maxReleases` shards per round (26, 10 % of 256), the ones a live peer should own.
/// Free shards (released, or held by a node that left or died) are taken at once, however many: until some
/// node takes them their accounts are served by nobody.
public struct ShardPlacement: Sendable, Equatable {
    /// Who holds a shard now, as this round read it.
    public enum Holder: Sendable, Equatable {
        /// Never leased, released, or leased by a node that is no longer live.
        case free
        case node(String)
    }

    /// One node's moves for one round: release first, then acquire.
    public struct Moves: Sendable, Equatable {
        public var release: [Int]
        public var acquire: [Int]

        public init(release: [Int] = [], acquire: [Int] = []) {
            self.release = release
            self.acquire = acquire
        }

        public var isEmpty: Bool { release.isEmpty && acquire.isEmpty }
    }

    /// Releases per node and round at most: 10 % of the shards.
    public static let defaultMaxReleases = (shardCount + 9) / 10

    public let liveNodes: [String]
    public let shards: Int

    public init(liveNodes: some Sequence<String>, shards: Int = shardCount) {
        self.liveNodes = Set(liveNodes).sorted()
        self.shards = shards
    }

    /// The live node that should own `shard` (nil when no node is live).
    public func desiredOwner(of shard: Int) -> String? {
        var best: (weight: UInt64, node: String)? = nil
        // `liveNodes` is sorted: a tie (practically never) goes to the smaller id, so that every node agrees.
        for node in liveNodes {
            let w = Self.weight(node: node, shard: shard)
            if w > best?.weight ?? 0 || best == nil { best = (w, node) }
        }
        return best?.node
    }

    /// The desired owner of every shard.
    public func assignment() -> [String?] { (0..<shards).map(desiredOwner(of:)) }

    /// This round's moves for `node`, given each shard's holder (a shard absent from `holders` is free).
    /// Releases: shards `node` holds that another live node should own, the first `maxReleases` in shard
    /// order. Acquisitions: free shards `node` should own. A node that is not live itself gets no
    /// acquisitions and releases everything it holds (bounded likewise).
    public func moves(for node: String, holders: [Int: Holder], maxReleases: Int = defaultMaxReleases) -> Moves {
        var moves = Moves()
        for shard in 0..<shards {
            let desired = desiredOwner(of: shard)
            switch holders[shard] ?? .free {
            case .node(let holder) where holder == node:
                if desired != node, moves.release.count < maxReleases { moves.release.append(shard) }
            case .node:
                break
            case .free:
                if desired == node { moves.acquire.append(shard) }
            }
        }
        return moves
    }

    /// The stable weight of `node` for `shard`.
    static func weight(node: String, shard: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in node.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        h = (h ^ UInt64(UInt8(ascii: "#"))) &* 0x0000_0100_0000_01b3
        for b in String(shard).utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        // SplitMix64's finaliser.
        h = (h ^ (h >> 30)) &* 0xbf58_476d_1ce4_e5b9
        h = (h ^ (h >> 27)) &* 0x94d0_49bb_1331_11eb
        return h ^ (h >> 31)
    }
}
