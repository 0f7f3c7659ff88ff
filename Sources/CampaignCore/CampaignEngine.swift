import Foundation

// PLACEHOLDER SIGNATURES — the engine work (issue 3) replaces the bodies and fills in the state.
// The runtime and gateway code against these signatures.

/// Everything the engine remembers about one account: its current campaign (if any) and what it needs
/// to start the next one. Persisted by the runtime as JSON.
public struct AccountState: Codable, Sendable, Equatable {
    public var accountId: String

    public init(accountId: String) {
        self.accountId = accountId
    }
}

/// SPEC.md's configuration keys, with their defaults.
public struct CampaignConfig: Sendable, Equatable {
    public static let `default` = CampaignConfig()

    public init() {}

    /// A partial configuration (SPEC key names) merged over the defaults; an invalid value is a
    /// `CampaignError` with code `invalid_config` naming the key.
    public init(merging partial: JSONValue) throws(CampaignError) {
        self.init()
    }
}

/// The pure campaign state machine: `(state, input, now) -> (state, effects)`.
public struct CampaignEngine: Sendable {
    public let config: CampaignConfig

    public init(config: CampaignConfig = .default) {
        self.config = config
    }

    public func handle(_ state: AccountState, _ input: CampaignInput, now: Date,
                       context: EngineContext = EngineContext()) -> Result<Transition, CampaignError> {
        .failure(CampaignError(code: "not_implemented", message: "engine not implemented yet"))
    }

    /// The `campaign` object of CONTRACT.md's `status` reply (`campaign_id, account_id, status, reason,
    /// steps, contacts:[{id,email,state,touches}], next_due_at`), or nil when the account never had one.
    public func status(_ state: AccountState, now: Date) -> JSONValue? {
        nil
    }
}
