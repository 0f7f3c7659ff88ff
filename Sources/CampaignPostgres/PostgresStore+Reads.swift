import CampaignStore
import Foundation
import NIOCore
import PostgresNIO

/// Everything but the batch commit and the leases: reads, the outbox, meta, retention and the store-wide part of
/// an erasure. The SQL says what SQLiteStore's says (Sources/CampaignStore/SQLiteStore.swift).
extension PostgresStore {
    // MARK: - Accounts

    public func loadState(accountId: String) async throws -> Data? {
        try await read { connection, logger in
            for try await state in try await connection.query(
                "SELECT state FROM accounts WHERE account_id = \(accountId)", logger: logger).decode(Data.self) {
                return state
            }
            return nil
        }
    }

    public func loadStates(accountIds: [String]) async throws -> [String: Data] {
        guard !accountIds.isEmpty else { try checkOpen(); return [:] }
        return try await read { connection, logger in
            var states: [String: Data] = [:]
            for try await (id, state) in try await connection.query(
                "SELECT account_id, state FROM accounts WHERE account_id = ANY(\(accountIds)::text[])", logger: logger)
                .decode((String, Data).self) {
                states[id] = state
            }
            return states
        }
    }

    public func loadAccount(accountId: String) async throws -> StoredAccount? {
        try await read { connection, logger in
            for try await (shard, state, version) in try await connection.query(
                "SELECT shard, state, version FROM accounts WHERE account_id = \(accountId)", logger: logger)
                .decode((Int, Data, Int64).self) {
                return StoredAccount(accountId: accountId, shard: shard, state: state, version: version)
            }
            return nil
        }
    }

    /// Kept as a counter in `meta` (moved by each batch that creates accounts), not a table scan.
    public func accountCount() async throws -> Int {
        Int(try await metaValue(PostgresSchema.metaAccountCount) ?? "0") ?? 0
    }

    public func accounts(after: String?, limit: Int) async throws -> [StoredAccount] {
        try await read { connection, logger in
            var accounts: [StoredAccount] = []
            for try await (id, shard, state, version) in try await connection.query("""
                SELECT account_id, shard, state, version FROM accounts WHERE account_id > \(after ?? "")
                ORDER BY account_id LIMIT \(max(0, limit))
                """, logger: logger).decode((String, Int, Data, Int64).self) {
                accounts.append(StoredAccount(accountId: id, shard: shard, state: state, version: version))
            }
            return accounts
        }
    }

    public func accounts(mentioning text: String, limit: Int) async throws -> [String] {
        guard !text.isEmpty else { try checkOpen(); return [] }
        let needle = ByteBuffer(string: text)
        return try await read { connection, logger in
            var ids: [String] = []
            for try await id in try await connection.query("""
                SELECT account_id FROM accounts WHERE position(\(needle)::bytea IN state) > 0
                UNION SELECT account_id FROM events WHERE position(\(needle)::bytea IN body) > 0
                ORDER BY 1 LIMIT \(max(0, limit))
                """, logger: logger).decode(String.self) {
                ids.append(id)
            }
            return ids
        }
    }

    // MARK: - Campaign index

    public func campaigns(_ query: CampaignQuery) async throws -> [CampaignIndexEntry] {
        if let ids = query.accountIds, ids.isEmpty { try checkOpen(); return [] }
        let prefix = query.accountPrefix.flatMap { $0.isEmpty ? nil : $0 }
        return try await read { connection, logger in
            var entries: [CampaignIndexEntry] = []
            for try await (id, campaign, status, started, since) in try await connection.query("""
                SELECT account_id, campaign_id, status, started_at, status_since FROM campaigns
                WHERE (\(query.status)::text IS NULL OR status = \(query.status))
                  AND (\(prefix)::text IS NULL OR starts_with(account_id, \(prefix)))
                  AND (\(query.after)::text IS NULL OR account_id > \(query.after))
                  AND (\(query.accountIds)::text[] IS NULL OR account_id = ANY(\(query.accountIds)::text[]))
                ORDER BY account_id LIMIT \(max(0, query.limit))
                """, logger: logger).decode((String, String, String, Int64, Int64).self) {
                entries.append(CampaignIndexEntry(accountId: id, campaignId: campaign, status: status,
                                                  startedAt: StoreTime.date(started), statusSince: StoreTime.date(since)))
            }
            return entries
        }
    }

    public func campaignCounts() async throws -> [String: Int] {
        try await read { connection, logger in
            var counts: [String: Int] = [:]
            for try await (status, count) in try await connection.query(
                "SELECT status, count(*) FROM campaigns GROUP BY status", logger: logger).decode((String, Int).self) {
                counts[status] = count
            }
            return counts
        }
    }

    // MARK: - Requests and suppression

    public func reply(for key: RequestKey) async throws -> Data? {
        try await replies(for: [key])[key]
    }

    public func replies(for keys: [RequestKey]) async throws -> [RequestKey: Data] {
        guard !keys.isEmpty else { try checkOpen(); return [:] }
        return try await read { connection, logger in
            var found: [RequestKey: Data] = [:]
            for try await (space, id, reply) in try await connection.query("""
                SELECT space, id, reply FROM requests
                WHERE (space, id) IN (SELECT * FROM unnest(\(keys.map(\.space.rawValue))::text[], \(keys.map(\.id))::text[]))
                """, logger: logger).decode((String, String, Data).self) {
                if let space = RequestSpace(rawValue: space) { found[RequestKey(space: space, id: id)] = reply }
            }
            return found
        }
    }

    public func isSuppressed(email: String) async throws -> Bool {
        try await read { connection, logger in
            for try await found in try await connection.query(
                "SELECT EXISTS(SELECT 1 FROM suppression WHERE email = \(email.lowercased()))", logger: logger).decode(Bool.self) {
                return found
            }
            return false
        }
    }

    public func suppressedEmails() async throws -> Set<String> {
        try await read { connection, logger in
            var emails = Set<String>()
            for try await email in try await connection.query("SELECT email FROM suppression", logger: logger).decode(String.self) {
                emails.insert(email)
            }
            return emails
        }
    }

    // MARK: - Timers

    public func dueTimers(upTo: Date, limit: Int) async throws -> [DueTimer] {
        try await timers(after: nil, upTo: upTo, limit: limit)
    }

    public func nextTimer() async throws -> DueTimer? {
        try await timers(after: nil, upTo: nil, limit: 1).first
    }

    public func timer(accountId: String) async throws -> Date? {
        try await read { connection, logger in
            for try await due in try await connection.query(
                "SELECT due_at FROM timers WHERE account_id = \(accountId)", logger: logger).decode(Int64.self) {
                return StoreTime.date(due)
            }
            return nil
        }
    }

    public func timers(after: DueTimer?, upTo: Date?, limit: Int) async throws -> [DueTimer] {
        try await timerPage(inShards: nil, after: after, upTo: upTo, limit: limit)
    }

    public func timers(inShards shards: [Int], after: DueTimer?, limit: Int) async throws -> [DueTimer] {
        try await timerPage(inShards: Set(shards).sorted(), after: after, upTo: nil, limit: limit)
    }

    /// Timers in (due_at, account_id) order after the keyset position, due by `upTo`, of `shards` (nil: all).
    private func timerPage(inShards shards: [Int]?, after: DueTimer?, upTo: Date?, limit: Int) async throws -> [DueTimer] {
        let bound = upTo.map(StoreTime.millis) ?? Int64.max
        // Without a keyset position, start below every stored time.
        let afterDue = after.map { StoreTime.millis($0.dueAt) } ?? Int64.min
        let afterId = after?.accountId ?? ""
        let strict = after != nil
        let allShards = shards == nil
        let wanted = shards ?? []
        return try await read { connection, logger in
            var timers: [DueTimer] = []
            // The row comparison keeps the (due_at, account_id) index usable for the keyset.
            for try await (id, due) in try await connection.query("""
                SELECT account_id, due_at FROM timers
                WHERE (NOT \(strict) OR (due_at, account_id) > (\(afterDue), \(afterId))) AND due_at <= \(bound)
                  AND (\(allShards) OR shard = ANY(\(wanted)::int8[]))
                ORDER BY due_at, account_id LIMIT \(max(0, limit))
                """, logger: logger).decode((String, Int64).self) {
                timers.append(DueTimer(accountId: id, dueAt: StoreTime.date(due)))
            }
            return timers
        }
    }

    // MARK: - Events and outbox

    public func events(afterSeq: Int64, limit: Int) async throws -> [StoredEvent] {
        try await read { connection, logger in
            try await Self.collectEvents(try await connection.query("""
                SELECT seq, type, account_id, campaign_id, at, body FROM events WHERE seq > \(afterSeq)
                ORDER BY seq LIMIT \(max(0, limit))
                """, logger: logger))
        }
    }

    public func events(accountId: String, afterSeq: Int64, limit: Int) async throws -> [StoredEvent] {
        try await read { connection, logger in
            try await Self.collectEvents(try await connection.query("""
                SELECT seq, type, account_id, campaign_id, at, body FROM events
                WHERE account_id = \(accountId) AND seq > \(afterSeq) ORDER BY seq LIMIT \(max(0, limit))
                """, logger: logger))
        }
    }

    private static func collectEvents(_ rows: PostgresRowSequence) async throws -> [StoredEvent] {
        var events: [StoredEvent] = []
        for try await (seq, type, account, campaign, at, body) in rows.decode((Int64, String, String, String?, Int64, Data).self) {
            events.append(StoredEvent(seq: seq, type: type, accountId: account, campaignId: campaign,
                                      at: StoreTime.date(at), body: body))
        }
        return events
    }

    /// The counter row: the highest seq handed out by a committed batch.
    public func lastSeq() async throws -> Int64 {
        try await read { connection, logger in
            for try await last in try await connection.query("SELECT last FROM event_seq WHERE id = 1", logger: logger)
                .decode(Int64.self) {
                return last
            }
            return 0
        }
    }

    public func publishedSeq() async throws -> Int64 {
        Int64(try await metaValue(PostgresSchema.metaPublishedSeq) ?? "0") ?? 0
    }

    /// One statement: the row only moves forward, whatever the interleaving of callers.
    public func markPublished(upTo seq: Int64) async throws {
        try await write { connection, logger in
            _ = try await connection.query("""
                INSERT INTO meta(key, value) VALUES (\(PostgresSchema.metaPublishedSeq), \(String(seq)))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE meta.value::bigint < excluded.value::bigint
                """, logger: logger)
        }
    }

    // MARK: - Meta

    public func meta(_ key: String) async throws -> String? {
        try StoreError.checkMetaKey(key)
        return try await metaValue(key)
    }

    public func setMeta(_ key: String, _ value: String) async throws {
        try StoreError.checkMetaKey(key)
        try await write { connection, logger in
            _ = try await connection.query("""
                INSERT INTO meta(key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """, logger: logger)
        }
    }

    private func metaValue(_ key: String) async throws -> String? {
        try await read { connection, logger in
            for try await value in try await connection.query("SELECT value FROM meta WHERE key = \(key)", logger: logger)
                .decode(String.self) {
                return value
            }
            return nil
        }
    }

    // MARK: - Erasure and retention

    public func finishErasure(email: String, emailSHA256: String, replacement: String) async throws -> Int {
        let needle = Data(email.utf8)
        let with = Data(replacement.utf8)
        return try await write { connection, logger in
            var rewritten: [(space: String, id: String, reply: Data)] = []
            for try await (space, id, reply) in try await connection.query("""
                SELECT space, id, reply FROM requests WHERE position(\(ByteBuffer(bytes: needle))::bytea IN reply) > 0
                ORDER BY space, id FOR UPDATE
                """, logger: logger).decode((String, String, Data).self) {
                rewritten.append((space, id, SQLiteStore.replacing(needle, with: with, in: reply)))
            }
            if !rewritten.isEmpty {
                try await connection.query("""
                    UPDATE requests r SET reply = u.reply
                    FROM unnest(\(rewritten.map(\.space))::text[], \(rewritten.map(\.id))::text[],
                                \(rewritten.map { ByteBuffer(bytes: $0.reply) })::bytea[]) AS u(space, id, reply)
                    WHERE r.space = u.space AND r.id = u.id
                    """, logger: logger)
            }
            try await BatchWriter.swapSuppression(email: email, emailSHA256: emailSHA256, connection, logger: logger)
            return rewritten.count
        }
    }

    public func pruneEvents(before: Date, limit: Int) async throws -> Int {
        let cutoff = StoreTime.millis(before)
        return try await write { connection, logger in
            // The oldest events in seq order; stop at the first one kept, so the log stays one range. Never
            // past the published seq, never the newest (numbering goes on from the counter anyway).
            var through: Int64 = 0
            var count = 0
            let rows = try await connection.query("""
                SELECT e.seq, e.at, COALESCE((SELECT value::bigint FROM meta WHERE key = \(PostgresSchema.metaPublishedSeq)), 0),
                       (SELECT last FROM event_seq WHERE id = 1)
                FROM events e ORDER BY e.seq LIMIT \(max(0, limit))
                """, logger: logger).decode((Int64, Int64, Int64, Int64).self)
            for (seq, at, published, last) in try await rows.all() {
                guard at < cutoff, seq <= published, seq < last else { break }
                through = seq
                count += 1
            }
            guard count > 0 else { return 0 }
            try await connection.query("DELETE FROM events WHERE seq <= \(through)", logger: logger)
            return count
        }
    }

    /// The oldest by decision time (`at`, then insertion order): concurrent batches insert their ids in key
    /// order, so insertion order alone is not decision order here.
    public func pruneRequests(before: Date, limit: Int) async throws -> Int {
        let cutoff = StoreTime.millis(before)
        return try await write { connection, logger in
            let rows = try await connection.query("""
                DELETE FROM requests WHERE (space, id) IN (
                  SELECT space, id FROM requests WHERE at < \(cutoff) ORDER BY at, ord LIMIT \(max(0, limit)))
                RETURNING 1
                """, logger: logger)
            return try await rows.all().count
        }
    }

    public func prunedSeq() async throws -> Int64 {
        try await read { connection, logger in
            // Seqs start at 1 and only the oldest are pruned: everything below the smallest kept is gone.
            for try await first in try await connection.query("SELECT min(seq) FROM events", logger: logger).decode(Int64?.self) {
                return first.map { $0 - 1 } ?? 0
            }
            return 0
        }
    }
}

extension AsyncSequence {
    /// Every element, read to the end (a bounded result: the query has a LIMIT).
    func all() async throws -> [Element] {
        var elements: [Element] = []
        for try await element in self { elements.append(element) }
        return elements
    }
}
