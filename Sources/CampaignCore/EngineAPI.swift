import AbmWire
import Foundation

// The seam between the pure domain and the runtime. The runtime persists `AccountState` (Codable),
// carries out `Effect`s and never decides anything itself. Extend these types; do not rename.

/// What can happen to an account's campaign.
public enum CampaignInput: Sendable, Equatable {
    /// A lead as received on the wire (the `lead` object of the ingress request), validated by the engine.
    case lead(JSONValue)
    /// A response (reply, unsubscribe, bounce, …), validated by the engine.
    case response(ResponseInput)
    /// An operator command.
    case command(CampaignCommand)
    /// The account's timer came due. `dueAt` is the due time it was scheduled for (events fired by a
    /// timer are stamped with it); `now` passed alongside may be later (fired late after a restart).
    case timerFired(dueAt: Date)
    /// Erase a person from the account: `email` is normalised (lower-case), `emailSHA256` its hash
    /// (`EmailHash`), written in the audit event instead of the address.
    case erase(email: String, emailSHA256: String)
}

public enum CampaignCommand: Sendable, Equatable {
    case pause(reason: String?)
    case resume
    case cancel
    /// An operator's override: the planned touch goes out now (suppression and pauses still apply).
    case step
    /// Move a running campaign of `playbook` to another of its versions, taken up at its next step
    /// (`Playbooks` checks that the version exists).
    case migrate(playbook: String, toVersion: Int)
}

/// What the runtime must do after a decision. Each account has at most one pending timer:
/// `schedule` replaces it, `cancelTimer` removes it.
public enum Effect: Sendable, Equatable {
    case emit(DomainEvent)
    case schedule(at: Date)
    case cancelTimer
    /// Add an email to the global suppression list (every account, for good).
    case suppress(email: String)
}

// `DomainEvent` and its typed payloads: DomainEvent.swift.

/// The result of one decision.
public struct Transition: Sendable {
    public var state: AccountState
    public var effects: [Effect]
    /// What the acknowledgement or control reply reports.
    public var outcome: Outcome

    public init(state: AccountState, effects: [Effect], outcome: Outcome) {
        self.state = state
        self.effects = effects
        self.outcome = outcome
    }
}

public struct Outcome: Sendable, Equatable {
    public var campaignId: String?
    public var warnings: [String]

    public init(campaignId: String? = nil, warnings: [String] = []) {
        self.campaignId = campaignId
        self.warnings = warnings
    }
}

/// What a decision may read beyond the account's own state. Pure as long as the answers are.
public struct EngineContext: Sendable {
    /// Whether an (already normalised, lower-case) email is on the global suppression list.
    public var isSuppressed: @Sendable (String) -> Bool
    /// The last touch of each person by the account's other campaigns (other playbooks): a touch to them
    /// waits `response_timeout_hours` after it (`DelayRule.otherPlaybook`). Set by `Playbooks`.
    public var touchedElsewhere: [String: Date] = [:]

    public init(isSuppressed: @escaping @Sendable (String) -> Bool = { _ in false }) {
        self.isSuppressed = isSuppressed
    }
}

