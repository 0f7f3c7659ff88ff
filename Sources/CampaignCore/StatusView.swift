import AbmWire
/// The `campaign` object (protocols/abm-wire-v1.md §7.3): `campaign_id, account_id, status, reason, steps, contacts:[{id,email,state,
/// touches}], next_due_at`, plus `max_touchpoints`, `started_at`, `topic`, `company`, per-contact `name`, `title`,
/// `role`, `score`, `timezone`, `touches_by_channel`, `last_touch_at`, `away_until`, and `next_touch {contact_id, email,
/// channel, reason, due_at, delay}`.
///
/// Contact `state`: a `ContactStatus` (protocols/abm-wire-v1.md §7.3).
enum StatusView {
    static func render(_ state: AccountState, config: CampaignConfig, now: Double) -> JSONValue? {
        guard let camp = state.campaign else { return nil }
        let engine = CampaignEngine(config: config)
        var contacts: [JSONValue] = []
        for c in camp.contacts {
            var byChannel: [String: JSONValue] = [:]
            for ch in Channel.allCases where c.touches[ch.index] > 0 { byChannel[ch.rawValue] = .int(Int64(c.touches[ch.index])) }
            var o: [String: JSONValue] = [
                "id": .string(c.id), "email": .string(c.email), "name": .string(c.name),
                "role": c.isPrimary ? "primary" : "colleague", "score": .int(Int64(c.score)),
                "state": .string(status(of: c, now: now).rawValue), "touches": .int(Int64(c.totalTouches)),
                "touches_by_channel": .object(byChannel),
                "last_touch_at": c.lastTouchAt.map { .string(ISOTime.format($0.timeIntervalSince1970)) } ?? .null,
            ]
            if let t = c.title { o["title"] = .string(t) }
            // The zone its send window is computed in (the configured default when the lead gave none).
            let zone = c.timezone.flatMap { TimeZoneCache.shared.zone($0) != nil ? $0 : nil } ?? config.defaultTimezone
            o["timezone"] = .string(zone)
            if let a = c.awayUntil, a.timeIntervalSince1970 > now { o["away_until"] = .string(ISOTime.format(a.timeIntervalSince1970)) }
            contacts.append(.object(o))
        }
        var next: JSONValue = .null
        if camp.status == .active, let planned = camp.next, let i = camp.index(ofId: planned.contactId) {
            let c = camp.contacts[i]
            next = ["contact_id": .string(planned.contactId), "email": .string(c.email),
                    "channel": .string(engine.channel(for: c).0.rawValue),
                    "reason": .string(planned.reason.rawValue),
                    "due_at": .string(ISOTime.format(planned.dueAt.timeIntervalSince1970)),
                    "delay": planned.delay.map { .string($0.rawValue) } ?? .null]
        }
        return .object([
            "campaign_id": .string(camp.id),
            "account_id": .string(state.accountId),
            "status": .string(camp.status.rawValue),
            "reason": camp.reason.map(JSONValue.string) ?? .null,
            "steps": .int(Int64(camp.steps)),
            "max_touchpoints": .int(Int64(config.maxTouchpoints)),
            "contacts": .array(contacts),
            "next_due_at": camp.status == .active ? (camp.nextDueAt.map { .string(ISOTime.format($0.timeIntervalSince1970)) } ?? .null) : .null,
            "next_touch": next,
            "started_at": .string(ISOTime.format(camp.startedAt.timeIntervalSince1970)),
            "topic": camp.topic.map(JSONValue.string) ?? .null,
            "company": camp.company.map(JSONValue.string) ?? .null,
        ])
    }

    static func status(of c: ContactState, now: Double) -> ContactStatus {
        switch c.standing {
        case .active:
            if let a = c.awayUntil, a.timeIntervalSince1970 > now { return .outOfOffice }
            return c.firstTouchAt == nil ? .new : .inPlay
        case .replied: return .replied
        case .meetingScheduled: return .meetingScheduled
        case .negative: return .negative
        case .unsubscribed: return .unsubscribed
        case .bounced: return .bounced
        case .suppressed: return .suppressed
        case .blocked: return .blocked
        case .erased: return .erased
        }
    }
}
