import AbmWire
import CampaignCore
import Foundation

/// Turns a `DomainEvent` into the event body the store keeps (a JSON object without `seq`; the store
/// splices the seq in). The default, `JSONEventBodyEncoder`, is the protocol's (`EventBody`).
public protocol EventBodyEncoder: Sendable {
    func body(for event: DomainEvent) -> Data
}

/// The protocol's event body (`EventBody.encode`, protocols/abm-wire-v1.md §8.2): `account_id`, `at`
/// (`2026-03-02T14:00:00.000Z`), `campaign_id`, `type` and the payload's fields, keys sorted (byte order),
/// no whitespace.
public struct JSONEventBodyEncoder: EventBodyEncoder {
    public init() {}

    public func body(for event: DomainEvent) -> Data { Data(EventBody.encode(event)) }
}
