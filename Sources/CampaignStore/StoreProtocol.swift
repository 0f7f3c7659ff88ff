import Foundation

// The seam between the runtime and durable storage (`CampaignStorage`; the module name stays free). Engines: SQLite (GRDB) embedded default, an
// in-memory twin for tests, PostgreSQL later. One conformance test suite runs against each.
// Extend these types; do not rename.

/// A stable shard number for an account: FNV-1a 64 of the UTF-8 bytes, mod `count`.
/// Not Swift's `Hasher`, which is seeded per process.
public func accountShard(_ accountId: String, count: Int = 256) -> Int {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in accountId.utf8 {
        h ^= UInt64(b)
        h = h &* 0x0000_0100_0000_01b3
    }
    return Int(h % UInt64(count))
}

/// An event to append to the log. `body` is a UTF-8 JSON object without `seq`; the store assigns the
/// gap-free `seq` inside the commit and writes it as the body's first key.
public struct NewEvent: Sendable, Equatable {
    public var type: String
    public var accountId: String
    public var campaignId: String?
    public var at: Date
    public var body: Data

    public init(type: String, accountId: String, campaignId: String?, at: Date, body: Data) {
        self.type = type
        self.accountId = accountId
        self.campaignId = campaignId
        self.at = at
        self.body = body
    }
}

/// An event as stored: numbered, its body carrying `seq`.
public struct StoredEvent: Sendable, Equatable {
    public var seq: Int64
    public var type: String
    public var accountId: String
    public var campaignId: String?
    public var at: Date
    /// UTF-8 JSON object, `{"seq":N,…}`.
    public var body: Data

    public init(seq: Int64, type: String, accountId: String, campaignId: String?, at: Date, body: Data) {
        self.seq = seq
        self.type = type
        self.accountId = accountId
        self.campaignId = campaignId
        self.at = at
        self.body = body
    }
}

/// Idempotency key space: ingress and control ids are separate.
public enum RequestSpace: String, Sendable, Codable {
    case ingress
    case control
}

public struct RequestKey: Sendable, Hashable {
    public var space: RequestSpace
    public var id: String

    public init(space: RequestSpace, id: String) {
        self.space = space
        self.id = id
    }
}

public enum TimerChange: Sendable, Equatable {
    case unchanged
    case set(Date)
    case clear
}

/// A stored event's body replaced in place (an erasure); the seq, type, account and time stay.
public struct EventRewrite: Sendable, Equatable {
    public var seq: Int64
    /// The new body: a JSON object starting with the same `{"seq":N`.
    public var body: Data

    public init(seq: Int64, body: Data) {
        self.seq = seq
        self.body = body
    }
}

/// The erasure of a person, written with the account's write: the address's plain entry on the global
/// suppression list is replaced by its hash entry (`Suppression.hashed`), and the account's events that
/// named the person are rewritten.
public struct ErasureWrite: Sendable, Equatable {
    /// The erased address, lower-case.
    public var email: String
    /// Lower-case hex SHA-256 of `email`.
    public var emailSHA256: String
    public var eventRewrites: [EventRewrite]

    public init(email: String, emailSHA256: String, eventRewrites: [EventRewrite]) {
        self.email = email
        self.emailSHA256 = emailSHA256
        self.eventRewrites = eventRewrites
    }
}

/// The global suppression list's entries: a plain lower-case address, or the hash of an erased one.
public enum Suppression {
    static let hashPrefix = "sha256:"

    /// The entry that keeps an erased address suppressed without storing it.
    public static func hashed(_ emailSHA256: String) -> String { hashPrefix + emailSHA256 }

    /// The hash of a hash entry; nil for a plain address.
    public static func hash(of entry: String) -> String? {
        entry.hasPrefix(hashPrefix) ? String(entry.dropFirst(hashPrefix.count)) : nil
    }
}

/// Everything one decision changes, written atomically with the other writes of its batch.
public struct AccountWrite: Sendable {
    public var accountId: String
    public var shard: Int
    /// The new state blob; nil leaves the stored one as it is.
    public var state: Data?
    public var timer: TimerChange
    public var events: [NewEvent]
    /// The request this write answers, with the reply to replay for a repeated id.
    public var request: (key: RequestKey, reply: Data)?
    /// Emails to add to the global suppression list.
    public var suppressions: [String]
    /// Compare-and-set: when non-nil, the batch fails with `store.version_conflict` unless the account's
    /// stored version equals this (0 = the account must not exist yet). nil = no check (single node).
    public var expectedVersion: Int64?
    /// The shard-ownership epoch this write was decided under (`acquireShards`); stored with its events.
    /// When non-nil the commit fences on it: unless it is still the shard's current lease epoch, the batch
    /// fails with `store.fenced` and nothing of it is stored. nil = no check.
    public var epoch: Int64?
    /// The account's new row in the campaign index (a campaign started or changed status); nil leaves
    /// the index as it is.
    public var index: CampaignIndexEntry?
    /// When the request was decided (the runtime's clock): request ids older than the retention age are
    /// pruned (`pruneRequests`). nil is stored as the oldest possible time.
    public var requestAt: Date?
    /// An erasure of a person from this account (nil: none).
    public var erasure: ErasureWrite?
    /// The addresses (lower-case) this write sends a touch to. A store shared by several processes refuses the
    /// commit with `store.suppressed` when one of them is on the suppression list by the time it commits (another
    /// process's unsubscribe); a store of one process leaves the check to its runtime (in memory).
    public var touches: [String] = []

    public init(accountId: String, state: Data? = nil, timer: TimerChange = .unchanged, events: [NewEvent] = [],
                request: (key: RequestKey, reply: Data)? = nil, suppressions: [String] = [],
                expectedVersion: Int64? = nil, epoch: Int64? = nil, index: CampaignIndexEntry? = nil,
                requestAt: Date? = nil, erasure: ErasureWrite? = nil) {
        self.accountId = accountId
        self.shard = accountShard(accountId)
        self.state = state
        self.timer = timer
        self.events = events
        self.request = request
        self.suppressions = suppressions
        self.expectedVersion = expectedVersion
        self.epoch = epoch
        self.index = index
        self.requestAt = requestAt
        self.erasure = erasure
    }
}

/// An account's stored row: its state blob and how many times it was written.
public struct StoredAccount: Sendable, Equatable {
    public var accountId: String
    public var shard: Int
    public var state: Data
    /// 1 after the first write of a state, +1 on each later one.
    public var version: Int64

    public init(accountId: String, shard: Int, state: Data, version: Int64) {
        self.accountId = accountId
        self.shard = shard
        self.state = state
        self.version = version
    }
}

public struct DueTimer: Sendable, Equatable {
    public var accountId: String
    public var dueAt: Date

    public init(accountId: String, dueAt: Date) {
        self.accountId = accountId
        self.dueAt = dueAt
    }
}

public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var underlying: (any Error & Sendable)?

    public init(code: String, message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { "\(code): \(message)" }
}

/// Durable storage for campaigns. All methods are safe to call concurrently.
///
/// Semantics shared by every engine (the conformance suite checks them):
/// - Dates are stored as whole milliseconds since 1970; dates read back are rounded to the millisecond.
/// - `commit` numbers events gap-free (last seq + 1, …) in batch order, inside the transaction; an event body
///   must be a JSON object (else `store.event_body_not_object` and nothing of the batch is written).
/// - A request key that already exists (committed earlier, or earlier in the same batch) keeps its FIRST reply;
///   the later one is ignored. Committing the same key twice is a caller error; the store just stays consistent.
/// - Suppressed emails are stored lower-cased; `isSuppressed` lower-cases its argument.
/// - `markPublished` only moves forward (a lower seq is ignored).
/// - Meta keys starting with `store.` are the store's own: `meta`/`setMeta` on them throw `store.reserved_meta_key`.
/// - Timers are ordered by (dueAt, accountId); one timer per account.
/// - A failing batch (bad event body, version conflict, I/O) throws and leaves nothing of itself behind.
/// - After `close()`, every call throws `store.closed`.
/// - Retention prunes the oldest events only: the log stays a gap-free range of seqs ending at `lastSeq`
///   (never an unpublished event, never the newest one, so numbering goes on from `lastSeq`).
/// - Shard leases: `acquireShards` takes shards over, bumping each one's epoch; a write carrying an older
///   epoch of its shard fails its whole batch with `store.fenced` (the previous owner is fenced).
public protocol CampaignStorage: Sendable {
    /// The account's state blob, or nil when the account is unknown.
    func loadState(accountId: String) async throws -> Data?
    /// One transaction, one fsync, for the whole batch. Returns each write's events, numbered, in order.
    /// Either every write of the batch is durable when this returns, or none is.
    func commit(_ writes: [AccountWrite]) async throws -> [[StoredEvent]]
    /// The stored reply to a request id, if that id was committed before.
    func reply(for key: RequestKey) async throws -> Data?
    /// The stored replies of those `keys` that were committed before, in one read (a batch of requests).
    func replies(for keys: [RequestKey]) async throws -> [RequestKey: Data]
    /// The state blobs of those accounts that have one, in one read (a batch of requests).
    func loadStates(accountIds: [String]) async throws -> [String: Data]
    /// Timers due at or before `upTo`, earliest first.
    func dueTimers(upTo: Date, limit: Int) async throws -> [DueTimer]
    /// The earliest pending timer.
    func nextTimer() async throws -> DueTimer?
    /// Events with `seq > afterSeq`, in order (replay).
    func events(afterSeq: Int64, limit: Int) async throws -> [StoredEvent]
    /// One account's events with `seq > afterSeq`, in order, at most `limit` (its history).
    func events(accountId: String, afterSeq: Int64, limit: Int) async throws -> [StoredEvent]
    /// The highest seq assigned so far (0 when none).
    func lastSeq() async throws -> Int64
    /// Outbox: the highest seq known to be published.
    func publishedSeq() async throws -> Int64
    func markPublished(upTo seq: Int64) async throws
    func isSuppressed(email: String) async throws -> Bool
    func suppressedEmails() async throws -> Set<String>
    /// Small named values (e.g. the virtual clock's last time).
    func meta(_ key: String) async throws -> String?
    func setMeta(_ key: String, _ value: String) async throws

    /// The account's state with its version and shard, or nil when the account is unknown.
    func loadAccount(accountId: String) async throws -> StoredAccount?
    /// The account's pending timer, if any.
    func timer(accountId: String) async throws -> Date?
    /// Pending timers ordered by (dueAt, accountId), strictly after the keyset position `after`
    /// (nil = from the start) and due at or before `upTo` (nil = no bound): pages the timer index
    /// into a look-ahead heap.
    func timers(after: DueTimer?, upTo: Date?, limit: Int) async throws -> [DueTimer]
    /// The number of accounts with a stored state.
    func accountCount() async throws -> Int
    /// Takes the shards over for `owner`: each one's lease epoch is bumped (1 for a shard never leased) and
    /// returned. Every write decided by an earlier owner of these shards is refused from then on.
    func acquireShards(_ shards: [Int], owner: String) async throws -> [Int: Int64]
    /// Takes those of `shards` that are free for `owner`, each one's epoch bumped (1 for a shard never leased):
    /// never leased, released (`releaseShards`), or, on a store with node liveness (PostgreSQL), leased by a
    /// node that is no longer live. A shard held by another owner, or by `owner` already, is left alone.
    /// - Returns: the shards taken, with their new epochs.
    func acquireFreeShards(_ shards: [Int], owner: String) async throws -> [Int: Int64]
    /// Gives leases up: each shard of `leases` still held by `owner` under that epoch becomes free, its epoch
    /// bumped so that nothing decided under the released lease can be stored afterwards. Others are left alone.
    /// - Returns: the shards released.
    func releaseShards(_ leases: [Int: Int64], owner: String) async throws -> [Int]
    /// The current lease of each shard ever leased: owner and epoch (owner `ShardLease.free` once released).
    func shardLeases() async throws -> [Int: ShardLease]
    /// Pending timers of the accounts in `shards`, ordered by (dueAt, accountId), strictly after the keyset
    /// position `after` (nil = from the start): what a node loads when it takes shards over.
    func timers(inShards shards: [Int], after: DueTimer?, limit: Int) async throws -> [DueTimer]
    /// Campaign index rows matching `query`, ordered by account id (UTF-8 byte order), at most
    /// `query.limit`.
    func campaigns(_ query: CampaignQuery) async throws -> [CampaignIndexEntry]
    /// The number of indexed campaigns by status word (statuses with none are absent).
    func campaignCounts() async throws -> [String: Int]
    /// Accounts with a stored state ordered by id, strictly after `after` (nil = from the start): pages
    /// the whole store (e.g. to build the campaign index of a store written before it existed).
    func accounts(after: String?, limit: Int) async throws -> [StoredAccount]
    /// Accounts whose stored state or events contain `text` (the bytes of a lower-case address), by id,
    /// at most `limit`: the accounts an erasure must visit. A scan: meant for rare operator requests.
    func accounts(mentioning text: String, limit: Int) async throws -> [String]
    /// The store-wide part of an erasure, in one transaction: every stored request reply containing `email`
    /// has it replaced by `replacement`; the address's plain suppression entry (if any) is replaced by its
    /// hash entry. Returns the number of replies rewritten.
    func finishErasure(email: String, emailSHA256: String, replacement: String) async throws -> Int
    /// Retention: deletes the oldest events, in seq order, while their `at` is before `before`, at most
    /// `limit` per call, never an event after `publishedSeq` nor the newest one. Returns how many.
    func pruneEvents(before: Date, limit: Int) async throws -> Int
    /// Retention: deletes stored request ids (and their replies) decided before `before`, at most `limit`
    /// per call. A pruned id sent again is a new request. Returns how many.
    func pruneRequests(before: Date, limit: Int) async throws -> Int
    /// The highest seq removed by retention (0 when none): replay from below it cannot be complete.
    func prunedSeq() async throws -> Int64
    /// Releases the engine (closes files). Idempotent; later calls throw `store.closed`.
    func close() async throws
}

/// Who holds a shard, and under which epoch.
public struct ShardLease: Sendable, Equatable {
    public var owner: String
    public var epoch: Int64

    public init(owner: String, epoch: Int64) {
        self.owner = owner
        self.epoch = epoch
    }

    /// The owner of a released lease: nobody.
    public static let free = ""

    public var isFree: Bool { owner == Self.free }
}

/// The number of shards accounts are spread over (`accountShard`).
public let shardCount = 256

extension CampaignStorage {
    /// All pending timers, paged: `timers(after:upTo:limit:)` without a bound.
    public func timers(after: DueTimer?, limit: Int) async throws -> [DueTimer] {
        try await timers(after: after, upTo: nil, limit: limit)
    }
}

/// What a cluster member places shards from (`ClusterMember`): which nodes are live and who holds each shard.
/// PostgreSQL answers from its liveness rows and leases, on the database clock.
public protocol ClusterDirectory: Sendable {
    /// The ids of the nodes live now.
    func liveNodeIds() async throws -> [String]
    /// The owner of each shard whose lease is held by a live node; a shard absent is free.
    func liveShardOwners() async throws -> [Int: String]
    /// The endpoint of each live node's internal ROUTER (`abm serve --peer`), for the nodes that have one.
    func livePeerEndpoints() async throws -> [String: String]
}

extension ClusterDirectory {
    /// A directory that knows no endpoints: requests are never forwarded.
    public func livePeerEndpoints() async throws -> [String: String] { [:] }
}
