import AbmWire
import CampaignCore
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
}
