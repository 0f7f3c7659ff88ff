import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import NIOConcurrencyHelpers
import Testing

@testable import CampaignRuntime

/// 2026-03-02T09:00:00Z, a Monday, inside the default send window for UTC contacts.
let monday9 = Date(timeIntervalSince1970: 1_772_442_000)
let day: TimeInterval = 86_400

/// Records every published event, in order.
actor RecordingPublisher: EventPublisher {
    private(set) var events: [StoredEvent] = []
    /// Makes publishing lag behind commits (a slow subscriber link) without sleeping.
    private let yields: Int

    init(yields: Int = 0) { self.yields = yields }

    func publish(_ batch: [StoredEvent]) async {
        for _ in 0..<yields { await Task.yield() }
        events.append(contentsOf: batch)
    }

    var seqs: [Int64] { events.map(\.seq) }
}

extension StoredEvent {
    var json: JSONValue { (try? JSONDecoder().decode(JSONValue.self, from: body)) ?? .null }
    var touchpointId: String? { json["touchpoint_id"]?.stringValue }
    var contactEmail: String? { json["contact_email"]?.stringValue }
}

/// A lead in the prototype's flat shape: a primary and `colleagues` colleagues, all in UTC.
func lead(_ account: String, colleagues: Int = 2, primary: String? = nil, extra: [String] = []) -> JSONValue {
    var contacts: [JSONValue] = (1...max(1, colleagues)).prefix(colleagues).map { i in
        ["email": .string("c\(i)@\(account).example"), "name": .string("Colleague \(i)"), "title": "VP Sales",
         "phone": .string("+1555010\(i)"), "timezone": "UTC"]
    }
    for e in extra {
        contacts.append(["email": .string(e), "name": "Extra Person", "title": "Director", "timezone": "UTC"])
    }
    return [
        "account_id": .string(account), "email": .string(primary ?? "pat@\(account).example"), "name": "Pat Primary",
        "title": "CTO", "phone": "+15550100", "timezone": "UTC", "topic": "data pipelines",
        "metadata": ["company_name": .string("\(account) Inc")], "account_contacts": .array(contacts),
    ]
}

/// Builds a runtime over `store` with a manual clock; starts it.
func startRuntime(_ store: any CampaignStorage, at start: Date = monday9, publisher: RecordingPublisher = RecordingPublisher(),
                  decider: any CampaignDecider = CampaignEngine(),
                  configure: (inout RuntimeConfiguration) -> Void = { _ in }) async throws -> (CampaignRuntime, ManualClock, RecordingPublisher) {
    var config = RuntimeConfiguration(maxFailures: 3)
    config.logger.logLevel = .critical
    configure(&config)
    let clock = ManualClock(start: start)
    let runtime = CampaignRuntime(store: store, clock: clock, decider: decider, publisher: publisher,
                                  configuration: config)
    try await runtime.start()
    return (runtime, clock, publisher)
}

/// The two engines: the in-memory twin and SQLite in a fresh temporary directory.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case memory, sqlite
    var testDescription: String { rawValue }

    func make() throws -> any CampaignStorage {
        switch self {
        case .memory: return InMemoryStore()
        case .sqlite: return try SQLiteStore(path: temporaryDatabasePath())
        }
    }
}

func temporaryDatabasePath() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runtime-tests-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("abm.sqlite").path
}

/// Wraps a store to inject faults: failing accounts (loads and commits touching them throw), a failing
/// `markPublished`, and a kill switch (every later call throws, like a process that died).
final class FaultyStore: CampaignStorage, @unchecked Sendable {
    struct Injected: Error, CustomStringConvertible {
        var description: String
    }

    let base: any CampaignStorage
    private let lock = NSLock()
    private var _failing: Set<String> = []
    private var _failMarkPublished = false
    private var _killed = false
    private var _commitsSeen = 0

    init(_ base: any CampaignStorage) { self.base = base }

    func fail(_ account: String) { lock.withLock { _ = _failing.insert(account) } }
    func heal(_ account: String) { lock.withLock { _ = _failing.remove(account) } }
    func failMarkPublished(_ on: Bool) { lock.withLock { _failMarkPublished = on } }
    /// Simulates `kill -9`: nothing reaches the store any more.
    func kill() { lock.withLock { _killed = true } }
    var commitsSeen: Int { lock.withLock { _commitsSeen } }

    private func check(_ account: String? = nil) throws {
        try lock.withLock {
            if _killed { throw Injected(description: "killed") }
            if let account, _failing.contains(account) { throw Injected(description: "injected failure for \(account)") }
        }
    }

    func loadState(accountId: String) async throws -> Data? {
        try check(accountId)
        return try await base.loadState(accountId: accountId)
    }
    func commit(_ writes: [AccountWrite]) async throws -> [[StoredEvent]] {
        try check()
        for w in writes { try check(w.accountId) }
        lock.withLock { _commitsSeen += 1 }
        return try await base.commit(writes)
    }
    func reply(for key: RequestKey) async throws -> Data? { try check(); return try await base.reply(for: key) }
    func replies(for keys: [RequestKey]) async throws -> [RequestKey: Data] { try check(); return try await base.replies(for: keys) }
    func loadStates(accountIds: [String]) async throws -> [String: Data] {
        try check(); for a in accountIds { try check(a) }; return try await base.loadStates(accountIds: accountIds)
    }
    func dueTimers(upTo: Date, limit: Int) async throws -> [DueTimer] {
        try check(); return try await base.dueTimers(upTo: upTo, limit: limit)
    }
    func nextTimer() async throws -> DueTimer? { try check(); return try await base.nextTimer() }
    func events(afterSeq: Int64, limit: Int) async throws -> [StoredEvent] {
        try check(); return try await base.events(afterSeq: afterSeq, limit: limit)
    }
    func lastSeq() async throws -> Int64 { try check(); return try await base.lastSeq() }
    func publishedSeq() async throws -> Int64 { try check(); return try await base.publishedSeq() }
    func markPublished(upTo seq: Int64) async throws {
        try check()
        if lock.withLock({ _failMarkPublished }) { throw Injected(description: "markPublished failed") }
        try await base.markPublished(upTo: seq)
    }
    func isSuppressed(email: String) async throws -> Bool { try check(); return try await base.isSuppressed(email: email) }
    func suppressedEmails() async throws -> Set<String> { try check(); return try await base.suppressedEmails() }
    func meta(_ key: String) async throws -> String? { try check(); return try await base.meta(key) }
    func setMeta(_ key: String, _ value: String) async throws { try check(); try await base.setMeta(key, value) }
    func loadAccount(accountId: String) async throws -> StoredAccount? {
        try check(accountId); return try await base.loadAccount(accountId: accountId)
    }
    func timer(accountId: String) async throws -> Date? { try check(); return try await base.timer(accountId: accountId) }
    func timers(after: DueTimer?, upTo: Date?, limit: Int) async throws -> [DueTimer] {
        try check(); return try await base.timers(after: after, upTo: upTo, limit: limit)
    }
    func accountCount() async throws -> Int { try check(); return try await base.accountCount() }
    func campaigns(_ query: CampaignQuery) async throws -> [CampaignIndexEntry] { try check(); return try await base.campaigns(query) }
    func events(accountId: String, afterSeq: Int64, limit: Int) async throws -> [StoredEvent] {
        try check(); return try await base.events(accountId: accountId, afterSeq: afterSeq, limit: limit)
    }
    func campaignCounts() async throws -> [String: Int] { try check(); return try await base.campaignCounts() }
    func accounts(mentioning text: String, limit: Int) async throws -> [String] {
        try check(); return try await base.accounts(mentioning: text, limit: limit)
    }
    func finishErasure(email: String, emailSHA256: String, replacement: String) async throws -> Int {
        try check(); return try await base.finishErasure(email: email, emailSHA256: emailSHA256, replacement: replacement)
    }
    func pruneEvents(before: Date, limit: Int) async throws -> Int {
        try check(); return try await base.pruneEvents(before: before, limit: limit)
    }
    func pruneRequests(before: Date, limit: Int) async throws -> Int {
        try check(); return try await base.pruneRequests(before: before, limit: limit)
    }
    func prunedSeq() async throws -> Int64 { try check(); return try await base.prunedSeq() }
    func accounts(after: String?, limit: Int) async throws -> [StoredAccount] {
        try check(); return try await base.accounts(after: after, limit: limit)
    }
    func acquireShards(_ shards: [Int], owner: String) async throws -> [Int: Int64] {
        try check(); return try await base.acquireShards(shards, owner: owner)
    }
    func shardLeases() async throws -> [Int: ShardLease] { try check(); return try await base.shardLeases() }
    func acquireFreeShards(_ shards: [Int], owner: String) async throws -> [Int: Int64] {
        try check(); return try await base.acquireFreeShards(shards, owner: owner)
    }
    func releaseShards(_ leases: [Int: Int64], owner: String) async throws -> [Int] {
        try check(); return try await base.releaseShards(leases, owner: owner)
    }
    func timers(inShards shards: [Int], after: DueTimer?, limit: Int) async throws -> [DueTimer] {
        try check(); return try await base.timers(inShards: shards, after: after, limit: limit)
    }
    func close() async throws { try await base.close() }
}

/// The real engine, except that it throws for the accounts in `throwing`.
struct ThrowingDecider: CampaignDecider {
    struct Boom: Error {}
    let engine = CampaignEngine()
    let throwing: NIOLockedValueBox<Set<String>>

    func decide(_ state: AccountState, _ input: CampaignInput, now: Date,
                context: EngineContext) throws -> Result<Transition, AbmError> {
        if throwing.withLockedValue({ $0.contains(state.accountId) }) { throw Boom() }
        return try engine.decide(state, input, now: now, context: context)
    }

    func status(_ state: AccountState, now: Date) -> JSONValue? { engine.status(state, now: now) }
}

/// Every stored event, paged.
func allEvents(_ runtime: CampaignRuntime, after: Int64 = 0) async throws -> [StoredEvent] {
    var out: [StoredEvent] = []
    while true {
        let page = try await runtime.events(afterSeq: out.last?.seq ?? after, limit: 1000)
        if page.isEmpty { return out }
        out.append(contentsOf: page)
    }
}

/// Per account, the event bodies without `seq` (what passivation or batching must not change).
func behaviour(_ events: [StoredEvent]) -> [String: [String]] {
    var out: [String: [String]] = [:]
    for e in events {
        guard case .object(var o) = e.json else { continue }
        o["seq"] = nil
        out[e.accountId, default: []].append(String(decoding: JSONWriter.encode(.object(o)), as: UTF8.self))
    }
    return out
}
