import AbmWire
import Foundation

// `CampaignStatus`, `ContactStatus`, `TouchReason` and the other words are the protocol's (AbmWire/Vocabulary.swift).

/// The touch a campaign's pending timer is for: when, to whom, and why that contact.
public struct PlannedTouch: Sendable, Equatable {
    public var dueAt: Date
    public var contactId: String
    public var reason: TouchReason
    /// What set `dueAt` later than the earliest instant it could be (nil: nothing held it back).
    public var delay: DelayRule?

    public init(dueAt: Date, contactId: String, reason: TouchReason, delay: DelayRule? = nil) {
        self.dueAt = dueAt
        self.contactId = contactId
        self.reason = reason
        self.delay = delay
    }

    /// All three or none (a state stored before a part was written plans nothing).
    init?(dueAt: Date?, contactId: String?, reason: TouchReason?, delay: DelayRule?) {
        guard let dueAt, let contactId, let reason else { return nil }
        self.init(dueAt: dueAt, contactId: contactId, reason: reason, delay: delay)
    }
}

/// What is known about one contact of a campaign. Kept small: no rendered texts.
public struct ContactState: Codable, Sendable, Equatable {
    /// Why a contact is (not) reachable.
    public enum Standing: String, Codable, Sendable, Equatable {
        /// Reachable (not yet touched, or in play).
        case active
        case replied
        case meetingScheduled = "meeting_scheduled"
        case negative
        case unsubscribed
        case bounced
        /// On the global suppression list (unsubscribed through another account, or before this lead).
        case suppressed
        /// Set aside because a message to it could not be rendered cleanly (reported as `conflict.detected`).
        case blocked
        /// Erased on an operator's request: its personal fields are blanked and it is never touched again.
        case erased
    }

    // Declaration order is layout order: the strings, then 8-byte scalars, then the small ones, which
    // keeps the stride at 192 B (216 B with `Date?` fields and a touches array). The `CodingKeys` order
    // (below) is the encoding order.
    public var id: String
    public var email: String
    /// "Unknown" when absent.
    public var name: String
    public var title: String?
    /// Normalised: digits with an optional leading `+`; nil when absent or unusable.
    public var phone: String?
    /// IANA zone id; nil means the configured default.
    public var timezone: String?
    /// Upper-case ISO 3166 alpha-2.
    public var country: String?
    public var linkedinURL: String?
    public var score: Int
    /// Arrival order within the campaign (tie-break for equal scores).
    public var arrival: Int
    private var first: PackedDate
    private var last: PackedDate
    private var away: PackedDate
    /// Touches per channel, indexed by `Channel.index` (email, sms, call, linkedin).
    public var touches: TouchCounts
    public var isPrimary: Bool
    public var standing: Standing

    public var firstTouchAt: Date? {
        get { first.date }
        set { first.date = newValue }
    }
    public var lastTouchAt: Date? {
        get { last.date }
        set { last.date = newValue }
    }
    /// Out of office: not touched before this instant.
    public var awayUntil: Date? {
        get { away.date }
        set { away.date = newValue }
    }

    init(id: String, email: String, name: String, title: String?, phone: String?, timezone: String?, country: String?,
         linkedinURL: String?, isPrimary: Bool, score: Int, arrival: Int, standing: Standing, touches: TouchCounts,
         firstTouchAt: Date?, lastTouchAt: Date?, awayUntil: Date?) {
        self.id = id
        self.email = email
        self.name = name
        self.title = title
        self.phone = phone
        self.timezone = timezone
        self.country = country
        self.linkedinURL = linkedinURL
        self.isPrimary = isPrimary
        self.score = score
        self.arrival = arrival
        self.standing = standing
        self.touches = touches
        self.first = PackedDate(firstTouchAt)
        self.last = PackedDate(lastTouchAt)
        self.away = PackedDate(awayUntil)
    }

    enum CodingKeys: String, CodingKey {
        case id, email, name, title, phone, timezone = "tz", country, linkedinURL = "li", isPrimary = "primary"
        case score, arrival, standing, touches, firstTouchAt = "first", lastTouchAt = "last", awayUntil = "away"
    }

    // Written out as the synthesized conformance would be (keys in `CodingKeys` order, optionals only
    // when present), since the dates are stored packed.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try c.decode(String.self, forKey: .id),
                  email: try c.decode(String.self, forKey: .email),
                  name: try c.decode(String.self, forKey: .name),
                  title: try c.decodeIfPresent(String.self, forKey: .title),
                  phone: try c.decodeIfPresent(String.self, forKey: .phone),
                  timezone: try c.decodeIfPresent(String.self, forKey: .timezone),
                  country: try c.decodeIfPresent(String.self, forKey: .country),
                  linkedinURL: try c.decodeIfPresent(String.self, forKey: .linkedinURL),
                  isPrimary: try c.decode(Bool.self, forKey: .isPrimary),
                  score: try c.decode(Int.self, forKey: .score),
                  arrival: try c.decode(Int.self, forKey: .arrival),
                  standing: try c.decode(Standing.self, forKey: .standing),
                  touches: try c.decode(TouchCounts.self, forKey: .touches),
                  firstTouchAt: try c.decodeIfPresent(Date.self, forKey: .firstTouchAt),
                  lastTouchAt: try c.decodeIfPresent(Date.self, forKey: .lastTouchAt),
                  awayUntil: try c.decodeIfPresent(Date.self, forKey: .awayUntil))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(email, forKey: .email)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(title, forKey: .title)
        try c.encodeIfPresent(phone, forKey: .phone)
        try c.encodeIfPresent(timezone, forKey: .timezone)
        try c.encodeIfPresent(country, forKey: .country)
        try c.encodeIfPresent(linkedinURL, forKey: .linkedinURL)
        try c.encode(isPrimary, forKey: .isPrimary)
        try c.encode(score, forKey: .score)
        try c.encode(arrival, forKey: .arrival)
        try c.encode(standing, forKey: .standing)
        try c.encode(touches, forKey: .touches)
        try c.encodeIfPresent(firstTouchAt, forKey: .firstTouchAt)
        try c.encodeIfPresent(lastTouchAt, forKey: .lastTouchAt)
        try c.encodeIfPresent(awayUntil, forKey: .awayUntil)
    }

    public var totalTouches: Int { touches.reduce(0, +) }
    /// Reachable: not responded, unsubscribed, bounced or suppressed.
    public var isEligible: Bool { standing == .active }
    /// In play: touched and still reachable.
    public var isInPlay: Bool { standing == .active && firstTouchAt != nil }

    func has(_ channel: Channel) -> Bool {
        switch channel {
        case .email: return true
        case .sms, .call: return phone != nil
        case .linkedin: return linkedinURL != nil
        }
    }
}

/// One campaign (the current or the last one of an account).
public struct CampaignState: Sendable, Equatable {
    // Declaration order is layout order (the one-byte status last, packed optional dates): 184 B instead of 200.
    public var id: String
    public var reason: String?
    /// Touchpoints emitted so far (steps done).
    public var steps: Int
    /// In priority order: primary first, then colleagues by title score (ties by arrival).
    public var contacts: [ContactState]
    public var topic: String?
    public var company: String?
    public var startedAt: Date
    private var lastStep: PackedDate
    // The planned touch, stored flat for layout (`next` is the one way in and out): `due` is set exactly
    // when a touch is planned, and then `dueContact` and `dueReason` are too.
    private var due: PackedDate
    private var dueContact: String?
    private var dueReason: TouchReason?
    private var dueDelay: DelayRule?
    /// Last contact chosen by the round over contacts in play (nil: the round restarts at the top contact).
    public var roundCursor: String?
    /// Colleague references made so far (rotates the phrasings).
    public var references: Int
    /// Counter for generated contact ids.
    public var generatedIds: Int
    /// Replies, bounces and the like from addresses that were not (yet) contacts: a later lead that adds such an
    /// address adds it in that standing, so that nobody who already answered is touched. Usually empty.
    public var outsiders: [String: ContactState.Standing] = [:]
    /// The playbook and version this campaign follows (nil: stored before playbooks; read as `default` v1).
    public var playbook: PlaybookRef?
    /// A version an operator migrated the campaign to (`migrate`), taken up at its next step.
    public var migratingTo: Int?
    public var status: CampaignStatus

    /// When the last step was actually sent.
    public var lastStepAt: Date? {
        get { lastStep.date }
        set { lastStep.date = newValue }
    }
    /// The touch the pending timer is for; nil when none is planned (paused, finished, nobody to touch).
    public var next: PlannedTouch? {
        get {
            guard let at = due.date, let contactId = dueContact, let reason = dueReason else { return nil }
            return PlannedTouch(dueAt: at, contactId: contactId, reason: reason, delay: dueDelay)
        }
        set {
            due.date = newValue?.dueAt
            dueContact = newValue?.contactId
            dueReason = newValue?.reason
            dueDelay = newValue?.delay
        }
    }
    /// Active or paused: not over yet.
    public var isRunning: Bool { status == .active || status == .paused }
    /// The pending timer's due time (`next?.dueAt`).
    public var nextDueAt: Date? { next?.dueAt }

    init(id: String, status: CampaignStatus, reason: String?, steps: Int, contacts: [ContactState], topic: String?,
         company: String?, startedAt: Date, lastStepAt: Date?, next: PlannedTouch?, roundCursor: String?, references: Int, generatedIds: Int,
         outsiders: [String: ContactState.Standing] = [:], playbook: PlaybookRef? = nil, migratingTo: Int? = nil) {
        self.id = id
        self.status = status
        self.reason = reason
        self.steps = steps
        self.contacts = contacts
        self.topic = topic
        self.company = company
        self.startedAt = startedAt
        self.lastStep = PackedDate(lastStepAt)
        self.due = PackedDate(next?.dueAt)
        self.dueContact = next?.contactId
        self.dueReason = next?.reason
        self.dueDelay = next?.delay
        self.roundCursor = roundCursor
        self.references = references
        self.generatedIds = generatedIds
        self.outsiders = outsiders
        self.playbook = playbook
        self.migratingTo = migratingTo
    }

    enum CodingKeys: String, CodingKey {
        case id, status, reason, steps, contacts, topic, company, startedAt = "started", lastStepAt = "lastStep"
        case dueAt = "due", dueContact, dueReason, dueDelay, roundCursor = "cursor", references = "refs"
        case generatedIds = "gen", outsiders, playbook = "pb", playbookVersion = "pbv", migratingTo = "pbto"
    }

    // Index loops read fields in place (`firstIndex(where:)` hands each contact, copied, to its closure).
    func index(ofId id: String) -> Int? {
        for k in contacts.indices where contacts[k].id == id { return k }
        return nil
    }
    func index(ofEmail email: String) -> Int? {
        for k in contacts.indices where contacts[k].email == email { return k }
        return nil
    }
    var primaryIndex: Int? {
        for k in contacts.indices where contacts[k].isPrimary { return k }
        return nil
    }
    /// The first reachable contact (the top contact).
    var firstEligibleIndex: Int? {
        for k in contacts.indices where contacts[k].standing == .active { return k }
        return nil
    }
}

extension CampaignState: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try c.decode(String.self, forKey: .id),
                  status: try c.decode(CampaignStatus.self, forKey: .status),
                  reason: try c.decodeIfPresent(String.self, forKey: .reason),
                  steps: try c.decode(Int.self, forKey: .steps),
                  contacts: try c.decode([ContactState].self, forKey: .contacts),
                  topic: try c.decodeIfPresent(String.self, forKey: .topic),
                  company: try c.decodeIfPresent(String.self, forKey: .company),
                  startedAt: try c.decode(Date.self, forKey: .startedAt),
                  lastStepAt: try c.decodeIfPresent(Date.self, forKey: .lastStepAt),
                  next: try PlannedTouch(dueAt: c.decodeIfPresent(Date.self, forKey: .dueAt),
                                         contactId: c.decodeIfPresent(String.self, forKey: .dueContact),
                                         reason: c.decodeIfPresent(TouchReason.self, forKey: .dueReason),
                                         delay: c.decodeIfPresent(DelayRule.self, forKey: .dueDelay)),
                  roundCursor: try c.decodeIfPresent(String.self, forKey: .roundCursor),
                  references: try c.decode(Int.self, forKey: .references),
                  generatedIds: try c.decode(Int.self, forKey: .generatedIds),
                  outsiders: try c.decodeIfPresent([String: ContactState.Standing].self, forKey: .outsiders) ?? [:],
                  playbook: try c.decodeIfPresent(String.self, forKey: .playbook).map {
                      PlaybookRef(name: $0, version: try c.decode(Int.self, forKey: .playbookVersion))
                  },
                  migratingTo: try c.decodeIfPresent(Int.self, forKey: .migratingTo))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encode(steps, forKey: .steps)
        try c.encode(contacts, forKey: .contacts)
        try c.encodeIfPresent(topic, forKey: .topic)
        try c.encodeIfPresent(company, forKey: .company)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encodeIfPresent(lastStepAt, forKey: .lastStepAt)
        try c.encodeIfPresent(due.date, forKey: .dueAt)
        try c.encodeIfPresent(dueContact, forKey: .dueContact)
        try c.encodeIfPresent(dueReason, forKey: .dueReason)
        try c.encodeIfPresent(dueDelay, forKey: .dueDelay)
        try c.encodeIfPresent(roundCursor, forKey: .roundCursor)
        try c.encode(references, forKey: .references)
        try c.encode(generatedIds, forKey: .generatedIds)
        // Omitted when empty: the common case stays compact.
        if !outsiders.isEmpty { try c.encode(outsiders, forKey: .outsiders) }
        if let playbook {
            try c.encode(playbook.name, forKey: .playbook)
            try c.encode(playbook.version, forKey: .playbookVersion)
        }
        try c.encodeIfPresent(migratingTo, forKey: .migratingTo)
    }
}
