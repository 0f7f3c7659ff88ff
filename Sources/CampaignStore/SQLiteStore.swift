import Foundation
import GRDB
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#endif

/// The embedded default engine: one SQLite file through GRDB's `DatabasePool` (WAL, one writer,
/// concurrent readers). See `CampaignStorage` for the semantics shared with the other engines.
///
/// Durability: `synchronous = FULL` on the writer (GRDB's WAL setup would leave NORMAL), so a commit that
/// returned survives kill -9 and power loss. Every async call runs on GRDB's own dispatch queues, never
/// blocking Swift's cooperative threads for the length of an fsync.
public final class SQLiteStore: CampaignStorage {
    /// How the file is opened.
    public struct Options: Sendable {
        /// `full` (default): durable across OS crashes and power loss. `normal`: durable across process
        /// crashes only, a faster opt-in.
        public enum Synchronous: String, Sendable {
            case full = "FULL"
            case normal = "NORMAL"
        }

        public var synchronous: Synchronous
        /// How long a connection waits for a lock held by another connection (seconds).
        public var busyTimeout: TimeInterval
        /// Concurrent reader connections.
        public var maximumReaderCount: Int

        public init(synchronous: Synchronous = .full, busyTimeout: TimeInterval = 5, maximumReaderCount: Int = 4) {
            self.synchronous = synchronous
            self.busyTimeout = busyTimeout
            self.maximumReaderCount = maximumReaderCount
        }
    }

    /// The database file.
    public let path: String
    private let pool: DatabasePool
    private let checkpointer: WALCheckpointer
    private let closed = NIOLockedValueBox(false)

    /// Opens (creating if needed) the store at `path` and applies pending schema migrations.
    /// Blocks the calling thread while opening (milliseconds).
    /// - Throws: `store.open` when the file cannot be opened or migrated, `store.schema_too_new` when the
    ///   file was written by a newer build.
    public init(path: String, options: Options = Options()) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(options.busyTimeout)
        config.maximumReaderCount = max(1, options.maximumReaderCount)
        config.label = "abm.store"
        try Self.restrictPermissions(path)
        do {
            pool = try DatabasePool(path: path, configuration: config)
            // After the pool's WAL setup, which sets NORMAL on the writer connection.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(options.synchronous.rawValue)")
            }
            let migrator = SQLiteSchema.migrator
            let superseded = try pool.read { db in try migrator.hasBeenSuperseded(db) }
            if superseded {
                try? pool.close()
                throw StoreError(code: "store.schema_too_new",
                                 message: "'\(path)' has schema migrations this build does not know")
            }
            try migrator.migrate(pool)
            checkpointer = try WALCheckpointer(path: path)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: "store.open", message: "cannot open '\(path)': \(error)", underlying: Self.sendable(error))
        }
    }

    /// Personal data lives in these files: owner-only (0600). A new database file is created empty with
    /// that mode (SQLite takes an empty file as a new database) because SQLite creates files 0644, and it
    /// gives its `-wal` and `-shm` files the database file's mode; files that already exist are tightened.
    static func restrictPermissions(_ path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StoreError(code: "store.open", message: "cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { _ = Glibc.close(fd) }
        guard fchmod(fd, 0o600) == 0 else {
            throw StoreError(code: "store.open", message: "cannot make '\(path)' 0600: \(String(cString: strerror(errno)))")
        }
        for side in [path + "-wal", path + "-shm"] where chmod(side, 0o600) != 0 && errno != ENOENT {
            throw StoreError(code: "store.open", message: "cannot make '\(side)' 0600: \(String(cString: strerror(errno)))")
        }
    }

    // MARK: - Access helpers

    /// Runs `body` in one write transaction. Deliberately not cancellable: the transaction runs in an
    /// unstructured task, so cancelling the caller can never leave it unsure whether its batch committed.
    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try checkOpen()
        let pool = self.pool
        do {
            return try await Task { try await pool.write(body) }.value
        } catch {
            throw Self.storeError(error)
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try checkOpen()
        do {
            return try await pool.read(body)
        } catch {
            throw Self.storeError(error)
        }
    }

    private func checkOpen() throws {
        if closed.withLockedValue({ $0 }) { throw StoreError.closed }
    }

    private static func storeError(_ error: any Error) -> StoreError {
        switch error {
        case let error as StoreError: return error
        case is CancellationError:
            return StoreError(code: "store.cancelled", message: "the read was cancelled")
        default:
            return StoreError(code: "store.sqlite", message: "\(error)", underlying: sendable(error))
        }
    }

    /// `Error` is `Sendable` in Swift 6; kept as a function so the intent reads at the call sites.
    private static func sendable(_ error: any Error) -> (any Error & Sendable)? {
        error
    }

    // MARK: - Commit

    public func commit(_ writes: [AccountWrite]) async throws -> [[StoredEvent]] {
        if writes.isEmpty { try checkOpen(); return [] }
        let stored = try await write { db in try Self.apply(writes, db) }
        checkpointer.committed()
        return stored
    }

    /// Runs inside the write transaction; a throw rolls the whole batch back.
    private static func apply(_ writes: [AccountWrite], _ db: Database) throws -> [[StoredEvent]] {
        var seq = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM events")) ?? 0
        let insertEvent = try db.cachedStatement(sql: """
            INSERT INTO events(seq, type, account_id, campaign_id, at, shard, epoch, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        // Insert, else update; not one upsert `RETURNING version`: SQLite collects RETURNING rows in an
        // ephemeral table, whose b-tree and page cache (~150 KB of allocations) it sets up per statement.
        let insertState = try db.cachedStatement(sql: """
            INSERT INTO accounts(account_id, shard, state, version) VALUES (?, ?, ?, 1) ON CONFLICT(account_id) DO NOTHING
            """)
        let updateState = try db.cachedStatement(sql: """
            UPDATE accounts SET shard = ?, state = ?, version = version + 1 WHERE account_id = ?
            """)
        let selectVersion = try db.cachedStatement(sql: "SELECT version FROM accounts WHERE account_id = ?")
        let setTimer = try db.cachedStatement(sql: """
            INSERT INTO timers(account_id, shard, due_at) VALUES (?, ?, ?)
            ON CONFLICT(account_id) DO UPDATE SET shard = excluded.shard, due_at = excluded.due_at
            """)
        let clearTimer = try db.cachedStatement(sql: "DELETE FROM timers WHERE account_id = ?")
        let insertRequest = try db.cachedStatement(sql: """
            INSERT INTO requests(space, id, shard, reply, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(space, id) DO NOTHING
            """)
        let insertSuppression = try db.cachedStatement(sql: """
            INSERT INTO suppression(email) VALUES (?) ON CONFLICT(email) DO NOTHING
            """)
        let upsertIndex = try db.cachedStatement(sql: """
            INSERT INTO campaigns(account_id, shard, campaign_id, status, started_at, status_since) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(account_id) DO UPDATE SET shard = excluded.shard, campaign_id = excluded.campaign_id,
              status = excluded.status, started_at = excluded.started_at, status_since = excluded.status_since
            """)

        var newAccounts: Int64 = 0
        var result: [[StoredEvent]] = []
        result.reserveCapacity(writes.count)
        // Fencing: each shard's lease is read once per batch, inside the transaction (SQLite has one writer,
        // so it cannot change before the commit).
        var leaseChecked: [Int: Int64] = [:]
        let selectLease = try db.cachedStatement(sql: "SELECT epoch FROM shard_leases WHERE shard = ?")
        for write in writes {
            guard let epoch = write.epoch else { continue }
            let current: Int64?
            if let known = leaseChecked[write.shard] {
                current = known
            } else {
                selectLease.setUncheckedArguments([write.shard])
                current = try Int64.fetchOne(selectLease)
                if let current { leaseChecked[write.shard] = current }
            }
            if current != epoch { throw StoreError.fenced(shard: write.shard, epoch: epoch, current: current) }
        }
        let insertEventRaw = RawStatement(insertEvent), insertStateRaw = RawStatement(insertState)
        let updateStateRaw = RawStatement(updateState)
        let setTimerRaw = RawStatement(setTimer), insertRequestRaw = RawStatement(insertRequest)
        // By index, not `for write in writes`: a copy of each write retains all of its parts.
        for w in writes.indices {
            if let expected = writes[w].expectedVersion {
                selectVersion.setUncheckedArguments([writes[w].accountId])
                let actual = try Int64.fetchOne(selectVersion) ?? 0
                if actual != expected {
                    throw StoreError.versionConflict(accountId: writes[w].accountId, expected: expected, actual: actual)
                }
            }
            let accountId = writes[w].accountId
            let shard = writes[w].shard
            var numbered: [StoredEvent] = []
            numbered.reserveCapacity(writes[w].events.count)
            for e in writes[w].events.indices {
                let event = writes[w].events[e]
                seq += 1
                let body = try EventBody.numbered(seq: seq, body: event.body, type: event.type)
                let at = StoreTime.millis(event.at)
                let eventShard = event.accountId == accountId ? shard : accountShard(event.accountId)
                try insertEventRaw.execute(.int(seq), .text(event.type), .text(event.accountId), .text(event.campaignId),
                                           .int(at), .int(eventShard), .int(writes[w].epoch), .blob(body))
                numbered.append(StoredEvent(seq: seq, type: event.type, accountId: event.accountId,
                                            campaignId: event.campaignId, at: StoreTime.date(at), body: body))
            }
            result.append(numbered)
            if let state = writes[w].state {
                if try insertStateRaw.changes(.text(accountId), .int(shard), .blob(state)) == 1 {
                    newAccounts += 1
                } else {
                    try updateStateRaw.execute(.int(shard), .blob(state), .text(accountId))
                }
            }
            switch writes[w].timer {
            case .unchanged:
                break
            case .set(let due):
                try setTimerRaw.execute(.text(accountId), .int(shard), .int(StoreTime.millis(due)))
            case .clear:
                clearTimer.setUncheckedArguments([accountId])
                try clearTimer.execute()
            }
            if let request = writes[w].request {
                try insertRequestRaw.execute(.text(request.key.space.rawValue), .text(request.key.id), .int(shard),
                                             .blob(request.reply), .int(writes[w].requestAt.map(StoreTime.millis) ?? 0))
            }
            for email in writes[w].suppressions {
                insertSuppression.setUncheckedArguments([email.lowercased()])
                try insertSuppression.execute()
            }
            if let erasure = writes[w].erasure {
                try Self.applyErasure(erasure, accountId: accountId, db)
            }
            if let entry = writes[w].index {
                try RawStatement(upsertIndex).execute(.text(accountId), .int(shard), .text(entry.campaignId),
                                                      .text(entry.status), .int(StoreTime.millis(entry.startedAt)),
                                                      .int(StoreTime.millis(entry.statusSince)))
            }
        }
        if newAccounts > 0 {
            try db.cachedStatement(sql: """
                INSERT INTO meta(key, value) VALUES (?, ?)
                ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER) AS TEXT)
                """).execute(arguments: [SQLiteSchema.metaAccountCount, String(newAccounts)])
        }
        return result
    }

    /// An account's erasure: its events rewritten in place, the plain suppression entry swapped for the hash.
    private static func applyErasure(_ erasure: ErasureWrite, accountId: String, _ db: Database) throws {
        let rewrite = try db.cachedStatement(sql: "UPDATE events SET body = ? WHERE seq = ? AND account_id = ?")
        for r in erasure.eventRewrites {
            try EventBody.checkRewrite(r)
            rewrite.setUncheckedArguments([r.body, r.seq, accountId])
            try rewrite.execute()
        }
        try swapSuppression(email: erasure.email, emailSHA256: erasure.emailSHA256, db)
    }

    private static func swapSuppression(email: String, emailSHA256: String, _ db: Database) throws {
        try db.cachedStatement(sql: "DELETE FROM suppression WHERE email = ?").execute(arguments: [email.lowercased()])
        try db.cachedStatement(sql: "INSERT INTO suppression(email) VALUES (?) ON CONFLICT(email) DO NOTHING")
            .execute(arguments: [Suppression.hashed(emailSHA256)])
    }

    // MARK: - Erasure and retention

    public func accounts(mentioning text: String, limit: Int) async throws -> [String] {
        let needle = Data(text.utf8)
        guard !needle.isEmpty else { try checkOpen(); return [] }
        return try await read { db in
            try String.fetchAll(db, sql: """
                SELECT account_id FROM accounts WHERE instr(state, ?) > 0
                UNION SELECT account_id FROM events WHERE instr(body, ?) > 0
                ORDER BY 1 LIMIT ?
                """, arguments: [needle, needle, max(0, limit)])
        }
    }

    public func finishErasure(email: String, emailSHA256: String, replacement: String) async throws -> Int {
        let needle = Data(email.utf8)
        let with = Data(replacement.utf8)
        return try await write { db in
            var rewritten = 0
            let rows = try Row.fetchAll(db, sql: "SELECT rowid, reply FROM requests WHERE instr(reply, ?) > 0",
                                        arguments: [needle])
            let update = try db.cachedStatement(sql: "UPDATE requests SET reply = ? WHERE rowid = ?")
            for row in rows {
                let reply: Data = row[1]
                update.setUncheckedArguments([Self.replacing(needle, with: with, in: reply), row[0] as Int64])
                try update.execute()
                rewritten += 1
            }
            try Self.swapSuppression(email: email, emailSHA256: emailSHA256, db)
            return rewritten
        }
    }

    package static func replacing(_ needle: Data, with replacement: Data, in data: Data) -> Data {
        var out = Data()
        var rest = data[...]
        while let r = rest.firstRange(of: needle) {
            out.append(contentsOf: rest[..<r.lowerBound])
            out.append(replacement)
            rest = rest[r.upperBound...]
        }
        out.append(contentsOf: rest)
        return out
    }

    public func pruneEvents(before: Date, limit: Int) async throws -> Int {
        let cutoff = StoreTime.millis(before)
        return try await write { db in
            let published = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?",
                                                arguments: [SQLiteSchema.metaPublishedSeq]).flatMap { Int64($0) } ?? 0
            let last = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM events") ?? 0
            // The oldest events in seq order; stop at the first one kept, so the log stays one range.
            var through: Int64 = 0
            var count = 0
            for row in try Row.fetchAll(db, sql: "SELECT seq, at FROM events ORDER BY seq LIMIT ?", arguments: [max(0, limit)]) {
                let seq: Int64 = row[0], at: Int64 = row[1]
                guard at < cutoff, seq <= published, seq < last else { break }
                through = seq
                count += 1
            }
            guard count > 0 else { return 0 }
            try db.execute(sql: "DELETE FROM events WHERE seq <= ?", arguments: [through])
            return count
        }
    }

    public func pruneRequests(before: Date, limit: Int) async throws -> Int {
        let cutoff = StoreTime.millis(before)
        return try await write { db in
            // Insertion (rowid) order is decision order, so the oldest come first.
            var through: Int64? = nil
            var count = 0
            for row in try Row.fetchAll(db, sql: "SELECT rowid, at FROM requests ORDER BY rowid LIMIT ?", arguments: [max(0, limit)]) {
                let rowid: Int64 = row[0], at: Int64 = row[1]
                guard at < cutoff else { break }
                through = rowid
                count += 1
            }
            guard let through else { return 0 }
            try db.execute(sql: "DELETE FROM requests WHERE rowid <= ?", arguments: [through])
            return count
        }
    }

    public func prunedSeq() async throws -> Int64 {
        try await read { db in
            // Seqs start at 1 and only the oldest are pruned: everything below the smallest kept is gone.
            guard let first = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM events") else {
                return 0
            }
            return first - 1
        }
    }

    // MARK: - Shard leases

    public func acquireShards(_ shards: [Int], owner: String) async throws -> [Int: Int64] {
        try await write { db in
            let bump = try db.cachedStatement(sql: """
                INSERT INTO shard_leases(shard, owner, epoch) VALUES (?, ?, 1)
                ON CONFLICT(shard) DO UPDATE SET owner = excluded.owner, epoch = epoch + 1
                RETURNING epoch
                """)
            var epochs: [Int: Int64] = [:]
            for shard in Set(shards) {
                bump.setUncheckedArguments([shard, owner])
                epochs[shard] = try Int64.fetchOne(bump) ?? 1
            }
            return epochs
        }
    }

    public func acquireFreeShards(_ shards: [Int], owner: String) async throws -> [Int: Int64] {
        try await write { db in
            // A conflicting row is taken only when free; RETURNING then yields nothing for a held one.
            let take = try db.cachedStatement(sql: """
                INSERT INTO shard_leases(shard, owner, epoch) VALUES (?, ?, 1)
                ON CONFLICT(shard) DO UPDATE SET owner = excluded.owner, epoch = epoch + 1 WHERE owner = ?
                RETURNING epoch
                """)
            var epochs: [Int: Int64] = [:]
            for shard in Set(shards) {
                take.setUncheckedArguments([shard, owner, ShardLease.free])
                if let epoch = try Int64.fetchOne(take) { epochs[shard] = epoch }
            }
            return epochs
        }
    }

    public func releaseShards(_ leases: [Int: Int64], owner: String) async throws -> [Int] {
        guard owner != ShardLease.free else { return try await read { _ in [] } }
        return try await write { db in
            let free = try db.cachedStatement(sql: """
                UPDATE shard_leases SET owner = ?, epoch = epoch + 1 WHERE shard = ? AND owner = ? AND epoch = ? RETURNING shard
                """)
            var released: [Int] = []
            for (shard, epoch) in leases.sorted(by: { $0.key < $1.key }) {
                free.setUncheckedArguments([ShardLease.free, shard, owner, epoch])
                if try Int.fetchOne(free) != nil { released.append(shard) }
            }
            return released
        }
    }

    public func shardLeases() async throws -> [Int: ShardLease] {
        try await read { db in
            var leases: [Int: ShardLease] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT shard, owner, epoch FROM shard_leases") {
                leases[row[0]] = ShardLease(owner: row[1], epoch: row[2])
            }
            return leases
        }
    }

    // MARK: - Accounts

    public func loadState(accountId: String) async throws -> Data? {
        try await read { db in
            try Data.fetchOne(db.cachedStatement(sql: "SELECT state FROM accounts WHERE account_id = ?"),
                              arguments: [accountId])
        }
    }

    /// One read transaction, one indexed lookup per account (a single dispatch to GRDB's reader).
    public func loadStates(accountIds: [String]) async throws -> [String: Data] {
        guard !accountIds.isEmpty else { try checkOpen(); return [:] }
        return try await read { db in
            let statement = RawStatement(try db.cachedStatement(sql: "SELECT state FROM accounts WHERE account_id = ?"))
            var states: [String: Data] = [:]
            for id in accountIds {
                if let state = try statement.blob(.text(id)) { states[id] = state }
            }
            return states
        }
    }

    public func loadAccount(accountId: String) async throws -> StoredAccount? {
        try await read { db in
            let statement = try db.cachedStatement(sql: "SELECT shard, state, version FROM accounts WHERE account_id = ?")
            return try Row.fetchOne(statement, arguments: [accountId]).map { row in
                StoredAccount(accountId: accountId, shard: row[0], state: row[1], version: row[2])
            }
        }
    }

    /// Kept as a counter in `meta` (updated by each batch that creates accounts), not a table scan.
    public func accountCount() async throws -> Int {
        try await read { db in
            let value = try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = ?"),
                                            arguments: [SQLiteSchema.metaAccountCount])
            return value.flatMap { Int($0) } ?? 0
        }
    }

    public func accounts(after: String?, limit: Int) async throws -> [StoredAccount] {
        try await read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT account_id, shard, state, version FROM accounts WHERE account_id > ? ORDER BY account_id LIMIT ?
                """)
            return try Row.fetchAll(statement, arguments: [after ?? "", max(0, limit)]).map { row in
                StoredAccount(accountId: row[0], shard: row[1], state: row[2], version: row[3])
            }
        }
    }

    // MARK: - Campaign index

    public func campaigns(_ query: CampaignQuery) async throws -> [CampaignIndexEntry] {
        if let ids = query.accountIds, ids.isEmpty { try checkOpen(); return [] }
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let status = query.status {
            conditions.append("status = ?")
            arguments += [status]
        }
        if let prefix = query.accountPrefix, !prefix.isEmpty {
            // A range on the primary key: every id starting with the prefix sorts below prefix + 0xF5, a
            // byte that never occurs in UTF-8.
            conditions.append("account_id >= ? AND account_id < (? || CAST(X'F5' AS TEXT))")
            arguments += [prefix, prefix]
        }
        if let after = query.after {
            conditions.append("account_id > ?")
            arguments += [after]
        }
        if let ids = query.accountIds {
            conditions.append("account_id IN (\(databaseQuestionMarks(count: ids.count)))")
            arguments += StatementArguments(ids)
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = """
            SELECT account_id, campaign_id, status, started_at, status_since FROM campaigns \(whereClause)
            ORDER BY account_id LIMIT ?
            """
        arguments += [max(0, query.limit)]
        let finalArguments = arguments
        return try await read { db in
            try Row.fetchAll(db, sql: sql, arguments: finalArguments).map { row in
                CampaignIndexEntry(accountId: row[0], campaignId: row[1], status: row[2],
                                   startedAt: StoreTime.date(row[3]), statusSince: StoreTime.date(row[4]))
            }
        }
    }

    /// A scan of the status index (no table rows read).
    public func campaignCounts() async throws -> [String: Int] {
        try await read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT status, COUNT(*) FROM campaigns GROUP BY status")) {
                counts[row[0]] = row[1]
            }
            return counts
        }
    }

    // MARK: - Requests and suppression

    public func reply(for key: RequestKey) async throws -> Data? {
        try await read { db in
            try Data.fetchOne(db.cachedStatement(sql: "SELECT reply FROM requests WHERE space = ? AND id = ?"),
                              arguments: [key.space.rawValue, key.id])
        }
    }

    public func replies(for keys: [RequestKey]) async throws -> [RequestKey: Data] {
        guard !keys.isEmpty else { try checkOpen(); return [:] }
        return try await read { db in
            let statement = RawStatement(try db.cachedStatement(sql: "SELECT reply FROM requests WHERE space = ? AND id = ?"))
            var found: [RequestKey: Data] = [:]
            for key in keys {
                if let reply = try statement.blob(.text(key.space.rawValue), .text(key.id)) { found[key] = reply }
            }
            return found
        }
    }

    public func isSuppressed(email: String) async throws -> Bool {
        try await read { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS(SELECT 1 FROM suppression WHERE email = ?)"),
                              arguments: [email.lowercased()]) ?? false
        }
    }

    public func suppressedEmails() async throws -> Set<String> {
        try await read { db in
            try Set(String.fetchCursor(db.cachedStatement(sql: "SELECT email FROM suppression")))
        }
    }

    // MARK: - Timers

    private static func dueTimer(_ row: Row) -> DueTimer {
        DueTimer(accountId: row[0], dueAt: StoreTime.date(row[1]))
    }

    public func dueTimers(upTo: Date, limit: Int) async throws -> [DueTimer] {
        try await timers(after: nil, upTo: upTo, limit: limit)
    }

    public func nextTimer() async throws -> DueTimer? {
        try await timers(after: nil, upTo: nil, limit: 1).first
    }

    public func timer(accountId: String) async throws -> Date? {
        try await read { db in
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT due_at FROM timers WHERE account_id = ?"),
                               arguments: [accountId]).map(StoreTime.date)
        }
    }

    public func timers(after: DueTimer?, upTo: Date?, limit: Int) async throws -> [DueTimer] {
        let bound = upTo.map(StoreTime.millis) ?? Int64.max
        let limit = max(0, limit)
        return try await read { db in
            if let after {
                // Row-value comparison keeps the (due_at, account_id) index usable for the keyset.
                let statement = try db.cachedStatement(sql: """
                    SELECT account_id, due_at FROM timers
                    WHERE (due_at, account_id) > (?, ?) AND due_at <= ?
                    ORDER BY due_at, account_id LIMIT ?
                    """)
                return try Row.fetchAll(statement, arguments: [StoreTime.millis(after.dueAt), after.accountId, bound, limit])
                    .map(Self.dueTimer)
            }
            let statement = try db.cachedStatement(sql: """
                SELECT account_id, due_at FROM timers WHERE due_at <= ? ORDER BY due_at, account_id LIMIT ?
                """)
            return try Row.fetchAll(statement, arguments: [bound, limit]).map(Self.dueTimer)
        }
    }

    public func timers(inShards shards: [Int], after: DueTimer?, limit: Int) async throws -> [DueTimer] {
        let wanted = Set(shards).sorted()
        guard !wanted.isEmpty else { return try await read { _ in [] } }
        let list = wanted.map(String.init).joined(separator: ",")
        let afterDue = after.map { StoreTime.millis($0.dueAt) } ?? Int64.min
        let afterId = after?.accountId ?? ""
        return try await read { db in
            // The shard list is integers formatted here, never caller text.
            try Row.fetchAll(db, sql: """
                SELECT account_id, due_at FROM timers
                WHERE shard IN (\(list)) AND (? = 0 OR (due_at, account_id) > (?, ?))
                ORDER BY due_at, account_id LIMIT ?
                """, arguments: [after == nil ? 0 : 1, afterDue, afterId, max(0, limit)]).map(Self.dueTimer)
        }
    }

    // MARK: - Events and outbox

    public func events(afterSeq: Int64, limit: Int) async throws -> [StoredEvent] {
        try await read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT seq, type, account_id, campaign_id, at, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?
                """)
            return try Row.fetchAll(statement, arguments: [afterSeq, max(0, limit)]).map { row in
                StoredEvent(seq: row[0], type: row[1], accountId: row[2], campaignId: row[3],
                            at: StoreTime.date(row[4]), body: row[5])
            }
        }
    }

    public func events(accountId: String, afterSeq: Int64, limit: Int) async throws -> [StoredEvent] {
        try await read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT seq, type, account_id, campaign_id, at, body FROM events
                WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?
                """)
            return try Row.fetchAll(statement, arguments: [accountId, afterSeq, max(0, limit)]).map { row in
                StoredEvent(seq: row[0], type: row[1], accountId: row[2], campaignId: row[3],
                            at: StoreTime.date(row[4]), body: row[5])
            }
        }
    }

    public func lastSeq() async throws -> Int64 {
        try await read { db in
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM events")) ?? 0
        }
    }

    public func publishedSeq() async throws -> Int64 {
        try await read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = ?"),
                                arguments: [SQLiteSchema.metaPublishedSeq]).flatMap { Int64($0) } ?? 0
        }
    }

    public func markPublished(upTo seq: Int64) async throws {
        try await write { db in
            let statement = try db.cachedStatement(sql: "SELECT value FROM meta WHERE key = ?")
            let current = try String.fetchOne(statement, arguments: [SQLiteSchema.metaPublishedSeq]).flatMap { Int64($0) } ?? 0
            if seq > current { try Self.upsertMeta(db, SQLiteSchema.metaPublishedSeq, String(seq)) }
        }
    }

    // MARK: - Meta

    public func meta(_ key: String) async throws -> String? {
        try StoreError.checkMetaKey(key)
        return try await read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = ?"), arguments: [key])
        }
    }

    public func setMeta(_ key: String, _ value: String) async throws {
        try StoreError.checkMetaKey(key)
        try await write { db in try Self.upsertMeta(db, key, value) }
    }

    private static func upsertMeta(_ db: Database, _ key: String, _ value: String) throws {
        try db.cachedStatement(sql: """
            INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value
            """).execute(arguments: [key, value])
    }

    // MARK: - Introspection and lifecycle

    /// The schema migrations applied to this file, in order (e.g. `["v1"]`).
    public func appliedMigrations() async throws -> [String] {
        try await read { db in try SQLiteSchema.migrator.appliedMigrations(db) }
    }

    /// A PRAGMA's value as seen by the writer connection (e.g. `synchronous` → "2" for FULL,
    /// `journal_mode` → "wal"). For tests and diagnostics.
    public func writerPragma(_ name: String) async throws -> String? {
        guard name.allSatisfy({ $0.isLetter || $0 == "_" }) else {
            throw StoreError(code: "store.bad_pragma", message: "pragma name '\(name)' is not an identifier")
        }
        try checkOpen()
        do {
            return try await pool.writeWithoutTransaction { db in
                try String.fetchOne(db, sql: "PRAGMA \(name)")
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// Closes every connection. Call when no other call is in flight; later calls throw `store.closed`.
    public func close() async throws {
        let wasClosed = closed.withLockedValue { value in
            defer { value = true }
            return value
        }
        if wasClosed { return }
        checkpointer.close()
        do {
            try pool.close()
        } catch {
            throw Self.storeError(error)
        }
    }
}
