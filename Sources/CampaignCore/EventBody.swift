/// The one encoding of an event body (protocols/abm-wire-v1.md §8.2), without `seq`: the store writes
/// `{"seq":N,` in front, so the bytes stored, published and replayed are identical. Used by the
/// runtime's default `EventBodyEncoder` and by the gateway's `WireEvent`.
///
/// `type`, `at` (`WireTime`), `account_id` and `campaign_id` (null when the event belongs to no
/// campaign) plus the event's fields, keys sorted (`JSONWriter`). The four common keys win over a
/// same-named field; a `seq` field is dropped (the store assigns it).
public enum EventBody {
    public static func encode(_ event: DomainEvent) -> [UInt8] {
        var o = event.fields
        o["seq"] = nil
        o["type"] = .string(event.type)
        o["at"] = .string(WireTime.format(event.at))
        o["account_id"] = .string(event.accountId)
        o["campaign_id"] = event.campaignId.map(JSONValue.string) ?? .null
        var out: [UInt8] = []
        out.reserveCapacity(512)
        JSONWriter.writeObject(o, into: &out)
        return out
    }
}
