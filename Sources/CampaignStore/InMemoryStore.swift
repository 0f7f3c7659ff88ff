import Foundation

/// The in-memory twin of `SQLiteStore`: the same semantics (see `CampaignStorage`), nothing durable.
/// For tests and for running the runtime without a disk.
public actor InMemoryStore: CampaignStorage {
    private struct Account {
        var shard: Int
        var state: Data
        var version: Int64
    }

    private var accounts: [String: Account] = [:]
    /// accountId → due time in ms.
    private var timerByAccount: [String: Int64] = [:]
    private var log: [StoredEvent] = []
    private var replies: [RequestKey: Data] = [:]
    /// Request ids in decision order with their time (ms), for retention.
    private var requestLog: [(key: RequestKey, at: Int64)] = []
    /// The highest seq pruned by retention (the log holds prunedThrough+1 … lastSeq).
    private var prunedThrough: Int64 = 0
    private var suppressed: Set<String> = []
    private var metaValues: [String: String] = [:]
    private var published: Int64 = 0
    private var leases: [Int: ShardLease] = [:]
    private var index: [String: CampaignIndexEntry] = [:]
    private var closed = false

    public init() {}

    private func open() throws {
        if closed { throw StoreError.closed }
    }

    public func loadState(accountId: String) throws -> Data? {
        try open()
        return accounts[accountId]?.state
    }

    public func loadAccount(accountId: String) throws -> StoredAccount? {
        try open()
        return accounts[accountId].map {
            StoredAccount(accountId: accountId, shard: $0.shard, state: $0.state, version: $0.version)
        }
    }

    public func commit(_ writes: [AccountWrite]) throws -> [[StoredEvent]] {
        try open()
        // Check everything first, so a failing batch leaves nothing behind (all or nothing).
        var versions: [String: Int64] = [:]
        for write in writes {
            if let epoch = write.epoch, leases[write.shard]?.epoch != epoch {
                throw StoreError.fenced(shard: write.shard, epoch: epoch, current: leases[write.shard]?.epoch)
            }
            for event in write.events { try EventBody.validate(event.body, type: event.type) }
            // Versions as they will be when this write runs (earlier writes of the batch count).
            let current = versions[write.accountId] ?? accounts[write.accountId]?.version ?? 0
            if let expected = write.expectedVersion, expected != current {
                throw StoreError.versionConflict(accountId: write.accountId, expected: expected, actual: current)
            }
            if write.state != nil { versions[write.accountId] = current + 1 }
        }
        for write in writes {
            for r in write.erasure?.eventRewrites ?? [] { try EventBody.checkRewrite(r) }
        }
        var seq = log.last?.seq ?? prunedThrough
        var result: [[StoredEvent]] = []
        result.reserveCapacity(writes.count)
        for write in writes {
            var numbered: [StoredEvent] = []
            numbered.reserveCapacity(write.events.count)
            for event in write.events {
                seq += 1
                let stored = StoredEvent(seq: seq, type: event.type, accountId: event.accountId,
                                         campaignId: event.campaignId, at: StoreTime.normalized(event.at),
                                         body: try EventBody.numbered(seq: seq, body: event.body, type: event.type))
                numbered.append(stored)
            }
            log.append(contentsOf: numbered)
            result.append(numbered)
            if let state = write.state {
                let version = (accounts[write.accountId]?.version ?? 0) + 1
                accounts[write.accountId] = Account(shard: write.shard, state: state, version: version)
            }
            switch write.timer {
            case .unchanged: break
            case .set(let due): timerByAccount[write.accountId] = StoreTime.millis(due)
            case .clear: timerByAccount[write.accountId] = nil
            }
            if let request = write.request, replies[request.key] == nil {
                replies[request.key] = request.reply
                requestLog.append((request.key, write.requestAt.map(StoreTime.millis) ?? 0))
            }
            if let erasure = write.erasure {
                for r in erasure.eventRewrites {
                    let i = Int(r.seq - prunedThrough - 1)
                    if log.indices.contains(i), log[i].accountId == write.accountId { log[i].body = r.body }
                }
                suppressed.remove(erasure.email.lowercased())
                suppressed.insert(Suppression.hashed(erasure.emailSHA256))
            }
            for email in write.suppressions { suppressed.insert(email.lowercased()) }
            if var entry = write.index {
                entry.accountId = write.accountId
                entry.startedAt = StoreTime.normalized(entry.startedAt)
                entry.statusSince = StoreTime.normalized(entry.statusSince)
                index[write.accountId] = entry
            }
        }
        return result
    }

    public func campaigns(_ query: CampaignQuery) throws -> [CampaignIndexEntry] {
        try open()
        return Array(index.values.filter(query.matches).sorted { accountOrder($0.accountId, $1.accountId) }
            .prefix(max(0, query.limit)))
    }

    public func campaignCounts() throws -> [String: Int] {
        try open()
        var counts: [String: Int] = [:]
        for entry in index.values { counts[entry.status, default: 0] += 1 }
        return counts
    }

    public func accounts(after: String?, limit: Int) throws -> [StoredAccount] {
        try open()
        return accounts.lazy.filter { after == nil || accountOrder(after!, $0.key) }
            .sorted { accountOrder($0.key, $1.key) }.prefix(max(0, limit))
            .map { StoredAccount(accountId: $0.key, shard: $0.value.shard, state: $0.value.state, version: $0.value.version) }
    }

    public func events(accountId: String, afterSeq: Int64, limit: Int) throws -> [StoredEvent] {
        try open()
        return Array(log.lazy.filter { $0.accountId == accountId && $0.seq > afterSeq }.prefix(max(0, limit)))
    }

    public func reply(for key: RequestKey) throws -> Data? {
        try open()
        return replies[key]
    }

    public func replies(for keys: [RequestKey]) throws -> [RequestKey: Data] {
        try open()
        var found: [RequestKey: Data] = [:]
        for key in keys { if let r = replies[key] { found[key] = r } }
        return found
    }

    public func loadStates(accountIds: [String]) throws -> [String: Data] {
        try open()
        var states: [String: Data] = [:]
        for id in accountIds { if let a = accounts[id] { states[id] = a.state } }
        return states
    }

    private func sortedTimers() -> [(id: String, due: Int64)] {
        timerByAccount.map { (id: $0.key, due: $0.value) }
            .sorted { $0.due != $1.due ? $0.due < $1.due : $0.id < $1.id }
    }

    public func dueTimers(upTo: Date, limit: Int) throws -> [DueTimer] {
        try open()
        let bound = StoreTime.millis(upTo)
        return sortedTimers().lazy.filter { $0.due <= bound }.prefix(max(0, limit))
            .map { DueTimer(accountId: $0.id, dueAt: StoreTime.date($0.due)) }
    }

    public func nextTimer() throws -> DueTimer? {
        try open()
        return sortedTimers().first.map { DueTimer(accountId: $0.id, dueAt: StoreTime.date($0.due)) }
    }

    public func timer(accountId: String) throws -> Date? {
        try open()
        return timerByAccount[accountId].map(StoreTime.date)
    }

    public func timers(after: DueTimer?, upTo: Date?, limit: Int) throws -> [DueTimer] {
        try open()
        let bound = upTo.map(StoreTime.millis) ?? Int64.max
        return Self.page(sortedTimers().filter { $0.due <= bound }, after: after, limit: limit)
    }

    public func timers(inShards shards: [Int], after: DueTimer?, limit: Int) throws -> [DueTimer] {
        try open()
        let wanted = Set(shards)
        return Self.page(sortedTimers().filter { wanted.contains(accountShard($0.id)) }, after: after, limit: limit)
    }

    /// The timers of `all` (sorted) strictly after the keyset position `after`, at most `limit`.
    private static func page(_ all: [(id: String, due: Int64)], after: DueTimer?, limit: Int) -> [DueTimer] {
        let tail: ArraySlice<(id: String, due: Int64)>
        if let after {
            let due = StoreTime.millis(after.dueAt)
            tail = all.drop { $0.due < due || ($0.due == due && $0.id <= after.accountId) }
        } else {
            tail = all[...]
        }
        return tail.prefix(max(0, limit)).map { DueTimer(accountId: $0.id, dueAt: StoreTime.date($0.due)) }
    }

    public func events(afterSeq: Int64, limit: Int) throws -> [StoredEvent] {
        try open()
        // Seqs are prunedThrough+1 … at indices 0….
        let start = Int(max(0, min(afterSeq - prunedThrough, Int64(log.count))))
        return Array(log[start...].prefix(max(0, limit)))
    }

    public func lastSeq() throws -> Int64 {
        try open()
        return log.last?.seq ?? 0
    }

    public func publishedSeq() throws -> Int64 {
        try open()
        return published
    }

    public func markPublished(upTo seq: Int64) throws {
        try open()
        published = max(published, seq)
    }

    public func isSuppressed(email: String) throws -> Bool {
        try open()
        return suppressed.contains(email.lowercased())
    }

    public func suppressedEmails() throws -> Set<String> {
        try open()
        return suppressed
    }

    public func meta(_ key: String) throws -> String? {
        try StoreError.checkMetaKey(key)
        try open()
        return metaValues[key]
    }

    public func setMeta(_ key: String, _ value: String) throws {
        try StoreError.checkMetaKey(key)
        try open()
        metaValues[key] = value
    }

    public func acquireShards(_ shards: [Int], owner: String) throws -> [Int: Int64] {
        try open()
        var epochs: [Int: Int64] = [:]
        for shard in Set(shards) {
            let epoch = (leases[shard]?.epoch ?? 0) + 1
            leases[shard] = ShardLease(owner: owner, epoch: epoch)
            epochs[shard] = epoch
        }
        return epochs
    }

    public func acquireFreeShards(_ shards: [Int], owner: String) throws -> [Int: Int64] {
        try open()
        var epochs: [Int: Int64] = [:]
        for shard in Set(shards) where leases[shard]?.isFree ?? true {
            let epoch = (leases[shard]?.epoch ?? 0) + 1
            leases[shard] = ShardLease(owner: owner, epoch: epoch)
            epochs[shard] = epoch
        }
        return epochs
    }

    public func releaseShards(_ released: [Int: Int64], owner: String) throws -> [Int] {
        try open()
        var done: [Int] = []
        for (shard, epoch) in released.sorted(by: { $0.key < $1.key })
        where owner != ShardLease.free && leases[shard] == ShardLease(owner: owner, epoch: epoch) {
            leases[shard] = ShardLease(owner: ShardLease.free, epoch: epoch + 1)
            done.append(shard)
        }
        return done
    }

    public func shardLeases() throws -> [Int: ShardLease] {
        try open()
        return leases
    }

    public func accountCount() throws -> Int {
        try open()
        return accounts.count
    }

    public func accounts(mentioning text: String, limit: Int) throws -> [String] {
        try open()
        let needle = Data(text.utf8)
        guard !needle.isEmpty else { return [] }
        var found = Set(accounts.filter { $0.value.state.firstRange(of: needle) != nil }.keys)
        for e in log where e.body.firstRange(of: needle) != nil { found.insert(e.accountId) }
        return Array(found.sorted { accountOrder($0, $1) }.prefix(max(0, limit)))
    }

    public func finishErasure(email: String, emailSHA256: String, replacement: String) throws -> Int {
        try open()
        let needle = Data(email.utf8)
        var rewritten = 0
        for (key, reply) in replies where reply.firstRange(of: needle) != nil {
            replies[key] = SQLiteStore.replacing(needle, with: Data(replacement.utf8), in: reply)
            rewritten += 1
        }
        suppressed.remove(email.lowercased())
        suppressed.insert(Suppression.hashed(emailSHA256))
        return rewritten
    }

    public func pruneEvents(before: Date, limit: Int) throws -> Int {
        try open()
        let cutoff = StoreTime.millis(before)
        var count = 0
        while count < limit, count < log.count - 1, StoreTime.millis(log[count].at) < cutoff, log[count].seq <= published {
            count += 1
        }
        if count > 0 {
            prunedThrough = log[count - 1].seq
            log.removeFirst(count)
        }
        return count
    }

    public func pruneRequests(before: Date, limit: Int) throws -> Int {
        try open()
        let cutoff = StoreTime.millis(before)
        var count = 0
        while count < limit, count < requestLog.count, requestLog[count].at < cutoff { count += 1 }
        for r in requestLog[..<count] { replies[r.key] = nil }
        requestLog.removeFirst(count)
        return count
    }

    public func prunedSeq() throws -> Int64 {
        try open()
        return prunedThrough
    }

    public func close() {
        closed = true
    }
}
