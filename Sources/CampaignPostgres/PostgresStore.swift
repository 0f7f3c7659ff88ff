import CampaignStore
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// The shared engine: PostgreSQL through postgres-nio's pooled `PostgresClient`. Several processes may use one
/// database; the shard leases (`acquireShards`) fence them. See `CampaignStorage` for the semantics shared with
/// the other engines (the conformance suite in Tests/CampaignStoreTests runs on all three).
///
/// - Every `commit` is one transaction. Its first statement locks the lease rows of the shards it writes
///   (`FOR SHARE`) and compares their epochs with the ones the batch was decided under (the write's `epoch`,
///   else the epoch this instance acquired the shard with): a takeover (`UPDATE … epoch + 1`) either commits
///   before and fences the batch (`store.fenced`, nothing written), or waits for the batch to commit.
/// - Events are numbered from one counter row (`event_seq`), updated near the batch's end (only the
///   suppression check and the suppression list's changes follow, holding it), so that seq order is commit order and the log is gap-free for every reader of any process
///   (a plain sequence would let a reader skip a late committer's events).
public final class PostgresStore: CampaignStorage {
    public let configuration: PostgresStoreConfiguration
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger: Logger
    private let state = NIOLockedValueBox(InstanceState())

    private struct InstanceState {
        var closed = false
        /// The epoch this instance last acquired each shard under (`acquireShards`).
        var epochs: [Int: Int64] = [:]
        /// The node this instance joined as (`joinCluster`): its leases live as long as its liveness row.
        var identity: NodeIdentity?
    }

    /// The node this instance joined as (`joinCluster`), nil before.
    public var node: NodeIdentity? { state.withLockedValue { $0.identity } }

    func setIdentity(_ identity: NodeIdentity) {
        state.withLockedValue { $0.identity = identity }
    }

    func recordEpochs(_ epochs: [Int: Int64]) {
        state.withLockedValue { $0.epochs.merge(epochs) { _, new in new } }
    }

    /// Connects, then applies pending schema migrations (in one transaction, under an advisory lock so that
    /// processes starting together migrate once).
    /// - Throws: `store.unavailable` when the server cannot be reached in `connectTimeout`, `store.postgres`
    ///   for a server error, `store.schema_too_new` when the database was migrated by a newer build.
    /// - Parameter logger: where migrations and postgres-nio's connection events are logged (default: nowhere).
    public init(configuration: PostgresStoreConfiguration,
                logger: Logger = Logger(label: "abm.store.postgres", factory: { _ in SwiftLogNoOpLogHandler() })) async throws {
        self.configuration = configuration
        self.logger = logger
        var config = PostgresClient.Configuration(host: configuration.host, port: configuration.port,
                                                  username: configuration.username, password: configuration.password,
                                                  database: configuration.database,
                                                  tls: configuration.preferTLS ? .prefer(.makeClientConfiguration()) : .disable)
        config.options.maximumConnections = max(1, configuration.maximumConnections)
        config.options.connectTimeout = configuration.connectTimeout
        // Settings of every session, sent in the startup packet (no SET round trip, and they survive a
        // pooler's session reset).
        config.options.additionalStartupParameters = [
            ("application_name", configuration.applicationName),
            ("idle_in_transaction_session_timeout", String(Self.milliseconds(configuration.idleInTransactionTimeout))),
            ("statement_timeout", String(Self.milliseconds(configuration.statementTimeout))),
        ]
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
        do {
            try await Self.withDeadline(configuration.connectTimeout + .seconds(2), what: configuration.redactedURL) {
                try await Self.migrate(client, logger: logger)
            }
        } catch {
            runner.cancel()
            await runner.value
            throw Self.storeError(error)
        }
    }

    private static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }

    /// Runs `body`, failing with `store.unavailable` when it takes longer than `limit` (the pool keeps
    /// retrying a refused connection rather than failing the lease).
    private static func withDeadline<T: Sendable>(_ limit: Duration, what: String,
                                                  _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw StoreError.unavailable("\(what): no answer within \(limit)")
            }
            return value
        }
    }

    // MARK: - Migrations

    private static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withConnection { connection in
            try await Self.inTransaction(connection, logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLockKey))", logger: logger)
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS schema_migrations(
                      version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                    """, logger: logger)
                var applied = Set<String>()
                for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger)
                    .decode(String.self) {
                    applied.insert(version)
                }
                let unknown = applied.subtracting(PostgresSchema.knownMigrations)
                guard unknown.isEmpty else {
                    throw StoreError(code: "store.schema_too_new",
                                     message: "the database has schema migrations this build does not know: \(unknown.sorted())")
                }
                for migration in PostgresSchema.migrations where !applied.contains(migration.name) {
                    for statement in migration.statements {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query("INSERT INTO schema_migrations(version) VALUES (\(migration.name))", logger: logger)
                    logger.info("schema migration applied", metadata: ["migration": "\(migration.name)"])
                }
            }
        }
    }

    /// The schema migrations applied to this database, in order (e.g. `["v1", …]`). For tests and diagnostics.
    public func appliedMigrations() async throws -> [String] {
        try await read { connection, logger in
            var names: [String] = []
            for try await name in try await connection.query(
                "SELECT version FROM schema_migrations ORDER BY applied_at, version", logger: logger).decode(String.self) {
                names.append(name)
            }
            return names
        }
    }

    // MARK: - Access helpers

    /// BEGIN, `body`, COMMIT; ROLLBACK when `body` throws. Errors are rethrown as they are (not wrapped).
    static func inTransaction<T: Sendable>(_ connection: PostgresConnection, logger: Logger,
                                           _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await connection.query("BEGIN", logger: logger)
        let value: T
        do {
            value = try await body(connection)
        } catch {
            // A broken connection fails this too; the server then rolls the transaction back itself.
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
        try await connection.query("COMMIT", logger: logger)
        return value
    }

    /// Runs `body` in one write transaction on a pooled connection. Deliberately not cancellable: it runs in an
    /// unstructured task, so cancelling the caller can never leave it unsure whether its batch committed.
    func write<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) async throws -> T {
        try checkOpen()
        let client = self.client, logger = self.logger
        do {
            return try await Task {
                try await client.withConnection { connection in
                    try await Self.inTransaction(connection, logger: logger) { try await body($0, logger) }
                }
            }.value
        } catch {
            throw Self.storeError(error)
        }
    }

    /// Runs `body` on a pooled connection, outside any explicit transaction (each statement sees the latest
    /// commits).
    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) async throws -> T {
        try checkOpen()
        let logger = self.logger
        do {
            return try await client.withConnection { connection in try await body(connection, logger) }
        } catch {
            throw Self.storeError(error)
        }
    }

    func checkOpen() throws {
        if state.withLockedValue({ $0.closed }) { throw StoreError.closed }
    }

    static func storeError(_ error: any Error) -> StoreError {
        switch error {
        case let error as StoreError:
            return error
        case is CancellationError:
            return StoreError(code: "store.cancelled", message: "the call was cancelled")
        case let error as PSQLError:
            if let info = error.serverInfo, let sqlState = info[.sqlState] {
                return StoreError(code: StoreError.postgresCode,
                                  message: "\(sqlState): \(info[.message] ?? "server error")", underlying: error)
            }
            return StoreError.unavailable("\(error.code)\(error.underlying.map { ": \($0)" } ?? "")", underlying: error)
        default:
            return StoreError(code: StoreError.postgresCode, message: "\(error)", underlying: error)
        }
    }

    // MARK: - Commit

    public func commit(_ writes: [AccountWrite]) async throws -> [[StoredEvent]] {
        if writes.isEmpty { try checkOpen(); return [] }
        let epochs = state.withLockedValue { $0.epochs }
        let plan = try BatchPlan(writes, epochOf: { epochs[$0] })
        return try await write { connection, logger in
            try await BatchWriter(connection: connection, logger: logger).apply(plan)
        }
    }

    // MARK: - Shard leases

    /// Takes the shards over for `owner` whoever holds them: each epoch is bumped (1 for a shard never leased)
    /// and recorded in `lease_history`. The bump waits for the batches in flight that locked the lease rows
    /// (their fence), so every batch decided under an older epoch either committed before or fails after.
    /// When this instance joined as `owner` (`joinCluster`), the leases are tied to that liveness row.
    public func acquireShards(_ shards: [Int], owner: String) async throws -> [Int: Int64] {
        let wanted = Set(shards).sorted()
        guard !wanted.isEmpty else { try checkOpen(); return [:] }
        let identity = state.withLockedValue { $0.identity }
        let incarnation = identity?.nodeId == owner ? identity?.incarnation : nil
        let epochs = try await write { connection, logger in
            var epochs: [Int: Int64] = [:]
            let rows = try await connection.query("""
                WITH up AS (
                  INSERT INTO shard_leases(shard, owner, owner_incarnation, epoch, acquired_at)
                  SELECT s, \(owner), \(incarnation)::int8, 1, now() FROM unnest(\(wanted)::int8[]) AS s ORDER BY s
                  ON CONFLICT (shard) DO UPDATE SET owner = excluded.owner, owner_incarnation = excluded.owner_incarnation,
                    epoch = shard_leases.epoch + 1, acquired_at = excluded.acquired_at
                  RETURNING shard, epoch, owner)
                INSERT INTO lease_history(shard, epoch, owner) SELECT shard, epoch, owner FROM up RETURNING shard, epoch
                """, logger: logger)
            for try await (shard, epoch) in rows.decode((Int, Int64).self) { epochs[shard] = epoch }
            return epochs
        }
        recordEpochs(epochs)
        return epochs
    }

    /// Free shards: never leased, released, or leased by a node whose liveness row (of the incarnation that took
    /// the lease) is gone or expired (`acquireFreeShards(_:node:)`). The leases are tied to this instance's
    /// liveness row when it joined as `owner`.
    public func acquireFreeShards(_ shards: [Int], owner: String) async throws -> [Int: Int64] {
        let identity = state.withLockedValue { $0.identity }
        return try await takeFreeShards(shards, owner: owner, incarnation: identity?.nodeId == owner ? identity?.incarnation : nil)
    }

    /// Frees `owner`'s leases still under the given epochs: owner empty, no incarnation, epoch + 1 (recorded in
    /// `lease_history` with no owner). The update waits for this owner's fenced batches in flight (`FOR SHARE`).
    public func releaseShards(_ leases: [Int: Int64], owner: String) async throws -> [Int] {
        guard !leases.isEmpty, owner != ShardLease.free else { try checkOpen(); return [] }
        let shards = leases.keys.sorted()
        let epochs = shards.map { leases[$0]! }
        let released = try await write { connection, logger in
            let rows = try await connection.query("""
                WITH mine AS (SELECT * FROM unnest(\(shards)::int8[], \(epochs)::int8[]) AS m(shard, epoch)),
                freed AS (
                  UPDATE shard_leases l SET owner = \(ShardLease.free), owner_incarnation = NULL, epoch = l.epoch + 1,
                    acquired_at = now()
                  FROM mine WHERE l.shard = mine.shard AND l.epoch = mine.epoch AND l.owner = \(owner)
                  RETURNING l.shard, l.epoch)
                INSERT INTO lease_history(shard, epoch, owner) SELECT shard, epoch, \(ShardLease.free) FROM freed
                RETURNING shard
                """, logger: logger).decode(Int.self)
            return try await rows.all().sorted()
        }
        // The recorded epochs stay: a write of a released shard without an epoch of its own is fenced too.
        return released
    }

    public func shardLeases() async throws -> [Int: ShardLease] {
        try await read { connection, logger in
            var leases: [Int: ShardLease] = [:]
            for try await (shard, owner, epoch) in try await connection.query(
                "SELECT shard, owner, epoch FROM shard_leases", logger: logger).decode((Int, String, Int64).self) {
                leases[shard] = ShardLease(owner: owner, epoch: epoch)
            }
            return leases
        }
    }

    // MARK: - Lifecycle

    /// Leaves the cluster when this instance joined it (its shards are free at once for others: the caller has
    /// made its last write), then closes every connection. Idempotent; later calls throw `store.closed`.
    public func close() async throws {
        if let node, state.withLockedValue({ !$0.closed }) {
            do { try await leaveCluster(node) } catch {
                logger.warning("could not leave the cluster; the liveness row expires by itself", metadata: ["error": "\(error)"])
            }
        }
        let wasClosed = state.withLockedValue { s in
            defer { s.closed = true }
            return s.closed
        }
        if wasClosed { return }
        runner.cancel()
        await runner.value
    }
}

extension StoreError {
    /// A PostgreSQL server error (its SQLSTATE and message in `message`).
    public static let postgresCode = "store.postgres"
    /// The PostgreSQL server cannot be reached, or the connection broke.
    public static let unavailableCode = "store.unavailable"

    static func unavailable(_ why: String, underlying: (any Error & Sendable)? = nil) -> StoreError {
        StoreError(code: unavailableCode, message: "PostgreSQL unavailable: \(why)", underlying: underlying)
    }
}
