/// The words of the protocol that a client acts on, each spelled once (`protocols/abm-wire-v1.md`).
///
/// They live here, in the module with no dependencies, because the domain (`CampaignCore`), the server and
/// the clients all speak them: the engine decides with these types, the wire writes their raw values, and
/// the schemas' closed enums are checked against `allCases` by the tests, so a renamed word fails a test
/// instead of drifting between modules.

/// What a response reports (`response.kind`, `response.received.kind`). Effects: `docs/campaign-behaviour.md`.
public enum ResponseKind: String, Sendable, Codable, CaseIterable, Hashable {
    case reply
    case meetingScheduled = "meeting_scheduled"
    case negative
    case unsubscribe
    case bounce
    case outOfOffice = "out_of_office"

    /// `reply, meeting_scheduled, …` for messages.
    public static var list: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

extension ResponseKind: CustomStringConvertible {
    public var description: String { rawValue }
}

/// A response as sent by a channel worker or CRM: the `response` ingress request minus `type` and `id`.
/// The wire checks the types and sizes; the engine checks the rest (a plausible address, `return_date`).
public struct ResponseInput: Sendable, Equatable {
    public var accountId: String
    public var contactEmail: String?
    public var contactId: String?
    public var kind: ResponseKind
    public var channel: String?
    public var text: String?
    /// For `out_of_office`: a date (`2026-12-01`, local midnight in the contact's zone) or an RFC 3339 instant.
    public var returnDate: String?

    public init(accountId: String, contactEmail: String? = nil, contactId: String? = nil, kind: ResponseKind,
                channel: String? = nil, text: String? = nil, returnDate: String? = nil) {
        self.accountId = accountId
        self.contactEmail = contactEmail
        self.contactId = contactId
        self.kind = kind
        self.channel = channel
        self.text = text
        self.returnDate = returnDate
    }
}

/// The event types (§8.2). An event's topic is `<type>/<account_id>`.
public enum EventType: String, Sendable, CaseIterable, Hashable, Codable {
    case campaignStarted = "campaign.started"
    case contactAdded = "contact.added"
    case touchpointDue = "touchpoint.due"
    case responseReceived = "response.received"
    case campaignPaused = "campaign.paused"
    case campaignResumed = "campaign.resumed"
    case campaignCompleted = "campaign.completed"
    case campaignCancelled = "campaign.cancelled"
    case contactSuppressed = "contact.suppressed"
    case conflictDetected = "conflict.detected"
    /// An operator erased a person (`erase`): the audit record, carrying no personal data.
    case contactErased = "contact.erased"
    /// The campaign took up the playbook version an operator migrated it to (`migrate`), at its step.
    case campaignMigrated = "campaign.migrated"
}

extension EventType: CustomStringConvertible {
    /// The wire name, so that interpolating a type writes what the wire carries.
    public var description: String { rawValue }
}

/// What held a touch back past the earliest instant it could go (`delay` of a touch and of the planned
/// touch): the rule that set its time (docs/campaign-behaviour.md, "Timing").
public enum DelayRule: String, Codable, Sendable, CaseIterable, Equatable {
    /// The interval after the previous step (`touchpoint_intervals_days`).
    case interval
    /// The minimum gap between two touches to one person (`response_timeout_hours`).
    case responseTimeout = "response_timeout"
    /// The contact is out of office until `away_until`.
    case outOfOffice = "out_of_office"
    /// No colleague before `colleague_message_delay_days` after the primary's first touch.
    case colleagueDelay = "colleague_delay"
    /// Moved to the next opening of the contact's send window.
    case sendWindow = "send_window"
    /// Moved past a holiday (`holidays`).
    case holiday
    /// Another playbook's campaign of the account touched the person less than `response_timeout_hours` ago.
    case otherPlaybook = "other_playbook"
}

/// A campaign's lifecycle (`campaign.status`).
public enum CampaignStatus: String, Codable, Sendable, CaseIterable, Equatable {
    case active, paused, completed, cancelled
}

/// A contact's state as a status reply shows it (`campaign.contacts[].state`).
public enum ContactStatus: String, Codable, Sendable, CaseIterable, Equatable {
    /// Reachable, not touched yet.
    case new
    /// Touched and still reachable.
    case inPlay = "in_play"
    /// Reachable, but postponed until `away_until` (an `out_of_office` response).
    case outOfOffice = "out_of_office"
    /// Answered (`reply`): no longer touched.
    case replied
    /// Booked a meeting (`meeting_scheduled`): no longer touched.
    case meetingScheduled = "meeting_scheduled"
    /// Answered negatively: no longer touched.
    case negative
    /// Unsubscribed: on the global suppression list.
    case unsubscribed
    /// The address bounced: not touched in this campaign.
    case bounced
    /// On the global suppression list through another account or an earlier unsubscribe.
    case suppressed
    /// Set aside: a message to it could not be rendered cleanly (`conflict.detected`, `message_not_clean`).
    case blocked
    /// Erased on an operator's request (`erase`): its personal data is gone and it is never contacted again.
    case erased
}

/// Why a touch goes to this contact (`touchpoint.due.reason`, `next_touch.reason`).
public enum TouchReason: String, Codable, Sendable, CaseIterable, Equatable {
    /// One of the first `primary_focus_steps` steps, which go to the top contact.
    case focusStep = "focus_step"
    /// The first touch of a colleague brought into play.
    case introduceColleague = "introduce_colleague"
    /// The step goes round the contacts in play.
    case roundRobin = "round_robin"
}

/// Why an address is no longer touched (`contact.suppressed.reason`).
public enum SuppressionReason: String, Codable, Sendable, CaseIterable, Equatable {
    /// The contact unsubscribed: the address is on the global suppression list (every campaign).
    case unsubscribed
    /// The address bounced: not touched again in this campaign.
    case bounced
    /// The address was already on the global suppression list (found when a lead added it, or before a touch).
    case suppressed
}

/// Why a campaign completed (`campaign.completed.reason`, the campaign's `reason`).
public enum CompletionReason: String, Codable, Sendable, CaseIterable, Equatable {
    /// `max_touchpoints` touches were sent.
    case maxTouchpoints = "max_touchpoints"
    /// Nobody can be touched any more.
    case noEligibleContacts = "no_eligible_contacts"
    /// A contact booked a meeting: the campaign reached its goal.
    case meetingScheduled = "meeting_scheduled"
}

/// Why the engine paused a campaign by itself (`campaign.paused.reason`); an operator's pause carries the
/// operator's `reason` text instead (or null).
public enum PauseReason: String, Codable, Sendable, CaseIterable, Equatable {
    /// A contact replied.
    case responded
    /// A contact answered negatively.
    case negativeSentiment = "negative_sentiment"
}

/// Which check held a touch back (`conflict.detected.conflict`).
public enum ConflictKind: String, Codable, Sendable, CaseIterable, Equatable {
    /// The contact is on the global suppression list.
    case suppressed
    /// The message still had a hole (a template placeholder): the contact is set aside (`blocked`).
    case messageNotClean = "message_not_clean"
    /// A lead said a meeting is already scheduled.
    case meetingScheduled = "meeting_scheduled"
}

/// The reason written by operator commands on `campaign.resumed` and `campaign.cancelled`.
public enum OperatorReason {
    public static let `operator` = "operator"
}
