import AbmWire
import CampaignCore
import Foundation

/// The decision function the runtime drives: `CampaignEngine` in production; tests may wrap it to
/// inject faults. A thrown error is a handling failure (the campaign is dropped, reloaded, retried and
/// eventually parked); a `.failure` result is a rejected input (nothing is stored).
public protocol CampaignDecider: Sendable {
    func decide(_ state: AccountState, _ input: CampaignInput, now: Date,
                context: EngineContext) throws -> Result<Transition, AbmError>
    /// The `campaign` object (protocols/abm-wire-v1.md §7.3), or nil when the account never had a campaign.
    func status(_ state: AccountState, now: Date) -> JSONValue?
    /// Explains decisions with the configuration the decider runs with.
    var explainer: CampaignExplainer { get }
    /// The next touch, decided on a copy and never stored (`CampaignEngine.preview`).
    func preview(_ state: AccountState, lead: JSONValue?, now: Date, context: EngineContext) -> Result<JSONValue, AbmError>
}

// For deciders that wrap the engine (tests, benchmarks): the default configuration's explainer and preview.
extension CampaignDecider {
    public var explainer: CampaignExplainer { CampaignExplainer(config: .default) }

    public func preview(_ state: AccountState, lead: JSONValue?, now: Date, context: EngineContext) -> Result<JSONValue, AbmError> {
        CampaignEngine().preview(state, lead: lead, now: now, context: context)
    }
}

extension CampaignEngine: CampaignDecider {
    public func decide(_ state: AccountState, _ input: CampaignInput, now: Date,
                       context: EngineContext) throws -> Result<Transition, AbmError> {
        handle(state, input, now: now, context: context)
    }

    public var explainer: CampaignExplainer { CampaignExplainer(config: config) }
}

/// How an `AccountState` is stored as a blob. Swappable so that a compact encoding can replace JSON.
public protocol StateCodec: Sendable {
    func encode(_ state: AccountState) throws -> Data
    func decode(_ data: Data) throws -> AccountState
}

/// `AccountState` as JSON (Foundation's coders).
public struct JSONStateCodec: StateCodec {
    public init() {}

    public func encode(_ state: AccountState) throws -> Data {
        try JSONEncoder().encode(state)
    }

    public func decode(_ data: Data) throws -> AccountState {
        try JSONDecoder().decode(AccountState.self, from: data)
    }
}
