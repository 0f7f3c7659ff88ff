import CampaignStore
import Foundation

/// One `commit`'s writes worked out before any statement runs (decide, then act): checked, then collapsed into
/// one bulk statement per table, so that a batch of a hundred writes costs about ten round trips, not five
/// hundred. Collapsing keeps the store's in-order semantics (`CampaignStorage`): the last state, timer and index
/// row of an account win, the first reply of a request key wins, versions count every state write.
///
/// Rows are sorted by key so that concurrent batches lock rows in one order (no deadlocks between writers).
struct BatchPlan {
    struct StateRow {
        var accountId: String
        var shard: Int
        var state: Data
        /// How many writes of the batch stored a state for this account (the version grows by this much).
        var writes: Int64
    }

    struct TimerRow {
        var accountId: String
        var shard: Int
        var dueAt: Int64
    }

    struct RequestRow {
        var space: String
        var id: String
        var shard: Int
        var reply: Data
        var at: Int64
    }

    struct IndexRow {
        var accountId: String
        var shard: Int
        var entry: CampaignIndexEntry
    }

    struct EventRow {
        var type: String
        var accountId: String
        var campaignId: String?
        var at: Int64
        var shard: Int
        var epoch: Int64?
        /// The stored body minus its `{"seq":N` head (`EventBody.numbered` without the number).
        var tail: Data
    }

    /// Suppression entries and erasures, in batch order (an erasure swaps an entry a earlier write may add).
    enum SuppressionStep {
        case add([String])
        case erase(ErasureWrite, accountId: String)
    }

    /// Distinct (shard, epoch) pairs this batch was decided under: each must still be its shard's lease epoch.
    var fence: [(shard: Int, epoch: Int64)] = []
    /// Accounts with a compare-and-set, sorted; their stored versions are read (locked) before the check.
    var casAccounts: [String] = []
    var states: [StateRow] = []
    var timerSets: [TimerRow] = []
    var timerClears: [String] = []
    var requests: [RequestRow] = []
    var suppressionSteps: [SuppressionStep] = []
    var index: [IndexRow] = []
    /// Every event of the batch in order; the store numbers them from the counter, last.
    var events: [EventRow] = []
    /// How many events each write has, in order (to hand the numbered events back per write).
    var eventCounts: [Int] = []
    /// Every address the batch sends a touch to, distinct and sorted (`AccountWrite.touches`).
    var touches: [String] = []
    private let writes: [AccountWrite]

    /// - Parameter epochOf: the epoch this store instance acquired a shard under (nil: none); the fence uses
    ///   it for a write that carries no epoch of its own.
    /// - Throws: `store.event_body_not_object` for a bad event body or erasure rewrite.
    init(_ writes: [AccountWrite], epochOf: (Int) -> Int64?) throws {
        self.writes = writes
        touches = Set(writes.flatMap(\.touches)).sorted()
        var fenced: [Int: Set<Int64>] = [:]
        var cas = Set<String>()
        var states: [String: StateRow] = [:]
        var timers: [String: (shard: Int, change: TimerChange)] = [:]
        var requestKeys = Set<RequestKey>()
        var index: [String: IndexRow] = [:]
        var pendingSuppressions: [String] = []
        let head = Data("{\"seq\":0".utf8).count
        for write in writes {
            if let epoch = write.epoch ?? epochOf(write.shard) { fenced[write.shard, default: []].insert(epoch) }
            if write.expectedVersion != nil { cas.insert(write.accountId) }
            eventCounts.append(write.events.count)
            for event in write.events {
                let numbered = try EventBody.numbered(seq: 0, body: event.body, type: event.type)
                events.append(EventRow(type: event.type, accountId: event.accountId, campaignId: event.campaignId,
                                       at: StoreTime.millis(event.at),
                                       shard: event.accountId == write.accountId ? write.shard : accountShard(event.accountId),
                                       epoch: write.epoch, tail: numbered.dropFirst(head)))
            }
            if let state = write.state {
                states[write.accountId] = StateRow(accountId: write.accountId, shard: write.shard, state: state,
                                                   writes: (states[write.accountId]?.writes ?? 0) + 1)
            }
            if write.timer != .unchanged { timers[write.accountId] = (write.shard, write.timer) }
            if let request = write.request, requestKeys.insert(request.key).inserted {
                requests.append(RequestRow(space: request.key.space.rawValue, id: request.key.id, shard: write.shard,
                                           reply: request.reply, at: write.requestAt.map(StoreTime.millis) ?? 0))
            }
            pendingSuppressions += write.suppressions.map { $0.lowercased() }
            if let erasure = write.erasure {
                for rewrite in erasure.eventRewrites { try EventBody.checkRewrite(rewrite) }
                if !pendingSuppressions.isEmpty { suppressionSteps.append(.add(pendingSuppressions)) }
                pendingSuppressions = []
                suppressionSteps.append(.erase(erasure, accountId: write.accountId))
            }
            if let entry = write.index { index[write.accountId] = IndexRow(accountId: write.accountId, shard: write.shard, entry: entry) }
        }
        if !pendingSuppressions.isEmpty { suppressionSteps.append(.add(pendingSuppressions)) }
        fence = fenced.flatMap { shard, epochs in epochs.map { (shard: shard, epoch: $0) } }
            .sorted { ($0.shard, $0.epoch) < ($1.shard, $1.epoch) }
        casAccounts = cas.sorted(by: accountOrder)
        self.states = states.values.sorted { accountOrder($0.accountId, $1.accountId) }
        for (accountId, timer) in timers.sorted(by: { accountOrder($0.key, $1.key) }) {
            switch timer.change {
            case .set(let due): timerSets.append(TimerRow(accountId: accountId, shard: timer.shard, dueAt: StoreTime.millis(due)))
            case .clear: timerClears.append(accountId)
            case .unchanged: break
            }
        }
        requests.sort { ($0.space, $0.id) < ($1.space, $1.id) }
        self.index = index.values.sorted { accountOrder($0.accountId, $1.accountId) }
    }

    /// Runs the batch's compare-and-sets in order against the versions stored before it (absent: 0), the
    /// batch's own earlier state writes counting. Returns the version each CAS account must have after the
    /// batch's state upsert (checked against what the upsert returns, which catches a concurrent creator).
    /// - Throws: `store.version_conflict` at the first mismatch.
    func checkVersions(stored: [String: Int64]) throws -> [String: Int64] {
        let checked = Set(casAccounts)
        var versions: [String: Int64] = [:]
        for write in writes where checked.contains(write.accountId) {
            let current = versions[write.accountId] ?? stored[write.accountId] ?? 0
            if let expected = write.expectedVersion, expected != current {
                throw StoreError.versionConflict(accountId: write.accountId, expected: expected, actual: current)
            }
            versions[write.accountId] = current + (write.state != nil ? 1 : 0)
        }
        return versions
    }

    /// The batch's events numbered from `firstSeq`, handed back per write in order.
    func numbered(firstSeq: Int64) -> [[StoredEvent]] {
        var result: [[StoredEvent]] = []
        result.reserveCapacity(eventCounts.count)
        var next = 0
        for count in eventCounts {
            result.append(events[next..<(next + count)].enumerated().map { offset, e in
                let seq = firstSeq + Int64(next + offset)
                return StoredEvent(seq: seq, type: e.type, accountId: e.accountId, campaignId: e.campaignId,
                                   at: StoreTime.date(e.at), body: Self.body(seq: seq, tail: e.tail))
            })
            next += count
        }
        return result
    }

    /// The stored body: the head with the number, then the tail (the bytes `EventBody.numbered` makes).
    static func body(seq: Int64, tail: Data) -> Data {
        var body = Data("{\"seq\":\(seq)".utf8)
        body.append(tail)
        return body
    }
}
