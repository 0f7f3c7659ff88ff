import AbmWire
import Foundation

/// One decision for an account that runs campaigns of several playbooks side by side (docs/campaign-behaviour.md,
/// "Several playbooks on one account"): `AccountState.campaign` and `AccountState.others`. Each campaign is
/// decided alone by `Playbooks.decideOne` (its own version's engine), and this arbitrates between them:
/// - one touch per person per `response_timeout_hours` across all of them (`EngineContext.touchedElsewhere`,
///   delay `other_playbook`);
/// - campaigns due at once step in `priority` order (higher first), so the higher one's touch goes out and the
///   other's waits;
/// - a response goes to every campaign with that contact, and one that pauses a campaign pauses the others whose
///   playbook says `pause_on_account_response` (default true);
/// - `pause`, `resume`, `cancel` and `erase` act on all; `step` on the campaign holding the next touch;
///   `migrate` on the campaign of its playbook;
/// - the account keeps one timer: the earliest planned touch of its active campaigns.
struct SeveralPlaybooks {
    /// A campaign's place: `nil` is `AccountState.campaign`, an index one of `others`.
    typealias Slot = Int?

    let books: Playbooks
    var state: AccountState
    let now: Date
    let context: EngineContext
    var effects: [Effect] = []
    var warnings: [String] = []

    init(books: Playbooks, state: AccountState, now: Date, context: EngineContext) {
        self.books = books
        self.state = state
        self.now = now
        self.context = context
    }

    func campaign(_ slot: Slot) -> CampaignState? {
        slot.map { state.others[$0] } ?? state.campaign
    }

    /// Every place holding a campaign, `campaign` first.
    var slots: [Slot] { (state.campaign == nil ? [] : [nil]) + state.others.indices.map { $0 } }

    func running(_ slot: Slot) -> Bool { campaign(slot)?.isRunning ?? false }

    func playbookName(_ slot: Slot) -> String? { campaign(slot).map { ($0.playbook ?? .legacy).name } }

    mutating func decide(_ input: CampaignInput) -> Result<Transition, AbmError> {
        var outcomeCampaign: String?
        switch input {
        case .lead(let lead):
            let ref: PlaybookRef
            switch books.playbook(named: lead["playbook"]) {
            case .success(let r): ref = r
            case .failure(let e): return .failure(e)
            }
            if let slot = slots.first(where: { running($0) && playbookName($0) == ref.name }) {
                switch run(slot, input) {
                case .success(let o): outcomeCampaign = o.campaignId
                case .failure(let e): return .failure(e)
                }
            } else if !running(nil) {
                switch run(nil, input) {
                case .success(let o): outcomeCampaign = o.campaignId
                case .failure(let e): return .failure(e)
                }
            } else {
                switch startBeside(input) {
                case .success(let o): outcomeCampaign = o.campaignId
                case .failure(let e): return .failure(e)
                }
            }
        case .response(let response):
            if case .failure(let e) = respond(response, input) { return .failure(e) }
        case .command(.pause), .command(.resume), .command(.cancel):
            let targets = slots.filter(running)
            if case .failure(let e) = runAll(targets.isEmpty ? [nil] : targets, input) { return .failure(e) }
        case .command(.step):
            guard let holder = Self.holderSlot(state) else {
                if case .failure(let e) = run(nil, input) { return .failure(e) }
                break
            }
            if case .failure(let e) = run(holder, input) { return .failure(e) }
        case .command(.migrate(let name, _)):
            let slot = slots.first { running($0) && playbookName($0) == name } ?? nil
            if case .failure(let e) = run(slot, input) { return .failure(e) }
        case .timerFired(let dueAt):
            // Those due, higher priority first (then earlier, then in place order): each sees the touches of
            // those before it.
            let due = slots.filter { slot in
                guard let c = campaign(slot), c.status == .active, let at = c.nextDueAt else { return false }
                return at.timeIntervalSince1970 <= dueAt.timeIntervalSince1970 + 0.0005
            }.sorted { a, b in
                let pa = priority(a), pb = priority(b)
                if pa != pb { return pa > pb }
                return campaign(a)!.nextDueAt! < campaign(b)!.nextDueAt!
            }
            for slot in due {
                // A timer for one campaign is no failure of another: each is decided on its own.
                _ = run(slot, .timerFired(dueAt: campaign(slot)!.nextDueAt!))
            }
        case .erase:
            if case .failure(let e) = runAll(slots, input) { return .failure(e) }
        }
        // Campaigns beside the first leave when they end (their events stay).
        state.others.removeAll { !$0.isRunning }
        if let next = slots.compactMap({ s -> Date? in campaign(s)?.status == .active ? campaign(s)?.nextDueAt : nil }).min() {
            effects.append(.schedule(at: next))
        } else {
            effects.append(.cancelTimer)
        }
        return .success(Transition(state: state, effects: effects,
                                   outcome: Outcome(campaignId: outcomeCampaign ?? state.campaign?.id, warnings: warnings)))
    }

    private func priority(_ slot: Slot) -> Int { books.engine(for: campaign(slot)?.playbook).config.priority }

    /// The last touch of each person by the account's campaigns other than `slot`.
    private func touches(besides slot: Slot) -> [String: Date] {
        var out: [String: Date] = [:]
        for s in slots where s != slot {
            for c in campaign(s)!.contacts {
                if let t = c.lastTouchAt, t > (out[c.email] ?? .distantPast) { out[c.email] = t }
            }
        }
        return out
    }

    /// Decides `input` for one campaign alone and keeps what it did.
    @discardableResult
    private mutating func run(_ slot: Slot, _ input: CampaignInput) -> Result<Outcome, AbmError> {
        var one = AccountState(accountId: state.accountId)
        one.campaignsStarted = state.campaignsStarted
        one.campaign = campaign(slot)
        return decideAlone(one, slot, input).map { t in
            state.campaignsStarted = t.state.campaignsStarted
            if let slot { state.others[slot] = t.state.campaign! } else { state.campaign = t.state.campaign }
            return t.outcome
        }
    }

    /// A new campaign of the lead's playbook beside the running ones. It is started as after a finished
    /// campaign (`campaign` seen as ended), so it knows who already answered the account.
    private mutating func startBeside(_ input: CampaignInput) -> Result<Outcome, AbmError> {
        var one = AccountState(accountId: state.accountId)
        one.campaignsStarted = state.campaignsStarted
        one.campaign = state.campaign
        one.campaign?.status = .completed
        // -1: no place yet, so every running campaign's touches count.
        return decideAlone(one, -1, input).map { t in
            state.campaignsStarted = t.state.campaignsStarted
            state.others.append(t.state.campaign!)
            return t.outcome
        }
    }

    private mutating func decideAlone(_ one: AccountState, _ slot: Slot, _ input: CampaignInput) -> Result<Transition, AbmError> {
        var ctx = context
        ctx.touchedElsewhere = touches(besides: slot)
        return books.decideOne(one, input, now: now, context: ctx).map { t in
            for e in t.effects {
                switch e {
                case .schedule, .cancelTimer: break  // one timer for the account, set at the end
                default: effects.append(e)
                }
            }
            warnings += t.outcome.warnings
            return t
        }
    }

    /// Runs `input` on each of `targets`; fails only when every one failed (with the first failure).
    private mutating func runAll(_ targets: [Slot], _ input: CampaignInput) -> Result<Void, AbmError> {
        var firstError: AbmError?
        var succeeded = false
        for slot in targets {
            switch run(slot, input) {
            case .success: succeeded = true
            case .failure(let e): firstError = firstError ?? e
            }
        }
        if succeeded || firstError == nil { return .success(()) }
        return .failure(firstError!)
    }

    /// A response: to each running campaign with the contact (else to the first campaign, which remembers an
    /// address that is no contact); a campaign it paused pauses the others that say so.
    private mutating func respond(_ response: ResponseInput, _ input: CampaignInput) -> Result<Void, AbmError> {
        let email = response.contactEmail?.trimmingCharacters(in: .whitespaces).lowercased()
        let targets = slots.filter { slot in
            guard running(slot), let c = campaign(slot) else { return false }
            if let email, c.index(ofEmail: email) != nil { return true }
            if let id = response.contactId, c.index(ofId: id) != nil { return true }
            return false
        }
        let before = Dictionary(uniqueKeysWithValues: slots.map { ($0.map { $0 + 1 } ?? 0, campaign($0)!.status) })
        if case .failure(let e) = runAll(targets.isEmpty ? [slots.first { running($0) } ?? nil] : targets, input) {
            return .failure(e)
        }
        let paused = targets.compactMap { slot -> String? in
            guard before[slot.map { $0 + 1 } ?? 0] == .active, let c = campaign(slot), c.status == .paused else { return nil }
            return c.reason ?? PauseReason.responded.rawValue
        }
        guard let reason = paused.first else { return .success(()) }
        for slot in slots where campaign(slot)?.status == .active
            && books.engine(for: campaign(slot)?.playbook).config.pauseOnAccountResponse {
            run(slot, .command(.pause(reason: reason)))
        }
        return .success(())
    }

    /// The active campaign holding the account's next touch: the earliest planned (the first in place order on
    /// a tie; the timer then steps them by priority).
    static func holderSlot(_ state: AccountState) -> Slot? {
        let all: [(Slot, CampaignState)] = (state.campaign.map { [(nil, $0)] } ?? []) + state.others.enumerated().map { ($0.offset, $0.element) }
        return all.filter { $0.1.status == .active && $0.1.nextDueAt != nil }
            .min { a, b in a.1.nextDueAt! < b.1.nextDueAt! }?.0
    }

    static func holder(_ state: AccountState) -> CampaignState? {
        holderSlot(state).map { slot in slot.map { state.others[$0] } ?? state.campaign! }
    }

    /// `account_next` of the status: `{campaign_id, playbook, due_at, contact_id, why}`, or null when no
    /// campaign of the account has a touch planned.
    static func nextTouchHolder(_ state: AccountState, books: Playbooks) -> JSONValue {
        guard let camp = holder(state), let next = camp.next else { return .null }
        let running = ([state.campaign].compactMap { $0 } + state.others).filter(\.isRunning)
        let name = (camp.playbook ?? .legacy).name
        let priority = books.engine(for: camp.playbook).config.priority
        var why = "the earliest planned touch of the account's \(running.count) running campaigns (playbook \(name), priority \(priority))"
        if let delay = next.delay { why += "; it waits for \(delay.rawValue)" }
        return ["campaign_id": .string(camp.id), "playbook": .string(name), "due_at": .string(ISOTime.format(next.dueAt.timeIntervalSince1970)),
                "contact_id": .string(next.contactId), "why": .string(why)]
    }
}
