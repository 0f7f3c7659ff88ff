import GRDB

/// The SQLite schema, as versioned migrations. Applied migrations are recorded by GRDB in
/// `grdb_migrations`; never edit a shipped migration, add a new one.
///
/// The logical schema matches the later PostgreSQL one: every row with an account carries its `shard`,
/// events carry the writer's `epoch`, dates are whole milliseconds since 1970 (INTEGER).
enum SQLiteSchema {
    /// Internal rows of `meta`, under the prefix callers may not use (`StoreError.reservedMetaKey`).
    static let metaPublishedSeq = "store.published_seq"
    static let metaAccountCount = "store.account_count"

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE accounts(
                  account_id TEXT PRIMARY KEY NOT NULL,
                  shard INTEGER NOT NULL,
                  state BLOB NOT NULL,
                  version INTEGER NOT NULL);
                CREATE TABLE timers(
                  account_id TEXT PRIMARY KEY NOT NULL,
                  shard INTEGER NOT NULL,
                  due_at INTEGER NOT NULL);
                CREATE INDEX timers_due_at ON timers(due_at, account_id);
                CREATE TABLE events(
                  seq INTEGER PRIMARY KEY NOT NULL,
                  type TEXT NOT NULL,
                  account_id TEXT NOT NULL,
                  campaign_id TEXT,
                  at INTEGER NOT NULL,
                  shard INTEGER NOT NULL,
                  epoch INTEGER,
                  body BLOB NOT NULL);
                CREATE TABLE requests(
                  space TEXT NOT NULL,
                  id TEXT NOT NULL,
                  shard INTEGER NOT NULL,
                  reply BLOB NOT NULL,
                  PRIMARY KEY(space, id));
                CREATE TABLE suppression(email TEXT PRIMARY KEY NOT NULL);
                CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                """)
        }
        migrator.registerMigration("v2-shard-leases") { db in
            try db.execute(sql: """
                CREATE TABLE shard_leases(
                  shard INTEGER PRIMARY KEY NOT NULL,
                  owner TEXT NOT NULL,
                  epoch INTEGER NOT NULL);
                """)
        }
        // The campaign index: one row per account with a campaign, for lists and counts by status.
        // A store written before it has none; the runtime builds them once at start.
        migrator.registerMigration("v3-campaign-index") { db in
            try db.execute(sql: """
                CREATE TABLE campaigns(
                  account_id TEXT PRIMARY KEY NOT NULL,
                  shard INTEGER NOT NULL,
                  campaign_id TEXT NOT NULL,
                  status TEXT NOT NULL,
                  started_at INTEGER NOT NULL,
                  status_since INTEGER NOT NULL);
                CREATE INDEX campaigns_status ON campaigns(status, account_id);
                """)
        }
        // One account's history (the dashboard's timeline, reports against a running server) without a
        // scan of the whole log.
        migrator.registerMigration("v4-events-by-account") { db in
            try db.execute(sql: "CREATE INDEX events_account ON events(account_id, seq)")
        }
        // Retention of request ids by age: when each was decided (ms). Ids stored before count as the
        // oldest. No index: pruning walks the rowid order (insertion order) from the oldest.
        migrator.registerMigration("v5-request-time") { db in
            try db.execute(sql: "ALTER TABLE requests ADD COLUMN at INTEGER NOT NULL DEFAULT 0")
        }
        return migrator
    }

    /// The identifiers of all migrations this build knows, in order.
    static var knownMigrations: [String] { migrator.migrations }
}

extension SQLiteStore {
    /// The newest schema migration this build knows (`abm --version`, docs/upgrading.md): a store file
    /// migrated past it is refused with `store.schema_too_new`.
    public static var schemaVersion: String { SQLiteSchema.knownMigrations.last ?? "none" }
}
