import AbmWire
import Foundation

/// Everything the engine remembers about one account: its current (or last) campaign and what it needs
/// to start the next one. Persisted by the runtime as JSON; kept small (no rendered texts).
public struct AccountState: Codable, Sendable, Equatable {
    public var accountId: String
    /// How many campaigns this account has had; the next campaign id derives from it.
    public var campaignsStarted: Int
    /// The running campaign, or the last one (completed or cancelled), or nil when there never was one.
    public var campaign: CampaignState?
    /// Campaigns of other playbooks running on the account beside `campaign` (docs/campaign-behaviour.md,
    /// "Several playbooks on one account"); each leaves the list when it ends. Usually empty.
    public var others: [CampaignState] = []

    enum CodingKeys: String, CodingKey {
        case accountId = "account", campaignsStarted = "started", campaign, others
    }

    public init(accountId: String) {
        self.accountId = accountId
        self.campaignsStarted = 0
        self.campaign = nil
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        accountId = try c.decode(String.self, forKey: .accountId)
        campaignsStarted = try c.decode(Int.self, forKey: .campaignsStarted)
        campaign = try c.decodeIfPresent(CampaignState.self, forKey: .campaign)
        others = try c.decodeIfPresent([CampaignState].self, forKey: .others) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(accountId, forKey: .accountId)
        try c.encode(campaignsStarted, forKey: .campaignsStarted)
        try c.encodeIfPresent(campaign, forKey: .campaign)
        // Omitted when empty: the common case stays compact.
        if !others.isEmpty { try c.encode(others, forKey: .others) }
    }
}

/// The pure campaign state machine: `(state, input, now) -> (state, effects)`.
///
/// Deterministic: the same state, input, `now` and context always give the same transition.
/// A failure applies nothing (the caller keeps the old state). `now` is truncated to whole milliseconds.
///
/// Ids: campaign `<account_id>-c<n>` (n counts the account's campaigns), touchpoint `<campaign_id>:<step>`,
/// generated contact ids `contact-<n>`.
///
/// The rules, each with its test: docs/campaign-behaviour.md (details in the doc comments of each part):
/// - Timing (`Engine+Steps.swift`): intervals are calendar days in the chosen contact's zone (wall-clock time kept
///   across DST); colleague delay and minimum gap are absolute durations; a colleague is never touched before the
///   primary unless the primary can no longer be reached; focus steps wait for the top contact; out-of-office and
///   the gap let another contact in play take the step. A due time equal to `now` is emitted in the same
///   transition (a lead inside the window gets its first touch at once).
/// - Leads (`Engine+Lead.swift`): duplicates fill missing fields; an id held by another person refuses the lead
///   (`invalid_field` naming the contact's `id`); already-suppressed contacts are kept (state `suppressed`) and never touched; lead metadata
///   `meeting_scheduled` is a conflict (checked only with `conflict_check_enabled`).
/// - Responses (`Engine+Response.swift`): unknown `contact_id` is `not_found`; a bounce is local to the campaign,
///   an unsubscribe global; answers from addresses not (yet) contacts are remembered for later leads.
/// - Messages (`MessageRenderer`, `TemplateSet`): unknown names greet "there" and are shown by address elsewhere;
///   colleague references are omitted when the primary unsubscribed; an unclean user template falls back to the
///   built-in one; a message that is still unclean blocks that contact (`conflict.detected`, `message_not_clean`).
/// - Timers (`handleTimer`): a timer whose due time is earlier than the planned one is stale and ignored; a late
///   one (handled after its due time) sends the planned touch once, at the firing instant moved into the contact's
///   window, stamped with that instant (`planned_at` carries the planned one); the next interval counts from the
///   actual send. See docs/campaign-behaviour.md.
public struct CampaignEngine: Sendable {
    public let config: CampaignConfig
    /// `EngineContext.touchedElsewhere` in seconds, for `readiness` (empty unless the account runs several playbooks).
    var elsewhere: [String: Double] = [:]

    public init(config: CampaignConfig = .default) {
        self.config = config
    }

    public func handle(_ state: AccountState, _ input: CampaignInput, now: Date,
                       context: EngineContext = EngineContext()) -> Result<Transition, AbmError> {
        guard context.touchedElsewhere.isEmpty else {
            var engine = self
            engine.elsewhere = context.touchedElsewhere.mapValues(\.timeIntervalSince1970)
            return engine.decide(state, input, now: now, context: context)
        }
        return decide(state, input, now: now, context: context)
    }

    private func decide(_ state: AccountState, _ input: CampaignInput, now: Date,
                        context: EngineContext) -> Result<Transition, AbmError> {
        var work = Work(state: state, context: context)
        // Whole milliseconds: every instant the engine stores or schedules survives ISO-8601 and SQL round trips.
        let now = (now.timeIntervalSince1970 * 1000).rounded(.down) / 1000
        let result: Result<Void, AbmError>
        switch input {
        case .lead(let lead):
            result = handleLead(lead, now: now, work: &work)
        case .response(let response):
            result = handleResponse(response, now: now, work: &work)
        case .command(let command):
            result = handleCommand(command, now: now, work: &work)
        case .timerFired(let dueAt):
            handleTimer(dueAt: (dueAt.timeIntervalSince1970 * 1000).rounded(.down) / 1000, now: now, work: &work)
            result = .success(())
        case .erase(let email, let hash):
            handleErase(email: email, emailSHA256: hash, now: now, work: &work)
            result = .success(())
        }
        switch result {
        case .failure(let e): return .failure(e)
        case .success:
            return .success(Transition(state: work.state, effects: work.effects,
                                       outcome: Outcome(campaignId: work.outcomeCampaignId ?? work.state.campaign?.id,
                                                        warnings: work.warnings)))
        }
    }

    /// The `campaign` object of the `status` reply (protocols/abm-wire-v1.md §7.3), or nil when the account never had one.
    public func status(_ state: AccountState, now: Date) -> JSONValue? {
        StatusView.render(state, config: config, now: now.timeIntervalSince1970)
    }
}

/// A decision in progress: the state being changed and what the runtime must do afterwards.
struct Work {
    var state: AccountState
    let context: EngineContext
    var effects: [Effect] = []
    var warnings: [String] = []
    var outcomeCampaignId: String?

    init(state: AccountState, context: EngineContext) {
        self.state = state
        self.context = context
        effects.reserveCapacity(4)
    }

    /// Appends an event of the current campaign.
    mutating func emit(_ payload: EventPayload, at: Double) {
        effects.append(.emit(DomainEvent(at: Date(timeIntervalSince1970: at), accountId: state.accountId,
                                         campaignId: state.campaign?.id, payload: payload)))
    }
}
