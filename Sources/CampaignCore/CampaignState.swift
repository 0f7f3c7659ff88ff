import Foundation

/// Lifecycle of a campaign.
public enum CampaignStatus: String, Codable, Sendable, Equatable {
    case active, paused, completed, cancelled
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
    }

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
    public var isPrimary: Bool
    public var score: Int
    /// Arrival order within the campaign (tie-break for equal scores).
    public var arrival: Int
    public var standing: Standing
    /// Touches per channel, indexed by `Channel.index` (email, sms, call, linkedin).
    public var touches: [Int]
    public var firstTouchAt: Date?
    public var lastTouchAt: Date?
    /// Out of office: not touched before this instant.
    public var awayUntil: Date?

    enum CodingKeys: String, CodingKey {
        case id, email, name, title, phone, timezone = "tz", country, linkedinURL = "li", isPrimary = "primary"
        case score, arrival, standing, touches, firstTouchAt = "first", lastTouchAt = "last", awayUntil = "away"
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
    public var id: String
    public var status: CampaignStatus
    public var reason: String?
    /// Touchpoints emitted so far (steps done).
    public var steps: Int
    /// In priority order: primary first, then colleagues by title score (ties by arrival).
    public var contacts: [ContactState]
    public var topic: String?
    public var company: String?
    public var startedAt: Date
    /// When the last step was actually sent.
    public var lastStepAt: Date?
    /// The pending timer's due time and the contact it is planned for.
    public var nextDueAt: Date?
    public var nextContactId: String?
    public var nextReason: String?
    /// Last contact chosen by the round over contacts in play (nil: the round restarts at the top contact).
    public var roundCursor: String?
    /// Colleague references made so far (rotates the phrasings).
    public var references: Int
    /// Counter for generated contact ids.
    public var generatedIds: Int
    /// Replies, bounces and the like from addresses that were not (yet) contacts: a later lead that adds such an
    /// address adds it in that standing, so that nobody who already answered is touched. Usually empty.
    public var outsiders: [String: ContactState.Standing] = [:]

    enum CodingKeys: String, CodingKey {
        case id, status, reason, steps, contacts, topic, company, startedAt = "started", lastStepAt = "lastStep"
        case nextDueAt = "due", nextContactId = "dueContact", nextReason = "dueReason", roundCursor = "cursor", references = "refs"
        case generatedIds = "gen", outsiders
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
        id = try c.decode(String.self, forKey: .id)
        status = try c.decode(CampaignStatus.self, forKey: .status)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        steps = try c.decode(Int.self, forKey: .steps)
        contacts = try c.decode([ContactState].self, forKey: .contacts)
        topic = try c.decodeIfPresent(String.self, forKey: .topic)
        company = try c.decodeIfPresent(String.self, forKey: .company)
        startedAt = try c.decode(Date.self, forKey: .startedAt)
        lastStepAt = try c.decodeIfPresent(Date.self, forKey: .lastStepAt)
        nextDueAt = try c.decodeIfPresent(Date.self, forKey: .nextDueAt)
        nextContactId = try c.decodeIfPresent(String.self, forKey: .nextContactId)
        nextReason = try c.decodeIfPresent(String.self, forKey: .nextReason)
        roundCursor = try c.decodeIfPresent(String.self, forKey: .roundCursor)
        references = try c.decode(Int.self, forKey: .references)
        generatedIds = try c.decode(Int.self, forKey: .generatedIds)
        outsiders = try c.decodeIfPresent([String: ContactState.Standing].self, forKey: .outsiders) ?? [:]
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
        try c.encodeIfPresent(nextDueAt, forKey: .nextDueAt)
        try c.encodeIfPresent(nextContactId, forKey: .nextContactId)
        try c.encodeIfPresent(nextReason, forKey: .nextReason)
        try c.encodeIfPresent(roundCursor, forKey: .roundCursor)
        try c.encode(references, forKey: .references)
        try c.encode(generatedIds, forKey: .generatedIds)
        // Omitted when empty: the common case stays compact.
        if !outsiders.isEmpty { try c.encode(outsiders, forKey: .outsiders) }
    }
}
