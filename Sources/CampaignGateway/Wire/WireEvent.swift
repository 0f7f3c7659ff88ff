import AbmWire
import CampaignCore
import CampaignStore
import Foundation

/// Event encoding for the events socket and the event log.
///
/// An event is published as `[topic][body]`. The topic is `<type>/<account_id>`. The body is a JSON
/// object whose first key is `seq`, followed by the other keys sorted: the store writes `{"seq":N,`
/// in front of what `encodeBody` returns (`NewEvent.body`), so the bytes published, stored and
/// replayed are identical.
public enum WireEvent {
    /// The topic frame, `<type>/<account_id>`.
    public static func topic(type: String, accountId: String) -> [UInt8] {
        var out = Array(type.utf8)
        out.append(0x2F)
        out.append(contentsOf: accountId.utf8)
        return out
    }

    public static func topic(_ event: DomainEvent) -> [UInt8] { topic(type: event.type.rawValue, accountId: event.accountId) }

    /// The body without `seq`: `type`, `at` (see `WireTime`), `account_id`, `campaign_id` (null when the
    /// event belongs to no campaign) and the payload's fields, keys sorted (`EventBody`).
    public static func encodeBody(_ event: DomainEvent) -> [UInt8] { EventBody.encode(event) }

    /// The event as the store appends it (`NewEvent.body` = `encodeBody`, the same bytes as the
    /// runtime's default `JSONEventBodyEncoder`: both are `EventBody.encode`).
    @Sendable public static func newEvent(_ event: DomainEvent) -> NewEvent {
        NewEvent(type: event.type.rawValue, accountId: event.accountId, campaignId: event.campaignId, at: event.at,
                 body: Data(encodeBody(event)))
    }

    /// The stored/published body: `{"seq":N,` spliced in front of a body from `encodeBody`.
    public static func withSeq(_ seq: Int64, body: [UInt8]) -> [UInt8] {
        precondition(body.first == 0x7B, "an event body is a JSON object")
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 24)
        out.append(contentsOf: Array(#"{"seq":"#.utf8))
        JSONWriter.writeInt(seq, into: &out)
        // `{}` cannot occur (the common keys are always there), but splice correctly anyway.
        if body.count > 2 { out.append(0x2C) }
        out.append(contentsOf: body.dropFirst())
        return out
    }
}

/// The body of an event without `seq` (`NewEvent.body`), see `WireEvent.encodeBody`.
public func encodeEventBody(_ event: DomainEvent) -> [UInt8] { WireEvent.encodeBody(event) }
