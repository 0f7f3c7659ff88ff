import CampaignCore

/// The runtime's `campaign` object as the protocol writes it: every instant (`next_due_at`,
/// `started_at`, `last_touch_at`, …: keys ending in `_at`) in the wire's one format
/// (`2026-03-02T14:00:00.000Z`, `WireTime`). The engine's status view writes instants without
/// milliseconds; the schemas require the fixed-width form. Other values pass through unchanged.
enum CampaignView {
    static func wire(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(var o):
            for (k, v) in o {
                if k.hasSuffix("_at"), case .string(let s) = v, let d = WireTime.parse(s) {
                    o[k] = .string(WireTime.format(d))
                } else if case .object = v {
                    o[k] = wire(v)
                } else if case .array(let a) = v {
                    o[k] = .array(a.map(wire))
                }
            }
            return .object(o)
        case .array(let a):
            return .array(a.map(wire))
        default:
            return value
        }
    }
}
