import Foundation

/// The PostgreSQL schema, as versioned migrations recorded in `schema_migrations`. Never edit a shipped
/// migration; add a new one.
///
/// The logical content of v1…v5 is SQLite's v1…v5 (Sources/CampaignStore/SQLiteSchema.swift, same migration names):
/// every row with an account carries its `shard`, events carry the writer's `epoch`, dates are whole
/// milliseconds since 1970 (bigint). What PostgreSQL adds: the gap-free event counter row (`event_seq`, see
/// `PostgresStore.commit`), node liveness (v6), the requests' insertion order (`ord`, SQLite's rowid; ties of `at`) and the lease history.
/// Account ids sort with `COLLATE "C"`: UTF-8 byte order, as SQLite's BINARY and the in-memory twin.
enum PostgresSchema {
    struct Migration {
        let name: String
        /// One or more statements, each ending with a semicolon at the end of a line (the extended query
        /// protocol takes one statement per query).
        let sql: String

        var statements: [String] {
            sql.components(separatedBy: ";\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                .map { $0.hasSuffix(";") ? String($0.dropLast()) : $0 }.filter { !$0.isEmpty }
        }
    }

    /// Internal rows of `meta`, under the prefix callers may not use (`StoreError.reservedMetaKey`); the same
    /// keys as SQLite's.
    static let metaPublishedSeq = "store.published_seq"
    static let metaAccountCount = "store.account_count"

    /// A transaction-scoped advisory lock key held while migrating, so that two processes starting on one
    /// empty database do not both create the tables (it is released at COMMIT; never used for ownership).
    static let migrationLockKey: Int64 = 0x61_62_6d_5f_6d_69_67 // "abm_mig"

    static let migrations: [Migration] = [
        Migration(name: "v1", sql: """
            CREATE TABLE accounts(
              account_id text COLLATE "C" PRIMARY KEY,
              shard integer NOT NULL,
              state bytea NOT NULL,
              version bigint NOT NULL);
            CREATE TABLE timers(
              account_id text COLLATE "C" PRIMARY KEY,
              shard integer NOT NULL,
              due_at bigint NOT NULL);
            CREATE INDEX timers_due_at ON timers(due_at, account_id);
            CREATE TABLE events(
              seq bigint PRIMARY KEY,
              type text NOT NULL,
              account_id text COLLATE "C" NOT NULL,
              campaign_id text,
              at bigint NOT NULL,
              shard integer NOT NULL,
              epoch bigint,
              body bytea NOT NULL);
            CREATE TABLE event_seq(
              id integer PRIMARY KEY CHECK (id = 1),
              last bigint NOT NULL);
            INSERT INTO event_seq(id, last) VALUES (1, 0);
            CREATE TABLE requests(
              space text NOT NULL,
              id text NOT NULL,
              shard integer NOT NULL,
              reply bytea NOT NULL,
              ord bigint GENERATED ALWAYS AS IDENTITY,
              PRIMARY KEY(space, id));
            CREATE TABLE suppression(email text PRIMARY KEY);
            CREATE TABLE meta(key text PRIMARY KEY, value text NOT NULL);
            """),
        Migration(name: "v2-shard-leases", sql: """
            CREATE TABLE shard_leases(
              shard integer PRIMARY KEY,
              owner text NOT NULL,
              epoch bigint NOT NULL,
              acquired_at timestamptz NOT NULL DEFAULT now());
            CREATE TABLE lease_history(
              shard integer NOT NULL,
              epoch bigint NOT NULL,
              owner text NOT NULL,
              acquired_at timestamptz NOT NULL DEFAULT now(),
              PRIMARY KEY(shard, epoch));
            """),
        Migration(name: "v3-campaign-index", sql: """
            CREATE TABLE campaigns(
              account_id text COLLATE "C" PRIMARY KEY,
              shard integer NOT NULL,
              campaign_id text NOT NULL,
              status text NOT NULL,
              started_at bigint NOT NULL,
              status_since bigint NOT NULL);
            CREATE INDEX campaigns_status ON campaigns(status, account_id);
            """),
        Migration(name: "v4-events-by-account", sql: "CREATE INDEX events_account ON events(account_id, seq)"),
        // Retention of request ids by age walks this index from the oldest.
        Migration(name: "v5-request-time", sql: """
            ALTER TABLE requests ADD COLUMN at bigint NOT NULL DEFAULT 0;
            CREATE INDEX requests_at ON requests(at, ord);
            """),
        // Node liveness on the database clock (NodeLiveness.swift): a lease lives as long as its owner's row
        // (the incarnation it was taken under, not yet expired by now()).
        Migration(name: "v6-node-liveness", sql: """
            CREATE TABLE cluster_nodes(
              node_id text PRIMARY KEY,
              incarnation bigint NOT NULL,
              started_at timestamptz NOT NULL DEFAULT now(),
              expires_at timestamptz NOT NULL);
            ALTER TABLE shard_leases ADD COLUMN owner_incarnation bigint;
            """),
        // The endpoint of a node's internal ROUTER (`abm serve --peer`): peers forward it the requests of its shards.
        Migration(name: "v7-peer-endpoint", sql: "ALTER TABLE cluster_nodes ADD COLUMN peer_endpoint text"),
    ]

    /// The identifiers of all migrations this build knows, in order.
    static var knownMigrations: [String] { migrations.map(\.name) }
}

extension PostgresStore {
    /// The newest schema migration this build knows: a database migrated past it is refused with
    /// `store.schema_too_new`.
    public static var schemaVersion: String { PostgresSchema.knownMigrations.last ?? "none" }
}
