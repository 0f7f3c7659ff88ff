import AbmWire
import CampaignCore
import Foundation

/// One event of the log as the reports read it (the JSON body of a stored or published event).
public struct TimelineEvent: Sendable, Equatable {
    public var seq: Int64
    public var type: String
    public var at: Date
    public var accountId: String
    public var campaignId: String?
    /// Every field of the body, including the common ones.
    public var fields: [String: JSONValue]

    public init(seq: Int64, type: String, at: Date, accountId: String, campaignId: String?, fields: [String: JSONValue]) {
        self.seq = seq
        self.type = type
        self.at = at
        self.accountId = accountId
        self.campaignId = campaignId
        self.fields = fields
    }

    /// Reads an event body (`seq`, `type`, `at`, `account_id`, `campaign_id`, …); nil when one of the
    /// common fields is missing or malformed.
    public init?(json: JSONValue) {
        guard let object = json.objectValue,
              let type = object["type"]?.stringValue,
              let accountId = object["account_id"]?.stringValue,
              let atText = object["at"]?.stringValue,
              let at = WireTime.parse(atText)
        else { return nil }
        let seq: Int64
        switch object["seq"] {
        case .int(let n): seq = n
        case .double(let d): seq = Int64(d)
        default: return nil
        }
        self.init(seq: seq, type: type, at: at, accountId: accountId,
                  campaignId: object["campaign_id"]?.stringValue, fields: object)
    }

    public func string(_ key: String) -> String? { fields[key]?.stringValue }

    public func int(_ key: String) -> Int? {
        switch fields[key] {
        case .int(let n): Int(n)
        case .double(let d): Int(d)
        default: nil
        }
    }
}

/// The events of one account, in log order, with what the reports derive from them.
struct AccountTimeline {
    var accountId: String
    var events: [TimelineEvent]

    var touches: [TimelineEvent] { events.filter { $0.type == "touchpoint.due" } }

    /// Event types that name a contact, so that everyone the campaign heard from or about gets a row.
    static let contactEvents: Set<String> = ["contact.added", "touchpoint.due", "response.received", "contact.suppressed",
                                             "conflict.detected"]

    /// Contacts in the order they first appear in the log, as (id, email); a contact named only by id
    /// (a response by `contact_id`) is shown by its id.
    var contacts: [(id: String, email: String)] {
        var seen = Set<String>()
        var result: [(id: String, email: String)] = []
        for event in events {
            let id = event.string("contact_id")
            let email = event.string("contact_email") ?? event.string("email") ?? id
            guard Self.contactEvents.contains(event.type), let id, let email, !seen.contains(id) else { continue }
            seen.insert(id)
            result.append((id, email))
        }
        return result
    }

    /// The last status-changing event's type and reason, e.g. ("paused", "responded").
    var finalStatus: (status: String, reason: String?) {
        for event in events.reversed() {
            switch event.type {
            case "campaign.paused": return ("paused", event.string("reason"))
            case "campaign.resumed", "campaign.started": return ("active", event.string("reason"))
            case "campaign.completed": return ("completed", event.string("reason"))
            case "campaign.cancelled": return ("cancelled", event.string("reason"))
            default: continue
            }
        }
        return ("active", nil)
    }

    /// Groups events by account, accounts in order of their first event.
    static func group(_ events: [TimelineEvent]) -> [AccountTimeline] {
        var order: [String] = []
        var byAccount: [String: [TimelineEvent]] = [:]
        for event in events.sorted(by: { $0.seq < $1.seq }) {
            if byAccount[event.accountId] == nil { order.append(event.accountId) }
            byAccount[event.accountId, default: []].append(event)
        }
        return order.map { AccountTimeline(accountId: $0, events: byAccount[$0] ?? []) }
    }
}
