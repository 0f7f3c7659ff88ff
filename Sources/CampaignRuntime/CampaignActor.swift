import AbmWire
import CampaignCore
import CampaignStore
import Foundation

/// One account's campaign: its decoded state, the engine, and the effects carried out.
///
/// Turns are strictly one at a time, in arrival order (an explicit FIFO, since actor methods that
/// `await` are re-entrant). A turn decides, hands the whole result (state, timer, events, request
/// reply, suppressions) to the group committer as one `AccountWrite`, and applies it in memory only
/// once the commit succeeded. Any failure (load, decode, a throwing decider, commit) marks the actor
/// broken: its queued turns are refused with `dropped`, and the coordinator replaces it with a fresh
/// one loaded from the store.
actor CampaignActor {
    enum Failure: Error {
        /// The actor broke during an earlier turn; ask the coordinator for a fresh one.
        case dropped
    }

    /// The result of one turn.
    struct Turn: Sendable {
        var result: Result<Outcome, AbmError>
        /// The `campaign` status object after the turn, when asked for.
        var status: JSONValue?
        /// The reply stored with the turn's write (nil when nothing was stored).
        var storedReply: Data?
        var events: [StoredEvent] = []
    }

    let accountId: String
    private let env: RuntimeEnvironment
    private var state: AccountState?
    private var loaded = false
    private var broken = false
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>]? = nil

    init(accountId: String, env: RuntimeEnvironment) {
        self.accountId = accountId
        self.env = env
    }

    /// Whether the account has stored state (false for an account that never had a campaign).
    var hasState: Bool { state != nil }

    /// Handles a request input. `makeReply` builds the reply stored with the write (idempotency).
    /// `now` is read from the clock when the turn starts (after the turns queued before it).
    func handle(_ input: CampaignInput, request: RequestKey?, wantsStatus: Bool,
                makeReply: @escaping @Sendable (Outcome, JSONValue?) -> Data) async throws -> Turn {
        await acquire()
        defer { release() }
        guard !broken else { throw Failure.dropped }
        do {
            return try await turn(input, now: env.clock.now, timerDue: nil, request: request, wantsStatus: wantsStatus,
                                  makeReply: makeReply)
        } catch {
            broken = true
            throw error
        }
    }

    /// Fires the account's timer due at `dueAt`; a no-op when that timer was replaced or cleared meanwhile.
    func fire(dueAt: Date, now: Date) async throws -> Turn? {
        await acquire()
        defer { release() }
        guard !broken else { throw Failure.dropped }
        guard env.timers.isCurrent(accountId, dueAt: dueAt) else { return nil }
        do {
            return try await turn(.timerFired(dueAt: dueAt), now: now, timerDue: dueAt, request: nil,
                                  wantsStatus: false, makeReply: nil)
        } catch {
            broken = true
            throw error
        }
    }

    /// The `campaign` object (protocols/abm-wire-v1.md §7.3), or nil when the account has no campaign.
    func status() async throws -> JSONValue? {
        try await reading { state, now in state.flatMap { env.decider.status($0, now: now) } }
    }

    /// The next touch rendered on a copy of the state (with `lead` applied first when given); nothing changes.
    func preview(lead: JSONValue?) async throws -> Result<JSONValue, AbmError> {
        try await reading { state, now in
            env.decider.preview(state ?? AccountState(accountId: accountId), lead: lead, now: now, context: env.engineContext)
        }
    }

    /// A read of the loaded state in its turn (after the turns queued before it); changes nothing.
    private func reading<T>(_ body: (AccountState?, Date) -> T) async throws -> T {
        await acquire()
        defer { release() }
        guard !broken else { throw Failure.dropped }
        do {
            try await ensureLoaded()
        } catch {
            broken = true
            throw error
        }
        return body(state, env.clock.now)
    }

    /// Loads the state now (benchmarks preload; otherwise the first turn loads it).
    func activate() async throws {
        await acquire()
        defer { release() }
        try await ensureLoaded()
    }

    // MARK: - Batched timer turns

    /// A timer turn decided and waiting for its commit. The actor keeps the turn (later turns queue)
    /// until `finishFire`.
    struct PreparedFire: Sendable {
        fileprivate let decided: Decided
        /// What to commit.
        var write: AccountWrite { decided.write! }
        /// The addresses the write sends a touch to.
        var touches: [String] { decided.touches }
    }

    enum FireStart: Sendable {
        /// A turn is running or queued (a request): fire through `fire(dueAt:now:)`, which queues behind it.
        case busy
        /// The timer was replaced or cleared meanwhile: nothing ran.
        case stale
        /// The decision stores nothing: the turn is over.
        case done
        /// Decided; commit `write`, then call `finishFire`.
        case prepared(PreparedFire)
    }

    /// First half of a timer turn fired in a batch: decides without waiting for a commit, so that the
    /// scheduler can commit many accounts' writes as one batch. Takes the turn only when the actor is
    /// idle. Throws like `fire` (the actor is then broken).
    func beginFire(dueAt: Date, now: Date) async throws -> FireStart {
        guard !busy else { return .busy }
        busy = true
        guard !broken else { release(); throw Failure.dropped }
        guard env.timers.isCurrent(accountId, dueAt: dueAt) else { release(); return .stale }
        do {
            try await ensureLoaded()
            let d = try decide(.timerFired(dueAt: dueAt), now: now, timerDue: dueAt, request: nil, wantsStatus: false,
                               makeReply: nil)
            guard d.write != nil else {
                apply(d)
                release()
                return .done
            }
            return .prepared(PreparedFire(decided: d))
        } catch {
            broken = true
            release()
            throw error
        }
    }

    /// Second half of a batched timer turn: applies the decision once `committed`, or breaks the actor
    /// when its write failed; then passes the turn on. A write refused because an address it touches was
    /// suppressed meanwhile (`SuppressedSinceDecision`) leaves the actor whole: nothing was applied, and
    /// the caller fires the timer again, which decides anew.
    func finishFire(_ prepared: PreparedFire, result: Result<[StoredEvent], any Error>) {
        switch result {
        case .success: apply(prepared.decided)
        case .failure(let error) where error is SuppressedSinceDecision: break
        case .failure: broken = true
        }
        release()
    }

    // MARK: - Batched request turns

    /// One request of a batch, for this account.
    struct BatchRequest: Sendable {
        var input: CampaignInput
        var key: RequestKey
    }

    /// A batch of this account's requests decided in order and waiting for their commit. The actor keeps
    /// the turn (later turns queue) until `finishBatch`.
    struct PreparedBatch: Sendable {
        fileprivate let decided: [Decided]
        /// What to commit, in order (one write per request that stores something). Stored, not computed:
        /// the batch path reads it more than once, and each read would copy every write.
        let writes: [AccountWrite]
        /// Per write, the addresses it sends a touch to.
        let touches: [[String]]

        fileprivate init(decided: [Decided]) {
            self.decided = decided
            writes = decided.compactMap(\.write)
            touches = decided.compactMap { $0.write == nil ? nil : $0.touches }
        }

        /// Per request, in order: the outcome, and the reply stored with it (nil when rejected).
        var results: [(result: Result<Outcome, AbmError>, reply: Data?)] {
            decided.map { ($0.result, $0.reply) }
        }
    }

    /// How `tryClaim` went.
    enum Claim: Sendable {
        /// A turn runs or is queued: send the requests through `handle`, which queues.
        case busy
        /// The turn is held; `loaded` tells whether the state was read from the store already (else the
        /// batch reads it with the others'). One call, so that a batch makes one hop per account here.
        case claimed(loaded: Bool)
    }

    /// Takes the turn when the actor is idle, without waiting.
    func tryClaim() -> Claim {
        guard !busy, !broken else { return .busy }
        busy = true
        return .claimed(loaded: loaded)
    }

    /// With the turn claimed: decides `requests` in order, each on the state the previous one left, without
    /// waiting for a commit. `preloaded`: the batch's read of this account (`.some(nil)`: it has no state),
    /// or nil to read it here. Throws like `handle` (the actor is then broken and the turn released).
    func decideBatch(_ requests: [BatchRequest], now: Date, preloaded: Data??,
                     makeReply: @escaping @Sendable (Outcome, JSONValue?) -> Data) async throws -> PreparedBatch {
        do {
            if !loaded {
                if let preloaded {
                    state = try preloaded.map { try env.codec.decode($0) }
                    loaded = true
                } else {
                    try await ensureLoaded()
                }
            }
            var decided: [Decided] = []
            decided.reserveCapacity(requests.count)
            var current: AccountState? = state
            for r in requests {
                let d = try decide(r.input, now: now, timerDue: nil, request: r.key, wantsStatus: false,
                                   makeReply: makeReply, on: .some(current))
                if let s = d.newState { current = s }
                decided.append(d)
            }
            return PreparedBatch(decided: decided)
        } catch {
            broken = true
            release()
            throw error
        }
    }

    /// Ends a claimed batch turn. `committed`: every write of the batch is durable (they commit together:
    /// see `GroupCommitter`); then the decisions are applied in order. Otherwise nothing is applied and the
    /// actor is broken, except after a `SuppressedSinceDecision` refusal (nothing stored, state intact).
    /// Returns whether the account has state afterwards (a new account whose lead was refused has none).
    @discardableResult
    func finishBatch(_ prepared: PreparedBatch, result: Result<Void, any Error>) -> Bool {
        switch result {
        case .success:
            for d in prepared.decided { apply(d) }
        case .failure(let error) where error is SuppressedSinceDecision:
            break
        case .failure:
            broken = true
        }
        release()
        return state != nil
    }

    /// Gives a claimed turn back without deciding anything.
    func releaseClaim() { release() }

    // MARK: - Erasure

    /// Erases a person from this account: the engine blanks the contact (`CampaignInput.erase`), and the
    /// stored events naming the person are rewritten in the same commit. Returns how many events were
    /// rewritten.
    func erase(email: String, emailSHA256: String) async throws -> Int {
        await acquire()
        defer { release() }
        guard !broken else { throw Failure.dropped }
        do {
            try await ensureLoaded()
            let now = env.clock.now
            let before = EventRedaction.personalStrings(in: state, email: email)
            var events: [StoredEvent] = []
            var after: Int64 = 0
            while true {
                let page = try await env.store.events(accountId: accountId, afterSeq: after, limit: 1000)
                events += page
                guard page.count == 1000, let last = page.last else { break }
                after = last.seq
            }
            let bodies = events.map { [UInt8]($0.body) }
            let personal = before + EventRedaction.personalStrings(inBodies: bodies, email: email)
            var rewrites: [EventRewrite] = []
            for (event, body) in zip(events, bodies) {
                if let new = EventRedaction.redact(body, email: email, personal: personal) {
                    rewrites.append(EventRewrite(seq: event.seq, body: Data(new)))
                }
            }
            // Decided again when the commit refuses a touch (re-planned to another contact) to an address
            // suppressed meanwhile, as in `turn`.
            for round in 0... {
                let d = try decide(.erase(email: email, emailSHA256: emailSHA256), now: now, timerDue: nil, request: nil,
                                   wantsStatus: false, makeReply: nil)
                var write = d.write ?? AccountWrite(accountId: accountId)
                write.epoch = env.ownership.epoch(write.shard) ?? 0
                write.erasure = ErasureWrite(email: email, emailSHA256: emailSHA256, eventRewrites: rewrites)
                do {
                    _ = try await env.committer.submit(write, touching: d.touches, urgent: true)
                } catch is SuppressedSinceDecision where round < 100 {
                    continue
                }
                apply(d)
                return rewrites.count
            }
            fatalError("unreachable")
        } catch {
            broken = true
            throw error
        }
    }

    // MARK: - The turn

    /// A decision turned into one `AccountWrite` (nil when there is nothing to store), not yet applied.
    fileprivate struct Decided: Sendable {
        var result: Result<Outcome, AbmError>
        var write: AccountWrite?
        var newState: AccountState?
        var timer: TimerChange = .unchanged
        var status: JSONValue?
        var reply: Data?
        /// The addresses the write sends a touch to.
        var touches: [String] = []
    }

    private func turn(_ input: CampaignInput, now: Date, timerDue: Date?, request: RequestKey?, wantsStatus: Bool,
                      makeReply: (@Sendable (Outcome, JSONValue?) -> Data)?) async throws -> Turn {
        try await ensureLoaded()
        // Decided again when the commit refuses a touch to an address suppressed meanwhile (each round
        // sees one more suppression, so this ends; the bound only guards against a bug).
        for round in 0... {
            let d = try decide(input, now: now, timerDue: timerDue, request: request, wantsStatus: wantsStatus,
                               makeReply: makeReply)
            var stored: [StoredEvent] = []
            if let write = d.write {
                do {
                    stored = try await env.committer.submit(write, touching: d.touches, urgent: input.isUrgent)
                } catch is SuppressedSinceDecision where round < 100 {
                    continue
                }
            }
            // Durable: now apply in memory.
            apply(d)
            return Turn(result: d.result, status: d.status, storedReply: d.reply, events: stored)
        }
        fatalError("unreachable")
    }

    private func decide(_ input: CampaignInput, now: Date, timerDue: Date?, request: RequestKey?, wantsStatus: Bool,
                        makeReply: (@Sendable (Outcome, JSONValue?) -> Data)?, on current: AccountState?? = .none) throws -> Decided {
        // `current`: the state left by the decisions of the same batch before this one (not yet applied).
        let base = (current ?? state) ?? AccountState(accountId: accountId)
        let transition: Transition
        switch try env.decider.decide(base, input, now: now, context: env.engineContext) {
        case .failure(let error):
            // Rejected: nothing is stored, the state stays as it was.
            return Decided(result: .failure(error))
        case .success(let t):
            transition = t
        }

        var write = AccountWrite(accountId: accountId)
        // Fenced by the store unless still this process's lease (0, never a lease epoch, when not owned).
        write.epoch = env.ownership.epoch(write.shard) ?? 0
        var touches: [String] = []
        let changed = transition.state != base
        if changed {
            write.state = try env.codec.encode(transition.state)
            write.index = CampaignListing.indexEntry(before: base, after: transition.state, now: now)
        }
        // A fired timer is spent unless the decision schedules the next one.
        var timer: TimerChange = timerDue == nil ? .unchanged : .clear
        for effect in transition.effects {
            switch effect {
            case .emit(let event):
                if let email = event.touchpoint?.contactEmail {
                    touches.append(email)
                }
                write.events.append(NewEvent(type: event.type.rawValue, accountId: event.accountId, campaignId: event.campaignId,
                                             at: event.at, body: env.eventEncoder.body(for: event)))
            case .schedule(let at):
                timer = .set(at)
            case .cancelTimer:
                timer = .clear
            case .suppress(let email):
                write.suppressions.append(email)
            }
        }
        write.timer = timer
        let status = wantsStatus ? env.decider.status(transition.state, now: now) : nil
        var reply: Data? = nil
        if let key = request, let makeReply {
            let data = makeReply(transition.outcome, status)
            write.request = (key, data)
            write.requestAt = now
            reply = data
        }
        let empty = write.state == nil && write.events.isEmpty && write.request == nil && write.suppressions.isEmpty
            && timer == .unchanged
        return Decided(result: .success(transition.outcome), write: empty ? nil : write,
                       newState: changed ? transition.state : nil, timer: timer, status: status, reply: reply,
                       touches: touches)
    }

    /// Applies a committed (or empty) decision in memory.
    private func apply(_ d: Decided) {
        if let s = d.newState { state = s }
        switch d.timer {
        case .set(let at):
            if env.timers.set(accountId, dueAt: at) { env.wake() }
        case .clear:
            env.timers.clear(accountId)
        case .unchanged:
            break
        }
    }

    private func ensureLoaded() async throws {
        guard !loaded else { return }
        if let data = try await env.store.loadState(accountId: accountId) {
            state = try env.codec.decode(data)
        }
        loaded = true
    }

    // MARK: - FIFO of turns

    private func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { c in
            if waiters == nil { waiters = [c] } else { waiters!.append(c) }
        }
    }

    private func release() {
        if var w = waiters, !w.isEmpty {
            let next = w.removeFirst()
            waiters = w.isEmpty ? nil : w
            next.resume()  // `busy` stays true: the turn passes to the next waiter.
        } else {
            busy = false
        }
    }
}

extension CampaignInput {
    /// Responses and operator commands go ahead of leads and timer turns in the commit queue.
    var isUrgent: Bool {
        switch self {
        case .response, .command, .erase: true
        case .lead, .timerFired: false
        }
    }
}
