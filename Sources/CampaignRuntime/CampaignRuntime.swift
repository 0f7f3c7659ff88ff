import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import Logging
import NIOConcurrencyHelpers

/// The campaign runtime: one actor per account campaign, a coordinator supervising them, a durable
/// scheduler, group commit and an outbox. This is the whole surface the gateway needs.
///
/// Lifecycle: `init` → `start()` (loads suppressions, the clock, republishes unpublished events,
/// loads pending timers, fires overdue ones once, late) → requests → `shutdown()` (drains).
///
/// Every request is acknowledged only after its effects are durably committed. Request ids are
/// idempotency keys (ingress and control are separate spaces): the reply is stored in the same
/// commit, and a repeated id gets the original reply with status `duplicate`.
public final class CampaignRuntime: Sendable {
    /// The runtime's clock (a `ManualClock` in tests and `--virtual-clock` mode).
    public let clock: any RuntimeClock

    /// Whether `advanceClock` is available (`--virtual-clock`).
    public var usesVirtualClock: Bool { clock is ManualClock }

    private enum Phase { case created, running, stopping, stopped }

    private struct Lifecycle {
        var phase = Phase.created
        var sweeper: Task<Void, Never>?
        var pruner: Task<Void, Never>?
        var inFlight = 0
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
        /// `stopTurns()` has finished: every turn is done and its writes committed.
        var turnsStopped = false
        /// `flushOutbox()` has begun (it runs once).
        var flushing = false
    }

    let store: any CampaignStorage
    let env: RuntimeEnvironment
    let coordinator: Coordinator
    private let scheduler: Scheduler
    let committer: GroupCommitter
    let outbox: Outbox
    let inFlight = InFlightRequests()
    /// Chains of batched requests that could not take the fast path (see `submit(batch:)`).
    let lanes = AccountLanes()
    let owner: String
    private let takesAllShardsAtStart: Bool
    private let idleSweepInterval: TimeInterval?
    private let retention: RetentionPolicy
    private let lifecycle = NIOLockedValueBox(Lifecycle())
    let logger: Logger

    /// - Parameters:
    ///   - decider: the campaign engine (`CampaignEngine(config:)`); tests may wrap it.
    ///   - publisher: receives committed events in seq order (the gateway's PUB socket).
    public init(store: any CampaignStorage, clock: any RuntimeClock, decider: any CampaignDecider = CampaignEngine(),
                publisher: any EventPublisher, configuration: RuntimeConfiguration = RuntimeConfiguration(),
                stateCodec: any StateCodec = CompactStateCodec(),
                eventEncoder: any EventBodyEncoder = JSONEventBodyEncoder()) {
        let logger = configuration.logger
        self.clock = clock
        self.store = store
        self.logger = logger
        let suppressions = SuppressionList()
        let ownership = ShardOwnership()
        let metrics = RuntimeMetrics(factory: configuration.metricsFactory)
        let outbox = Outbox(store: store, publisher: publisher, markEvery: configuration.markPublishedEvery,
                            logger: logger, metrics: metrics, feed: configuration.eventFeed, owner: configuration.owner,
                            liveness: configuration.liveness)
        let committer = GroupCommitter(store: store, outbox: outbox, suppressions: suppressions,
                                       maxBatch: configuration.maxCommitBatch, logger: logger, metrics: metrics)
        let wake = SchedulerWake()
        let env = RuntimeEnvironment(store: store, clock: clock, decider: decider, codec: stateCodec,
                                     eventEncoder: eventEncoder, committer: committer, timers: TimerIndex(),
                                     suppressions: suppressions, ownership: ownership, wake: wake, logger: logger)
        let coordinator = Coordinator(env: env, maxResident: configuration.maxResidentCampaigns,
                                      maxFailures: configuration.maxFailures,
                                      backoffBase: configuration.retryBackoff,
                                      backoffCap: configuration.maxRetryBackoff)
        let scheduler = Scheduler(clock: clock, timers: env.timers, coordinator: coordinator,
                                  groupLimit: configuration.timerGroupLimit,
                                  concurrency: configuration.timerConcurrency,
                                  afterAdvance: { [store, outbox, logger, ownership] now in
                                      // A fenced process writes nothing, not even the clock.
                                      do { if ownership.ownedCount > 0 { try await store.setMeta(CampaignRuntime.clockMetaKey, WireTime.format(now)) } }
                                      catch { logger.warning("could not store the clock", metadata: ["error": "\(error)"]) }
                                      await outbox.flush()
                                  })
        wake.attach(scheduler)
        self.env = env
        self.owner = configuration.owner
        self.takesAllShardsAtStart = configuration.takesAllShardsAtStart
        self.idleSweepInterval = configuration.idleSweepInterval
        self.retention = configuration.retention
        self.outbox = outbox
        self.committer = committer
        self.coordinator = coordinator
        self.scheduler = scheduler
    }

    /// The store meta key holding the virtual clock's last time (ISO-8601).
    public static let clockMetaKey = "clock"

    /// This node's id when it shares its store with other nodes (a cluster: `takesAllShardsAtStart` false),
    /// under which it keeps what is its own there (e.g. `clock.advance` replies: every node has its own
    /// virtual clock); nil with a store of its own.
    public var clusterNodeId: String? { takesAllShardsAtStart ? nil : owner }

    // MARK: - Lifecycle

    /// Loads what the runtime keeps in memory and starts firing timers. With a `ManualClock`, the clock
    /// first moves to the stored clock time when that is later (it never runs backwards).
    public func start() async throws {
        // Every shard, taken over from whoever wrote this store before: a process still running on it is
        // fenced from its next write on (the data directory lock keeps that from happening with SQLite).
        // In a cluster, none: `acquire(shards:)` takes them one placement round at a time.
        if takesAllShardsAtStart {
            env.ownership.acquired(try await store.acquireShards(Array(0..<shardCount), owner: owner))
        }
        env.suppressions.replace(with: try await store.suppressedEmails())
        if let manual = clock as? ManualClock {
            if let stored = try await store.meta(Self.clockMetaKey), let instant = WireTime.parse(stored) {
                manual.move(to: instant)
            }
            // The stored clock is written at the end of an advance; a crash in the middle of one leaves it
            // behind the events already committed. No event is stamped later than the clock that made it,
            // so the newest stamps are a floor for the clock.
            if let newest = try await newestEventTime() { manual.move(to: newest) }
            try await store.setMeta(Self.clockMetaKey, WireTime.format(manual.now))
        }
        try await outbox.republishBacklog()
        try await buildCampaignIndexIfMissing()
        // Every pending timer, paged in keyset order (~60 B each in memory). Overdue ones fire once,
        // late, as soon as the scheduler runs.
        let loaded = takesAllShardsAtStart ? try await loadTimers { after in try await self.store.timers(after: after, limit: 10_000) } : 0
        let sweeper = idleSweepInterval.map { interval in
            Task { [coordinator, logger] in
                // Wall-clock time on purpose: idleness is about memory, not campaign time.
                while (try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))) != nil {
                    let passivated = coordinator.sweepIdle()
                    if passivated > 0 { logger.debug("idle campaigns passivated", metadata: ["count": "\(passivated)"]) }
                }
            }
        }
        let pruner = (retention.events != nil || retention.requestIds != nil) ? Task { [weak self, retention, logger] in
            // Wall-clock pacing; the ages are on the runtime's clock (`prune`).
            while (try? await Task.sleep(nanoseconds: UInt64(retention.interval * 1e9))) != nil {
                guard let self else { return }
                do { _ = try await self.prune(retention) } catch {
                    logger.warning("retention pass failed", metadata: ["error": "\(error)"])
                }
            }
        } : nil
        lifecycle.withLockedValue {
            $0.phase = .running
            $0.sweeper = sweeper
            $0.pruner = pruner
        }
        await scheduler.start()
        logger.info("runtime started", metadata: ["timers": "\(loaded)"])
    }

    /// Stops firing timers (the timer turns already running finish); requests are still taken. The first
    /// step of a graceful stop after the gateway drained; `shutdown()` does it too.
    public func stopTimers() async {
        lifecycle.withLockedValue { $0.sweeper?.cancel(); $0.pruner?.cancel() }
        await scheduler.stop()
    }

    /// Stops taking requests and firing timers, lets the turns in flight finish, commits and publishes
    /// what is queued, then returns.
    public func shutdown() async {
        await stopTurns()
        await flushOutbox()
    }

    /// The first half of `shutdown()`: stops taking requests and firing timers, lets the turns in flight
    /// finish and waits for their writes to commit. Their events are published by `flushOutbox()`.
    public func stopTurns() async {
        let wasRunning = lifecycle.withLockedValue { l -> Bool in
            let running = l.phase == .running
            if l.phase != .stopped { l.phase = .stopping }
            return running
        }
        guard wasRunning else { return }
        lifecycle.withLockedValue { $0.sweeper?.cancel(); $0.pruner?.cancel() }
        await scheduler.stop()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = lifecycle.withLockedValue { l -> Bool in
                if l.inFlight == 0 { return true }
                l.drainWaiters.append(c)
                return false
            }
            if done { c.resume() }
        }
        await committer.waitIdle()
        lifecycle.withLockedValue { $0.turnsStopped = true }
    }

    /// The second half of `shutdown()`, after `stopTurns()`: publishes every committed event not published
    /// yet, stores the virtual clock and marks the runtime stopped. Once; a no-op until `stopTurns()` has
    /// finished (a flush while turns still commit would leave their events to the next start).
    public func flushOutbox() async {
        let first = lifecycle.withLockedValue { l -> Bool in
            guard l.turnsStopped, !l.flushing else { return false }
            l.flushing = true
            return true
        }
        guard first else { return }
        await outbox.flush()
        await outbox.stopFollowing()
        if let manual = clock as? ManualClock, env.ownership.ownedCount > 0 {
            try? await store.setMeta(Self.clockMetaKey, WireTime.format(manual.now))
        }
        lifecycle.withLockedValue { $0.phase = .stopped }
        logger.info("runtime stopped")
    }

    // MARK: - Ingress

    /// A lead (`lead` object of the ingress request). Rejected before routing when `account_id` is
    /// missing (`missing_field`) or not a non-empty string (`invalid_field`), field `lead.account_id`.
    public func submitLead(requestId: String, lead: JSONValue) async -> Ack {
        switch Self.route(.lead(id: requestId, lead: lead)) {
        case .failure(let error): return .rejected(error)
        case .success(let (accountId, input)):
            return await ingress(RequestKey(space: .ingress, id: requestId), accountId: accountId, input: input)
        }
    }

    /// A response (reply, unsubscribe, …). For an account without a campaign it is `not_found`, except
    /// `unsubscribe`, which is always recorded (the engine decides both).
    public func submitResponse(requestId: String, _ response: ResponseInput) async -> Ack {
        switch Self.route(.response(id: requestId, response)) {
        case .failure(let error): return .rejected(error)
        case .success(let (accountId, input)):
            return await ingress(RequestKey(space: .ingress, id: requestId), accountId: accountId, input: input)
        }
    }

    /// The account a request is about, and its engine input; refused before routing when a lead's
    /// `account_id` is missing (`missing_field`) or not a non-empty string (`invalid_field`, field
    /// `lead.account_id`), or a response's `account_id` is empty (`missing_field`).
    static func route(_ request: IngressRequest) -> Result<(String, CampaignInput), AbmError> {
        switch request {
        case .lead(_, let lead):
            switch lead["account_id"] {
            case nil, .null?:
                return .failure(AbmError(code: ErrorCode.missingField, message: "lead.account_id is required",
                                           field: "lead.account_id"))
            case .string(let s)? where !s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty:
                return .success((s, .lead(lead)))
            default:
                return .failure(AbmError(code: ErrorCode.invalidField,
                                           message: "lead.account_id must be a non-empty string",
                                           field: "lead.account_id"))
            }
        case .response(_, let response):
            guard !response.accountId.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                return .failure(AbmError(code: ErrorCode.missingField, message: "account_id is required",
                                           field: "account_id"))
            }
            return .success((response.accountId, .response(response)))
        }
    }

    func ingress(_ key: RequestKey, accountId: String, input: CampaignInput) async -> Ack {
        guard enter() else { return .rejected(Self.notRunning) }
        defer { leave() }
        switch await admit(key) {
        case .stored(let data):
            var ack = ReplyCoding.decode(Ack.self, data) ?? Ack(status: .accepted)
            ack.status = .duplicate
            return ack
        case .failed(let error):
            return .rejected(error)
        case .proceed:
            break
        }
        var storedReply: Data? = nil
        defer { inFlight.finish(key, storedReply: storedReply) }
        guard owns(accountId) else { return .rejected(Self.notOwnerError(accountId)) }
        guard !coordinator.isParked(accountId) else { return .rejected(Self.parkedError(accountId)) }
        do {
            let turn = try await runTurn(accountId, input, key: key, wantsStatus: false) { outcome, _ in
                Ack.storedAccepted(campaignId: outcome.campaignId, warnings: outcome.warnings)
            }
            storedReply = turn.storedReply
            if case .response = input, let last = turn.events.last?.seq {
                // "Once a response is acknowledged, no touch is emitted": a touch committed just before
                // the response must be out on the wire before the ack, not published after it.
                if await !outbox.waitPublished(upTo: last) { return .rejected(Self.unpublishedError) }
            }
            switch turn.result {
            case .success(let outcome):
                return Ack(status: .accepted, campaignId: outcome.campaignId, warnings: outcome.warnings)
            case .failure(let error):
                return .rejected(error)
            }
        } catch {
            return .rejected(await failed(accountId, error))
        }
    }

    // MARK: - Control

    /// `pause`, `resume` or `cancel`. `resume` also un-parks a parked campaign.
    public func command(requestId: String, accountId: String, _ command: CampaignCommand) async -> CommandReply {
        guard !accountId.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return .rejected(AbmError(code: ErrorCode.missingField, message: "account_id is required",
                                        field: "account_id"))
        }
        guard enter() else { return .rejected(Self.notRunning) }
        defer { leave() }
        let key = RequestKey(space: .control, id: requestId)
        switch await admit(key) {
        case .stored(let data):
            var reply = ReplyCoding.decode(CommandReply.self, data) ?? CommandReply(status: .accepted)
            reply.status = .duplicate
            return reply
        case .failed(let error):
            return .rejected(error)
        case .proceed:
            break
        }
        var storedReply: Data? = nil
        defer { inFlight.finish(key, storedReply: storedReply) }
        guard owns(accountId) else { return .rejected(Self.notOwnerError(accountId)) }
        if coordinator.isParked(accountId) {
            guard command == .resume else { return .rejected(Self.parkedError(accountId)) }
            unparkAndRetry(accountId)
        }
        do {
            let turn = try await runTurn(accountId, .command(command), key: key, wantsStatus: true) { _, status in
                ReplyCoding.encode(CommandReply(status: .accepted, campaign: status))
            }
            storedReply = turn.storedReply
            switch turn.result {
            case .success:
                return CommandReply(status: .accepted, campaign: turn.status)
            case .failure(let error):
                return .rejected(error)
            }
        } catch {
            return .rejected(await failed(accountId, error))
        }
    }

    /// A failed request turn: counts towards parking, unless the shard was taken over (then this process
    /// forgets it).
    func failed(_ accountId: String, _ error: any Error) async -> AbmError {
        if error.isFenced {
            await coordinator.shardLost(accountId)
            return Self.notOwnerError(accountId)
        }
        _ = coordinator.recordFailure(accountId, error: error, now: clock.now)
        return Self.unavailable(error)
    }

    func owns(_ accountId: String) -> Bool {
        env.ownership.owns(accountShard(accountId))
    }

    /// Un-parks a parked campaign and retries its pending timer at once. Returns whether it was parked.
    @discardableResult
    public func retry(accountId: String) async -> Bool {
        guard coordinator.isParked(accountId) else { return false }
        unparkAndRetry(accountId)
        return true
    }

    /// Accounts parked after repeated failures.
    public var parkedAccounts: [String] { coordinator.parkedAccounts }

    /// The `campaign` object (protocols/abm-wire-v1.md §7.3), plus `"parked": true` (and `failure`) when the campaign is
    /// parked; nil when the account never had a campaign.
    public func status(accountId: String) async -> JSONValue? {
        // A shard taken over by another process: this one's view of it is stale.
        guard owns(accountId) else {
            return ["account_id": .string(accountId), "parked": false,
                    "failure": .object(["message": .string(Self.notOwnerError(accountId).message)])]
        }
        if let record = coordinator.failureRecord(accountId), record.parked {
            var object = (try? await directStatus(accountId))?.objectValue ?? ["account_id": .string(accountId)]
            object["parked"] = true
            object["failure"] = .object(["count": .int(Int64(record.count)), "message": .string(record.lastError)])
            return .object(object)
        }
        do {
            let (status, actor, hasState) = try await coordinator.withActor(accountId) { actor in
                (try await actor.status(), actor, await actor.hasState)
            }
            coordinator.dropIfStateless(accountId, actor, hasState: hasState)
            return status
        } catch {
            // A read is not a failure of the campaign's handling: it never counts towards parking.
            return ["account_id": .string(accountId), "parked": false,
                    "failure": .object(["message": .string(String(describing: error))])]
        }
    }

    /// Campaigns for operators, ordered by account id (`CampaignFilter`).
    /// Throws an `AbmError` `invalid_field` (`limit`) for a limit outside 1...`CampaignFilter.maxLimit`,
    /// `unavailable` when the store cannot be read.
    public func campaigns(_ filter: CampaignFilter) async throws -> CampaignListing {
        guard (1...CampaignFilter.maxLimit).contains(filter.limit) else {
            throw AbmError(code: ErrorCode.invalidField,
                             message: "limit must be between 1 and \(CampaignFilter.maxLimit), got \(filter.limit)",
                             field: "limit")
        }
        let parked = Set(coordinator.parkedAccounts)
        var items: [CampaignListing.Item] = []
        func add(_ rows: [CampaignIndexEntry]) {
            for row in rows {
                guard let status = CampaignStatus(rawValue: row.status) else { continue }
                let isParked = parked.contains(row.accountId)
                if filter.parked == false && isParked { continue }
                items.append(.init(accountId: row.accountId, campaignId: row.campaignId, status: status,
                                   startedAt: row.startedAt, statusSince: row.statusSince, parked: isParked))
            }
        }
        do {
            if filter.parked == true {
                // The parked accounts in list order, looked up a chunk at a time (bounded SQL parameters).
                let prefix = filter.accountPrefix ?? ""
                let candidates = parked.filter { id in
                    id.utf8.starts(with: prefix.utf8) && filter.after.map { accountOrder($0, id) } ?? true
                }.sorted(by: accountOrder)
                var start = 0
                while items.count <= filter.limit, start < candidates.count {
                    let chunk = Array(candidates[start..<min(start + 500, candidates.count)])
                    add(try await store.campaigns(CampaignQuery(status: filter.status?.rawValue, accountIds: chunk,
                                                                limit: chunk.count)))
                    start += chunk.count
                }
            } else {
                var query = CampaignQuery(status: filter.status?.rawValue, accountPrefix: filter.accountPrefix,
                                          after: filter.after, limit: filter.limit + 1)
                // Not-parked lists skip the parked rows: pages until full (parked campaigns are few).
                while items.count <= filter.limit {
                    let rows = try await store.campaigns(query)
                    add(rows)
                    guard rows.count == query.limit, let last = rows.last else { break }
                    query.after = last.accountId
                }
            }
        } catch {
            throw Self.unavailable(error)
        }
        var more = false
        if items.count > filter.limit {
            items.removeLast(items.count - filter.limit)
            more = true
        }
        return CampaignListing(items: items, next: more ? items.last?.accountId : nil)
    }

    /// Counts of campaigns by status, in memory and stored, timers and the outbox.
    /// Throws `unavailable` when the store cannot be read.
    public func campaignStats() async throws -> CampaignStats {
        do {
            let counts = try await store.campaignCounts()
            var byStatus: [CampaignStatus: Int] = [:]
            for status in CampaignStatus.allCases { byStatus[status] = counts[status.rawValue] ?? 0 }
            let stored = try await store.accountCount()
            let resident = coordinator.residentCount
            let lastSeq = try await store.lastSeq()
            let published = await outbox.lastPublishedSeq
            var stats = CampaignStats(byStatus: byStatus, resident: resident, passivated: max(0, stored - resident),
                                      timersPending: env.timers.count, timersOverdue: env.timers.countDue(upTo: clock.now),
                                      parked: coordinator.parkedAccounts.count, outboxLag: max(0, lastSeq - published),
                                      lastSeq: lastSeq, publishedSeq: published)
            stats.prunedSeq = try await store.prunedSeq()
            return stats
        } catch {
            throw Self.unavailable(error)
        }
    }

    /// The store meta key set once the campaign index holds every stored campaign.
    static let campaignIndexMetaKey = "campaign_index.built"

    /// A store written before the campaign index existed: one pass over the stored states, once.
    private func buildCampaignIndexIfMissing() async throws {
        if try await store.meta(Self.campaignIndexMetaKey) != nil { return }
        var after: String? = nil
        var indexed = 0
        while true {
            let page = try await store.accounts(after: after, limit: 1000)
            guard let last = page.last else { break }
            var writes: [AccountWrite] = []
            for account in page {
                guard let state = try? env.codec.decode(account.state),
                      let entry = CampaignListing.indexEntry(for: state) else { continue }
                var write = AccountWrite(accountId: account.accountId)
                write.index = entry
                writes.append(write)
            }
            _ = try await store.commit(writes)
            indexed += writes.count
            after = last.accountId
        }
        try await store.setMeta(Self.campaignIndexMetaKey, "1")
        if indexed > 0 { logger.info("campaign index built", metadata: ["campaigns": "\(indexed)"]) }
    }

    /// The next touch of `accountId`'s campaign (after `lead`, when given), rendered and stored nowhere.
    public func preview(accountId: String, lead: JSONValue?) async throws -> Result<JSONValue, AbmError> {
        guard owns(accountId) else { return .failure(Self.notOwnerError(accountId)) }
        let (result, actor, hasState) = try await coordinator.withActor(accountId) { actor in
            (try await actor.preview(lead: lead), actor, await actor.hasState)
        }
        coordinator.dropIfStateless(accountId, actor, hasState: hasState)
        return result
    }

    /// The account's campaigns, earlier ones included, oldest first; nil when it never had one.
    public func campaignHistory(accountId: String) async throws -> JSONValue? {
        guard let status = await status(accountId: accountId), status["campaign_id"] != nil else { return nil }
        let events = try await history(accountId: accountId).compactMap { try? JSONParser.parse([UInt8]($0.body)) }
        return .array(CampaignExplainer.campaigns(events: events, status: status))
    }

    /// The campaign's decisions and why (`CampaignExplainer`); nil when the account has no campaign.
    public func explain(accountId: String) async throws -> JSONValue? {
        guard let status = await status(accountId: accountId), status["campaign_id"] != nil else { return nil }
        let events = try await history(accountId: accountId)
        // The current campaign's events (an account keeps its earlier campaigns' history too).
        let campaignId = status["campaign_id"]
        let bodies = events.compactMap { try? JSONParser.parse([UInt8]($0.body)) }.filter { $0["campaign_id"] == campaignId }
        return env.decider.explainer.explain(events: bodies, status: status)
    }

    /// One account's stored events, in order (at most `limit`, the oldest first).
    public func history(accountId: String, limit: Int = 10_000) async throws -> [StoredEvent] {
        var all: [StoredEvent] = []
        var after: Int64 = 0
        while all.count < limit {
            let page = try await store.events(accountId: accountId, afterSeq: after, limit: min(1000, limit - all.count))
            all += page
            guard page.count == 1000, let last = page.last else { break }
            after = last.seq
        }
        return all
    }

    /// Whether the runtime takes requests: started (recovery done: backlog republished, timers loaded),
    /// not stopping, owning its shards, and the store takes a write now (a small meta row).
    public func readiness() async -> Readiness {
        let phase = lifecycle.withLockedValue { $0.phase }
        guard phase == .running else {
            return .notReady(phase == .created ? "starting: recovery not finished" : "stopping")
        }
        // A cluster member may own nothing for a while (placement): it still answers, `not_owner`.
        guard env.ownership.ownedCount > 0 || !takesAllShardsAtStart else {
            return .notReady("fenced: another process took the store over")
        }
        do {
            try await store.setMeta(Self.readinessMetaKey, WireTime.format(clock.now))
            return .ready
        } catch {
            return .notReady("the store refused a write: \(error)")
        }
    }

    /// The meta row `readiness()` writes.
    static let readinessMetaKey = "readyz.probe"

    /// Stored events with `seq > afterSeq`, in order (replay).
    /// - Throws: `AbmError` `events_pruned` when retention removed events after `afterSeq`.
    public func events(afterSeq: Int64, limit: Int) async throws -> [StoredEvent] {
        let events = try await store.events(afterSeq: afterSeq, limit: limit)
        // Checked after the read: a pass pruning meanwhile cannot slip a gap past it.
        let pruned = try await store.prunedSeq()
        if afterSeq < pruned { throw Self.eventsPrunedError(afterSeq: afterSeq, prunedSeq: pruned) }
        return events
    }

    /// Virtual clock only: moves the clock `seconds` ahead, running everything due on the way in
    /// due-time order; returns the new time once all of it is committed and published.
    public func advanceClock(seconds: Double) async throws -> Date {
        try await advanceClock(to: advanceTarget(seconds: seconds))
    }

    /// The instant `clock.advance` by `seconds` goes to from now. Throws `not_virtual_clock` without the
    /// virtual clock, `invalid_field` (`seconds`) for a negative or non-finite value.
    public func advanceTarget(seconds: Double) throws -> Date {
        guard let manual = clock as? ManualClock else {
            throw AbmError(code: ErrorCode.notVirtualClock, message: "clock.advance needs --virtual-clock")
        }
        guard seconds >= 0, seconds.isFinite else {
            throw AbmError(code: ErrorCode.invalidField, message: "seconds must be ≥ 0 (the wire requires > 0)", field: "seconds")
        }
        return manual.now.addingTimeInterval(seconds)
    }

    /// Virtual clock only: moves the clock to `target` (nothing when it is there already), running
    /// everything due on the way; returns the new time once all of it is committed and published.
    public func advanceClock(to target: Date) async throws -> Date {
        guard let manual = clock as? ManualClock else {
            throw AbmError(code: ErrorCode.notVirtualClock, message: "clock.advance needs --virtual-clock")
        }
        if target > manual.now { await manual.advance(to: target) }
        return manual.now
    }

    /// Runs one idle sweep now (what the background sweeper does every `idleSweepInterval`); returns how
    /// many campaigns were passivated.
    @discardableResult
    public func sweepIdleCampaigns() -> Int { coordinator.sweepIdle() }

    /// Returns once everything due by now has fired and every committed event is published.
    public func settle() async {
        await scheduler.runDue()
        await committer.waitIdle()
        await outbox.flush()
    }

    /// Figures for logs and benchmarks.
    public func statistics() async -> RuntimeStatistics {
        let (commits, writes) = await committer.stats
        let (activations, passivations) = coordinator.counters
        return RuntimeStatistics(residentCampaigns: coordinator.residentCount, activations: activations,
                                 passivations: passivations, pendingTimers: env.timers.count,
                                 timersFired: await scheduler.fired, commits: commits, writesCommitted: writes,
                                 publishedSeq: await outbox.lastPublishedSeq)
    }

    // MARK: - Helpers

    private enum Admission {
        case proceed
        case stored(Data)
        case failed(AbmError)
    }

    /// Claims `key` (waiting for a concurrent request with the same id), then checks the store.
    private func admit(_ key: RequestKey) async -> Admission {
        while true {
            switch await inFlight.admit(key) {
            case .stored(let data): return .stored(data)
            case .again: continue
            case .proceed: break
            }
            do {
                if let data = try await store.reply(for: key) {
                    inFlight.finish(key, storedReply: data)
                    return .stored(data)
                }
                return .proceed
            } catch {
                inFlight.finish(key, storedReply: nil)
                return .failed(Self.unavailable(error))
            }
        }
    }

    private func runTurn(_ accountId: String, _ input: CampaignInput, key: RequestKey, wantsStatus: Bool,
                         makeReply: @escaping @Sendable (Outcome, JSONValue?) -> Data) async throws -> CampaignActor.Turn {
        let (turn, actor, hasState) = try await coordinator.withActor(accountId) { actor in
            let turn = try await actor.handle(input, request: key, wantsStatus: wantsStatus, makeReply: makeReply)
            return (turn, actor, await actor.hasState)
        }
        coordinator.recordSuccess(accountId)
        coordinator.dropIfStateless(accountId, actor, hasState: hasState)
        return turn
    }

    private func unparkAndRetry(_ accountId: String) {
        coordinator.unpark(accountId)
        if env.timers.retry(accountId, at: clock.now) { env.wake() }
        logger.info("campaign un-parked", metadata: ["account_id": "\(accountId)"])
    }

    /// The latest `at` among the last events of the log (nil when it is empty). Under the virtual clock
    /// events are committed in clock order, so the tail holds the newest stamps.
    private func newestEventTime() async throws -> Date? {
        let last = try await store.lastSeq()
        guard last > 0 else { return nil }
        return try await store.events(afterSeq: max(0, last - 1000), limit: 1000).map(\.at).max()
    }

    private func directStatus(_ accountId: String) async throws -> JSONValue? {
        guard let data = try await store.loadState(accountId: accountId) else { return nil }
        return env.decider.status(try env.codec.decode(data), now: clock.now)
    }

    func enter() -> Bool {
        lifecycle.withLockedValue { l in
            guard l.phase == .running else { return false }
            l.inFlight += 1
            return true
        }
    }

    func leave() {
        let waiters: [CheckedContinuation<Void, Never>] = lifecycle.withLockedValue { l in
            l.inFlight -= 1
            guard l.inFlight == 0 else { return [] }
            defer { l.drainWaiters = [] }
            return l.drainWaiters
        }
        for w in waiters { w.resume() }
    }

    static let notRunning = AbmError(code: ErrorCode.shuttingDown, message: "the runtime is not running")

    /// A response stored while this cluster node's liveness lease ran out: the events before it were not
    /// published here, so it is not acknowledged (a resend of the same id answers `duplicate` from its owner).
    static let unpublishedError = AbmError(code: ErrorCode.unavailable, message:
        "this node's liveness lapsed before the events ahead of this response were published; resend the same id")

    static func notOwnerError(_ accountId: String) -> AbmError {
        AbmError(code: ErrorCode.notOwner,
                   message: "account \(accountId) belongs to a shard this process does not own (another process owns it, or it is moving)",
                   field: "account_id")
    }

    static func parkedError(_ accountId: String) -> AbmError {
        AbmError(code: ErrorCode.parked,
                   message: "campaign \(accountId) is parked after repeated failures; resume or retry it",
                   field: "account_id")
    }

    static func unavailable(_ error: any Error) -> AbmError {
        AbmError(code: ErrorCode.unavailable,
                   message: "not applied (\(error)); retrying with the same id is safe")
    }
}

/// The answer of `CampaignRuntime.readiness()`.
public enum Readiness: Sendable, Equatable {
    case ready
    /// Why not, in words for an operator.
    case notReady(String)
}

/// Counters of a running runtime.
public struct RuntimeStatistics: Sendable, Equatable {
    public var residentCampaigns: Int
    public var activations: Int
    public var passivations: Int
    public var pendingTimers: Int
    public var timersFired: Int
    public var commits: Int
    public var writesCommitted: Int
    public var publishedSeq: Int64
}
