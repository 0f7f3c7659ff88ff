import AbmWire
import Foundation

// `EventType` is the protocol's (AbmWire/Vocabulary.swift).

/// An event before the store numbers it: the common fields plus the type's own (`payload`). The runtime adds
/// `seq`; `EventBody.encode` writes the body.
public struct DomainEvent: Sendable, Equatable {
    public var at: Date
    public var accountId: String
    public var campaignId: String?
    public var payload: EventPayload

    public var type: EventType { payload.type }

    public init(at: Date, accountId: String, campaignId: String?, payload: EventPayload) {
        self.at = at
        self.accountId = accountId
        self.campaignId = campaignId
        self.payload = payload
    }

    /// The touch, when this is a `touchpoint.due`.
    public var touchpoint: EventPayload.TouchpointDue? {
        if case .touchpointDue(let t) = payload { return t }
        return nil
    }

    /// The type's fields as JSON (what the body carries besides the common keys), decoded from `EventBody`'s
    /// bytes so that it cannot drift from the wire. For tests and tools: it writes and parses the body.
    public var fields: [String: JSONValue] {
        guard var o = (try? JSONParser.parse(EventBody.encode(self)))?.objectValue else { return [:] }
        for k in ["type", "at", "account_id", "campaign_id"] { o[k] = nil }
        return o
    }
}

/// The type-specific fields of each event (protocols/abm-wire-v1.md §8.2, `protocols/schemas/event.*`).
///
/// Optional fields are those the protocol lets a body leave out; the engine fills most of them (its extras such
/// as `attempt`, `explanation`, `score`), and the documented examples, which omit them, round-trip.
public enum EventPayload: Sendable, Equatable {
    // Boxed: a touch has 17 fields, and an event is moved through several enums (payload, event, effect) on its
    // way out; unboxed, each move copied every field (≈ 1k instructions per timer decision in callgrind on
    // `EngineBench`, Benchmarks/RESULTS-engine.md).
    indirect case campaignStarted(CampaignStarted)
    case contactAdded(ContactAdded)
    indirect case touchpointDue(TouchpointDue)
    case responseReceived(ResponseReceived)
    case campaignPaused(StatusReason)
    case campaignResumed(StatusReason)
    case campaignCompleted(CampaignCompleted)
    case campaignCancelled(StatusReason)
    case contactSuppressed(ContactSuppressed)
    case conflictDetected(ConflictDetected)
    case contactErased(ContactErased)
    case campaignMigrated(CampaignMigrated)

    public var type: EventType {
        switch self {
        case .campaignStarted: return .campaignStarted
        case .contactAdded: return .contactAdded
        case .touchpointDue: return .touchpointDue
        case .responseReceived: return .responseReceived
        case .campaignPaused: return .campaignPaused
        case .campaignResumed: return .campaignResumed
        case .campaignCompleted: return .campaignCompleted
        case .campaignCancelled: return .campaignCancelled
        case .contactSuppressed: return .contactSuppressed
        case .conflictDetected: return .conflictDetected
        case .contactErased: return .contactErased
        case .campaignMigrated: return .campaignMigrated
        }
    }

    /// `campaign.started`.
    public struct CampaignStarted: Sendable, Equatable {
        public enum Role: String, Sendable, Equatable { case primary, colleague }

        /// One contact of the new campaign, in campaign order.
        public struct Contact: Sendable, Equatable {
            public var id: String
            public var email: String
            public var name: String?
            public var title: String?
            public var role: Role?
            public var score: Int?

            public init(id: String, email: String, name: String? = nil, title: String? = nil, role: Role? = nil,
                        score: Int? = nil) {
                self.id = id
                self.email = email
                self.name = name
                self.title = title
                self.role = role
                self.score = score
            }
        }

        public var contacts: [Contact]
        /// Outer nil: the key is left out; inner nil: written as `null` (the engine always writes both keys).
        public var topic: String??
        public var company: String??

        public init(contacts: [Contact], topic: String?? = nil, company: String?? = nil) {
            self.contacts = contacts
            self.topic = topic
            self.company = company
        }
    }

    /// `contact.added`: a later lead merged a new contact into the running campaign.
    public struct ContactAdded: Sendable, Equatable {
        public var contactId: String
        public var email: String
        public var name: String?
        public var score: Int?

        public init(contactId: String, email: String, name: String? = nil, score: Int? = nil) {
            self.contactId = contactId
            self.email = email
            self.name = name
            self.score = score
        }
    }

    /// `touchpoint.due`: a rendered touch to send.
    public struct TouchpointDue: Sendable, Equatable {
        public struct Reference: Sendable, Equatable {
            public var contactId: String
            public var name: String

            public init(contactId: String, name: String) {
                self.contactId = contactId
                self.name = name
            }
        }

        /// Stable and unique: the subscribers' dedupe key.
        public var touchpointId: String
        public var step: Int
        public var contactId: String
        public var contactEmail: String
        public var contactName: String?
        public var channel: Channel
        public var attempt: Int?
        public var subject: String?
        /// The rendered message (for a call, the script).
        public var message: String
        /// On calls, the script again (the engine sets it equal to `message`).
        public var callScript: String?
        public var contactPhone: String?
        public var contactLinkedinURL: String?
        public var reference: Reference?
        public var reason: TouchReason
        public var explanation: String?
        /// Written only when true: a user template was unclean and the built-in one was used.
        public var templateFallback: Bool
        /// Present only when the touch went out later than its timer was due.
        public var plannedAt: Date?
        /// What set the touch's time later than the earliest it could go (absent: nothing held it back).
        public var delay: DelayRule?
        /// Written only when true: an operator ran the step now (`step`), whatever held it back.
        public var operatorStep = false

        public init(touchpointId: String, step: Int, contactId: String, contactEmail: String, contactName: String? = nil,
                    channel: Channel, attempt: Int? = nil, subject: String? = nil, message: String,
                    callScript: String? = nil, contactPhone: String? = nil, contactLinkedinURL: String? = nil,
                    reference: Reference? = nil, reason: TouchReason, explanation: String? = nil,
                    templateFallback: Bool = false, plannedAt: Date? = nil, delay: DelayRule? = nil) {
            self.touchpointId = touchpointId
            self.step = step
            self.contactId = contactId
            self.contactEmail = contactEmail
            self.contactName = contactName
            self.channel = channel
            self.attempt = attempt
            self.subject = subject
            self.message = message
            self.callScript = callScript
            self.contactPhone = contactPhone
            self.contactLinkedinURL = contactLinkedinURL
            self.reference = reference
            self.reason = reason
            self.explanation = explanation
            self.templateFallback = templateFallback
            self.delay = delay
            self.plannedAt = plannedAt
        }
    }

    /// `response.received`.
    public struct ResponseReceived: Sendable, Equatable {
        /// nil (written as `null`) when the sender is not a known contact.
        public var contactId: String?
        public var kind: ResponseKind
        public var email: String?
        public var channel: String?
        /// Out of office: when the contact is back.
        public var returnAt: Date?

        public init(contactId: String?, kind: ResponseKind, email: String? = nil, channel: String? = nil, returnAt: Date? = nil) {
            self.contactId = contactId
            self.kind = kind
            self.email = email
            self.channel = channel
            self.returnAt = returnAt
        }
    }

    /// `campaign.paused`, `campaign.resumed`, `campaign.cancelled`.
    public struct StatusReason: Sendable, Equatable {
        /// Written as `null` when nil.
        public var reason: String?

        public init(reason: String?) { self.reason = reason }
    }

    /// `campaign.completed`.
    public struct CampaignCompleted: Sendable, Equatable {
        /// Written as `null` when nil.
        public var reason: CompletionReason?
        public var steps: Int?

        public init(reason: CompletionReason?, steps: Int? = nil) {
            self.reason = reason
            self.steps = steps
        }
    }

    /// `campaign.migrated`: the campaign left one version of its playbook for another (an operator's
    /// `migrate`, taken up at this step).
    public struct CampaignMigrated: Sendable, Equatable {
        public var playbook: String
        public var fromVersion: Int
        public var toVersion: Int

        public init(playbook: String, fromVersion: Int, toVersion: Int) {
            self.playbook = playbook
            self.fromVersion = fromVersion
            self.toVersion = toVersion
        }
    }

    /// `contact.erased`: the audit record of an erasure. No personal data: the address only as its hash.
    public struct ContactErased: Sendable, Equatable {
        /// nil (written as `null`) when the address was not a contact (only remembered as having answered).
        public var contactId: String?
        /// `EmailHash` of the erased address (lower-case hex SHA-256).
        public var emailSHA256: String

        public init(contactId: String?, emailSHA256: String) {
            self.contactId = contactId
            self.emailSHA256 = emailSHA256
        }
    }

    /// `contact.suppressed`.
    public struct ContactSuppressed: Sendable, Equatable {
        /// nil (written as `null`) for an address that is not a contact.
        public var contactId: String?
        public var email: String
        public var reason: SuppressionReason

        public init(contactId: String?, email: String, reason: SuppressionReason) {
            self.contactId = contactId
            self.email = email
            self.reason = reason
        }
    }

    /// `conflict.detected`: a check held a touch back.
    public struct ConflictDetected: Sendable, Equatable {
        public var conflict: ConflictKind
        /// Written as `null` when nil.
        public var contactId: String?
        public var channel: Channel?

        public init(conflict: ConflictKind, contactId: String?, channel: Channel? = nil) {
            self.conflict = conflict
            self.contactId = contactId
            self.channel = channel
        }
    }
}
