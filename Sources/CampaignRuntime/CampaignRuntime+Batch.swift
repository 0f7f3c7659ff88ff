import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import NIOConcurrencyHelpers

/// One request of an ingress batch, as the gateway decoded it.
public enum IngressRequest: Sendable {
    case lead(id: String, lead: JSONValue)
    case response(id: String, ResponseInput)

    public var id: String {
        switch self {
        case .lead(let id, _), .response(let id, _): id
        }
    }
}

/// The acks of a batch handed to `CampaignRuntime.submit(batch:)`, in request order, once its writes are
/// committed (and, for responses, every event up to them published).
public struct PendingAcks: Sendable {
    let task: Task<[Ack], Never>

    public var acks: [Ack] {
        get async { await task.value }
    }
}

/// A one-shot result handed from a lane's job to the batch waiting for it.
private typealias AckBox = OneShotValue<Ack>

extension CampaignRuntime {
    /// A whole batch of ingress requests (the gateway's poll batch): per account in arrival order, with one
    /// read of the batch's stored replies, one read of the states of accounts not in memory, one decision
    /// pass per account on its actor and one group-commit submission for all of them. Returns once the
    /// batch is decided and handed to the committer; its acks come with the commit (`PendingAcks`).
    ///
    /// Call it from one task per source of requests (each of the gateway's receive loops: the ingress socket,
    /// the internal ROUTER of a cluster node): arrival order per account and source is the order of these
    /// calls. Calls from different sources may run at once: an account whose turn is busy (claimed by the other
    /// call, a timer turn, an operator command, the previous batch's commit) takes the per-request path, in a
    /// lane that keeps its order (`AccountLanes`).
    public func submit(batch requests: [IngressRequest]) async -> PendingAcks {
        guard enter() else {
            let refused = requests.map { _ in Ack.rejected(Self.notRunning) }
            return PendingAcks(task: Task { refused })
        }
        var acks = [Ack?](repeating: nil, count: requests.count)
        var routed: [(accountId: String, input: CampaignInput, key: RequestKey)?] = []
        routed.reserveCapacity(requests.count)
        var order: [String] = []
        var byAccount: [String: [Int]] = [:]
        for (i, r) in requests.enumerated() {
            switch Self.route(r) {
            case .failure(let error):
                acks[i] = .rejected(error)
                routed.append(nil)
            case .success(let (accountId, input)):
                routed.append((accountId, input, RequestKey(space: .ingress, id: r.id)))
                if byAccount[accountId] == nil { order.append(accountId) }
                byAccount[accountId, default: []].append(i)
            }
        }

        // Who takes the batch path: accounts owned, not parked, with no lane and an idle turn.
        var fast: [(accountId: String, actor: CampaignActor, requests: [Int], loaded: Bool)] = []
        var laned: [(index: Int, box: AckBox)] = []
        var sameIdBoxes: [(index: Int, box: AckBox)] = []
        for accountId in order {
            let indices = byAccount[accountId]!
            if !owns(accountId) {
                for i in indices { acks[i] = .rejected(Self.notOwnerError(accountId)) }
                continue
            }
            if coordinator.isParked(accountId) {
                for i in indices { acks[i] = .rejected(Self.parkedError(accountId)) }
                continue
            }
            if !lanes.isBusy(accountId) {
                let actor = coordinator.checkout(accountId)
                if case .claimed(let loaded) = await actor.tryClaim() {
                    var claimed: [Int] = []
                    var sameId: [Int] = []
                    for i in indices {
                        if inFlight.tryAdmit(routed[i]!.key) { claimed.append(i) } else { sameId.append(i) }
                    }
                    fast.append((accountId, actor, claimed, loaded))
                    // The same id twice at once: the later one waits for the first (then replays its stored
                    // reply, or is applied if the first stored nothing), in the account's lane so that it
                    // keeps its place behind this batch.
                    for i in sameId {
                        let box = AckBox()
                        let (a, input, key) = routed[i]!
                        lanes.submit(accountId) { box.fulfil(await self.ingress(key, accountId: a, input: input)) }
                        sameIdBoxes.append((i, box))
                    }
                    continue
                }
                coordinator.checkin(accountId, actor)
            }
            for i in indices {
                let box = AckBox()
                let (a, input, key) = routed[i]!
                lanes.submit(accountId) { box.fulfil(await self.ingress(key, accountId: a, input: input)) }
                laned.append((i, box))
            }
        }
        let runtime = self
        let task = Task { [routed, fast, laned, sameIdBoxes, acks] in
            var acks = acks
            await runtime.decideAndCommit(fast, routed: routed, acks: &acks)
            for (i, box) in laned { acks[i] = await box.value }
            for (i, box) in sameIdBoxes { acks[i] = await box.value }
            runtime.leave()
            return acks.map { $0 ?? .rejected(Self.notRunning) }
        }
        return PendingAcks(task: task)
    }

    /// The batch path proper: every account in `fast` holds its turn.
    private func decideAndCommit(_ fast: [(accountId: String, actor: CampaignActor, requests: [Int], loaded: Bool)],
                                 routed: [(accountId: String, input: CampaignInput, key: RequestKey)?],
                                 acks: inout [Ack?]) async {
        // 1. Ids seen before: one read for the batch.
        let keys = fast.flatMap { $0.requests.map { routed[$0]!.key } }
        let stored: [RequestKey: Data]
        do {
            stored = try await store.replies(for: keys)
        } catch {
            for f in fast {
                await f.actor.releaseClaim()
                coordinator.checkin(f.accountId, f.actor)
                for i in f.requests {
                    acks[i] = .rejected(Self.unavailable(error))
                    inFlight.finish(routed[i]!.key, storedReply: nil)
                }
            }
            return
        }
        var work: [(accountId: String, actor: CampaignActor, requests: [Int])] = []
        var unloaded: [String] = []
        for f in fast {
            var fresh: [Int] = []
            for i in f.requests {
                let key = routed[i]!.key
                if let data = stored[key] {
                    var ack = ReplyCoding.decode(Ack.self, data) ?? Ack(status: .accepted)
                    ack.status = .duplicate
                    acks[i] = ack
                    inFlight.finish(key, storedReply: data)
                } else {
                    fresh.append(i)
                }
            }
            if fresh.isEmpty {
                await f.actor.releaseClaim()
                coordinator.checkin(f.accountId, f.actor)
            } else {
                work.append((f.accountId, f.actor, fresh))
                if !f.loaded { unloaded.append(f.accountId) }
            }
        }

        // 2. States of the accounts not in memory: one read (a failing read leaves each to read its own).
        let states = unloaded.isEmpty ? [:] : try? await store.loadStates(accountIds: unloaded)
        let unloadedSet = Set(unloaded)

        // 3–4. Decide, account by account, each on its own actor; commit. Accounts answering a response go
        //      first and in an urgent submission of their own (committed ahead of queued leads and timer
        //      turns), so a reply's pause (its events, published once committed) waits neither for the
        //      batch's leads to be decided nor committed. The batch's acks still go out together.
        let now = clock.now
        let makeReply: @Sendable (Outcome, JSONValue?) -> Data = { outcome, _ in
            Ack.storedAccepted(campaignId: outcome.campaignId, warnings: outcome.warnings)
        }
        typealias Prepared = (accountId: String, actor: CampaignActor, requests: [Int], batch: CampaignActor.PreparedBatch)
        func decideAll(_ part: [(accountId: String, actor: CampaignActor, requests: [Int])]) async -> [Prepared] {
            var prepared: [Prepared] = []
            prepared.reserveCapacity(part.count)
            for w in part {
                // `.some(nil)`: read, no state (a new account); nil: not read here.
                var preloaded: Data?? = nil
                if unloadedSet.contains(w.accountId), let states { preloaded = .some(states[w.accountId]) }
                do {
                    let batch = try await w.actor.decideBatch(
                        w.requests.map { CampaignActor.BatchRequest(input: routed[$0]!.input, key: routed[$0]!.key) },
                        now: now, preloaded: preloaded, makeReply: makeReply)
                    prepared.append((w.accountId, w.actor, w.requests, batch))
                } catch {
                    coordinator.checkin(w.accountId, w.actor, drop: true)
                    let reply = await failed(w.accountId, error)
                    for i in w.requests {
                        acks[i] = .rejected(reply)
                        inFlight.finish(routed[i]!.key, storedReply: nil)
                    }
                }
            }
            return prepared
        }
        let urgentWork = work.filter { w in w.requests.contains { routed[$0]!.input.isUrgent } }
        let normalWork = work.filter { w in !w.requests.contains { routed[$0]!.input.isUrgent } }
        let urgentPrepared = await decideAll(urgentWork)
        async let urgentResults = urgentPrepared.isEmpty ? [] : committer.submit(
            batch: urgentPrepared.flatMap(\.batch.writes), touching: urgentPrepared.flatMap(\.batch.touches), urgent: true)
        let normalPrepared = await decideAll(normalWork)
        let normalResults = normalPrepared.isEmpty ? [] : await committer.submit(
            batch: normalPrepared.flatMap(\.batch.writes), touching: normalPrepared.flatMap(\.batch.touches))
        let prepared = urgentPrepared + normalPrepared
        let results = await urgentResults + normalResults

        // 5. Apply, answer.
        var offset = 0
        var lastSeq: Int64 = 0
        var answersResponse = false
        accounts: for prepared in prepared {
            var p = prepared
            let count = p.batch.writes.count
            var mine = Array(results[offset..<offset + count])
            offset += count
            let answers = p.requests.contains { routed[$0]!.input.isUrgent }
            // Decided before an address it touches was suppressed (nothing of it stored): decided again on
            // the turn still held, so no later request of the account can overtake it; each round sees one
            // more suppression (the bound only guards against a bug).
            var rounds = 0
            while rounds < 100, mine.contains(where: { if case .failure(let e) = $0 { e is SuppressedSinceDecision } else { false } }) {
                rounds += 1
                do {
                    p.batch = try await p.actor.decideBatch(
                        p.requests.map { CampaignActor.BatchRequest(input: routed[$0]!.input, key: routed[$0]!.key) },
                        now: now, preloaded: nil, makeReply: makeReply)
                } catch {
                    // The actor is broken and its turn given back (`decideBatch`).
                    coordinator.checkin(p.accountId, p.actor, drop: true)
                    let reply = await failed(p.accountId, error)
                    for i in p.requests {
                        acks[i] = .rejected(reply)
                        inFlight.finish(routed[i]!.key, storedReply: nil)
                    }
                    continue accounts
                }
                mine = p.batch.writes.isEmpty ? [] : await committer.submit(
                    batch: p.batch.writes, touching: p.batch.touches, urgent: answers)
            }
            var failure: (any Error)?
            for r in mine {
                switch r {
                case .success(let events): if answers { lastSeq = max(lastSeq, events.last?.seq ?? 0) }
                case .failure(let error): failure = failure ?? error
                }
            }
            if let failure {
                await p.actor.finishBatch(p.batch, result: .failure(failure))
                coordinator.checkin(p.accountId, p.actor, drop: true)
                let reply = await failed(p.accountId, failure)
                for i in p.requests {
                    acks[i] = .rejected(reply)
                    inFlight.finish(routed[i]!.key, storedReply: nil)
                }
                continue
            }
            let hasState = await p.actor.finishBatch(p.batch, result: .success(()))
            coordinator.checkin(p.accountId, p.actor)
            coordinator.recordSuccess(p.accountId)
            coordinator.dropIfStateless(p.accountId, p.actor, hasState: hasState)
            for (i, r) in zip(p.requests, p.batch.results) {
                switch r.result {
                case .success(let outcome):
                    acks[i] = Ack(status: .accepted, campaignId: outcome.campaignId, warnings: outcome.warnings)
                    if case .response = routed[i]!.input { answersResponse = true }
                case .failure(let error):
                    acks[i] = .rejected(error)
                }
                inFlight.finish(routed[i]!.key, storedReply: r.reply)
            }
        }
        if answersResponse, lastSeq > 0 {
            // As for a single response: every event committed up to it is out before its ack.
            if await !outbox.waitPublished(upTo: lastSeq) {
                for f in work {
                    for i in f.requests where acks[i]?.status == .accepted {
                        if case .response = routed[i]!.input { acks[i] = .rejected(Self.unpublishedError) }
                    }
                }
            }
        }
    }
}
