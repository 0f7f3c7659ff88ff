import CampaignCore
import Foundation

/// The `campaign` object of control replies (`schemas/campaign.schema.json`).
public struct CampaignStatusView: Sendable, Equatable {
    public struct Contact: Sendable, Equatable {
        public var id: String
        public var email: String
        /// The contact's state in the campaign, e.g. `pending`, `in_play`, `responded`, `unsubscribed`,
        /// `bounced`, `suppressed`, `out_of_office` (the engine's vocabulary; a string on the wire).
        public var state: String
        /// Touches sent to this contact so far.
        public var touches: Int
        /// Touches per channel (`email`, `sms`, `call`, `linkedin`); channels never used are left out.
        public var touchesByChannel: [String: Int]

        public init(id: String, email: String, state: String, touches: Int, touchesByChannel: [String: Int] = [:]) {
            self.id = id
            self.email = email
            self.state = state
            self.touches = touches
            self.touchesByChannel = touchesByChannel
        }

        public var json: JSONValue {
            .object([
                "id": .string(id), "email": .string(email), "state": .string(state), "touches": .int(Int64(touches)),
                "touches_by_channel": .object(touchesByChannel.mapValues { .int(Int64($0)) }),
            ])
        }
    }

    public var campaignId: String
    public var accountId: String
    /// `active | paused | completed | cancelled`.
    public var status: String
    public var reason: String?
    public var steps: Int
    public var contacts: [Contact]
    public var nextDueAt: Date?

    public init(campaignId: String, accountId: String, status: String, reason: String?, steps: Int,
                contacts: [Contact], nextDueAt: Date?) {
        self.campaignId = campaignId
        self.accountId = accountId
        self.status = status
        self.reason = reason
        self.steps = steps
        self.contacts = contacts
        self.nextDueAt = nextDueAt
    }

    public var json: JSONValue {
        .object([
            "campaign_id": .string(campaignId), "account_id": .string(accountId), "status": .string(status),
            "reason": reason.map(JSONValue.string) ?? .null, "steps": .int(Int64(steps)),
            "contacts": .array(contacts.map(\.json)),
            "next_due_at": nextDueAt.map { .string(WireTime.format($0)) } ?? .null,
        ])
    }
}
