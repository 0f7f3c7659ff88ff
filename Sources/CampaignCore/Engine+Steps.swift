import AbmWire
import Foundation

/// Choosing and emitting steps.
///
/// Rules (docs/campaign-behaviour.md, with the test of each):
/// - Intervals are calendar days in the chosen contact's time zone (the wall-clock time is kept across DST),
///   then the due time is moved into that contact's send window.
/// - The colleague delay and the minimum gap (`response_timeout_hours`) are absolute durations.
/// - A colleague is never touched before the primary, unless the primary can no longer be reached.
/// - Out of office and the minimum gap postpone a contact; while one contact waits, another in play may take
///   the step. The focus steps always wait for the top contact.
/// - After the focus steps a step introduces the best untouched colleague when a place is free and that
///   colleague could be touched at the step's planned time; otherwise it goes round the contacts in play
///   (from the top contact), taking the first one ready at the planned time, else whoever is ready first.
extension CampaignEngine {
    enum Plan: Equatable {
        case touch(contact: Int, at: Double, reason: TouchReason, delay: DelayRule?)
        case complete(reason: CompletionReason)
    }

    func zone(of c: ContactState) -> Zone { zone(named: c.timezone) }

    func zone(named id: String?) -> Zone {
        if let id, let z = TimeZoneCache.shared.zone(id) { return z }
        return config.defaultZone
    }

    /// The earliest instant at or after `earliest` at which contact `i` may take the next step, already moved
    /// into its send window; nil when it may not be touched at all now (a colleague before the primary).
    /// `gated` tells whether something other than the interval and `earliest` held it back; `delay` names
    /// the rule that pushed the time furthest (nil: `earliest` itself, inside the window): an out-of-office
    /// that ends at midnight is the reason, not the window opening at 09:00 after it.
    /// (Fields are read in place: copying a contact costs a retain per string.)
    func readiness(_ camp: CampaignState, _ i: Int, earliest: Double) -> (at: Double, gated: Bool, delay: DelayRule?)? {
        let z = zone(named: camp.contacts[i].timezone)
        var planned = earliest
        var delay: DelayRule?
        var push = 0.0
        // Each rule that moves the time later; the one moving it furthest is the reason given.
        func hold(_ to: Double, _ rule: DelayRule, _ from: inout Double) {
            guard to > from else { return }
            if to - from > push { push = to - from; delay = rule }
            from = to
        }
        if let last = camp.lastStepAt?.timeIntervalSince1970 {
            let n = config.intervalsDays.count
            let days = config.intervalsDays[min(camp.steps - 1, n - 1)]
            hold(LocalTime.addDays(days, to: last, in: z), .interval, &planned)
        }
        var r = planned
        if let last = camp.contacts[i].lastTouchAt?.timeIntervalSince1970 {
            hold(last + config.responseTimeoutHours * 3600, .responseTimeout, &r)
        }
        if !elsewhere.isEmpty, let last = elsewhere[camp.contacts[i].email] {
            hold(last + config.responseTimeoutHours * 3600, .otherPlaybook, &r)
        }
        if let away = camp.contacts[i].awayUntil?.timeIntervalSince1970 { hold(away, .outOfOffice, &r) }
        if !camp.contacts[i].isPrimary, let p = camp.primaryIndex {
            if let first = camp.contacts[p].firstTouchAt?.timeIntervalSince1970 {
                hold(first + config.colleagueDelayDays * 86_400, .colleagueDelay, &r)
            } else if camp.contacts[p].isEligible {
                return nil
            }
        }
        let country = config.holidays.byCountry.isEmpty ? nil : camp.contacts[i].country
        guard let opening = config.sendWindow.nextOpening(atOrAfter: r, zone: z, country: country,
                                                          holidays: config.holidays) else { return nil }
        if opening > r, opening - r > push { delay = windowDelay(from: r, to: opening, zone: z) }
        return (opening, r > planned, delay)
    }

    /// Whether the send window or a holiday moved a time from `r` to `opening`: a holiday when the window
    /// alone would have opened earlier. (Only computed when holidays are configured.)
    private func windowDelay(from r: Double, to opening: Double, zone z: Zone) -> DelayRule {
        guard !config.holidays.global.isEmpty || !config.holidays.byCountry.isEmpty,
              let plain = config.sendWindow.nextOpening(atOrAfter: r, zone: z, country: nil, holidays: .none),
              plain < opening else { return .sendWindow }
        return .holiday
    }

    /// Who takes the next step, and when.
    func plan(_ camp: CampaignState, earliest: Double) -> Plan {
        if camp.steps >= config.maxTouchpoints { return .complete(reason: .maxTouchpoints) }
        guard let top = camp.firstEligibleIndex else {
            return .complete(reason: .noEligibleContacts)
        }
        if camp.steps < config.primaryFocusSteps {
            guard let r = readiness(camp, top, earliest: earliest) else { return .complete(reason: .noEligibleContacts) }
            return .touch(contact: top, at: r.at, reason: .focusStep, delay: r.delay)
        }
        var inPlayCount = 0
        var untouched: Int?
        for k in camp.contacts.indices where camp.contacts[k].standing == .active {
            if camp.contacts[k].firstTouchAt != nil { inPlayCount += 1 } else if untouched == nil { untouched = k }
        }
        var intro: (Int, Double, Bool, DelayRule?)?
        if inPlayCount < config.maxConcurrentContacts, let i = untouched, let r = readiness(camp, i, earliest: earliest) {
            intro = (i, r.at, r.gated, r.delay)
            if !r.gated { return .touch(contact: i, at: r.at, reason: .introduceColleague, delay: r.delay) }
        }
        // The round over contacts in play, starting after the cursor (or at the top contact).
        let n = camp.contacts.count
        var startAt = 0
        if let cursor = camp.roundCursor, let pos = camp.index(ofId: cursor) {
            startAt = pos + 1
        }
        var best: (Int, Double, TouchReason, DelayRule?)?
        if let intro { best = (intro.0, intro.1, .introduceColleague, intro.3) }
        for step in 0..<n {
            let i = (startAt + step) % n
            guard camp.contacts[i].standing == .active, camp.contacts[i].firstTouchAt != nil, let r = readiness(camp, i, earliest: earliest) else { continue }
            if !r.gated { return .touch(contact: i, at: r.at, reason: .roundRobin, delay: r.delay) }
            if best == nil || r.at < best!.1 { best = (i, r.at, .roundRobin, r.delay) }
        }
        if let best { return .touch(contact: best.0, at: best.1, reason: best.2, delay: best.3) }
        return .complete(reason: .noEligibleContacts)
    }

    /// The channel for the next touch to a contact: walk the escalation ladder, `attempts_per_channel` touches per
    /// channel, skipping channels the contact lacks; when used up, go round the ladder again.
    func channel(for c: ContactState) -> (Channel, attempt: Int) {
        let ladder = config.channelEscalation
        guard ladder.contains(where: { c.has($0) }) else { return (.email, c.touches[Channel.email.index] + 1) }
        var lap = 1
        while true {
            for ch in ladder where c.has(ch) && c.touches[ch.index] < config.attemptsPerChannel * lap {
                return (ch, c.touches[ch.index] + 1)
            }
            lap += 1
        }
    }

    /// Plans and, while something is due no later than `until`, emits touches; then schedules the timer
    /// (or completes the campaign). `preferred`: the contact a fired timer was planned for; `plannedAt`: that
    /// timer's due time (the first touch sent later than it carries it as `planned_at`).
    func advance(work: inout Work, earliest: Double, until limit: Double, preferred: (id: String, reason: TouchReason)? = nil,
                 plannedAt: Double? = nil) {
        var earliest = earliest
        var preferred = preferred
        var plannedAt = plannedAt
        // Bounded: each pass either emits a touch, excludes a contact, or stops.
        for _ in 0..<(config.maxTouchpoints + 1000) {
            // Decide from a borrowed view; every change below is made in place (no copies of the contact list).
            // (`guard let camp = work.state.campaign` copied the campaign, a retain and release per field.)
            guard work.state.campaign?.status == .active else { return }
            let decision = decide(work.state.campaign!, preferred: preferred, earliest: earliest, limit: limit)
            preferred = nil
            switch decision {
            case .complete(let reason):
                work.state.campaign!.status = .completed
                work.state.campaign!.reason = reason.rawValue
                work.state.campaign!.next = nil
                work.effects.append(.cancelTimer)
                work.emit(.campaignCompleted(.init(reason: reason, steps: work.state.campaign!.steps)), at: earliest)
                return
            case .touch(let i, let at, let reason, var delay):
                // A timer's planned touch keeps the delay it was planned with (at firing, `earliest` is
                // the due time itself, which nothing holds back); one put off again at firing says why anew.
                if let planned = work.state.campaign!.next, planned.contactId == work.state.campaign!.contacts[i].id,
                   planned.dueAt.timeIntervalSince1970 == at || (plannedAt != nil && at <= limit) {
                    delay = planned.delay
                }
                if at > limit {
                    work.state.campaign!.next = PlannedTouch(dueAt: Date(timeIntervalSince1970: at),
                                                             contactId: work.state.campaign!.contacts[i].id, reason: reason,
                                                             delay: delay)
                    work.effects.append(.schedule(at: Date(timeIntervalSince1970: at)))
                    return
                }
                // Pre-touch check: suppression always applies, whatever conflict_check_enabled says.
                let email = work.state.campaign!.contacts[i].email
                if work.context.isSuppressed(email) {
                    work.state.campaign!.contacts[i].standing = .suppressed
                    let id = work.state.campaign!.contacts[i].id
                    if config.conflictCheckEnabled {
                        work.emit(.conflictDetected(.init(conflict: .suppressed, contactId: id)), at: at)
                    }
                    work.emit(.contactSuppressed(.init(contactId: id, email: email, reason: .suppressed)), at: at)
                    earliest = max(earliest, at)
                    continue
                }
                emitTouch(work: &work, contact: i, at: at, reason: reason, plannedAt: plannedAt, delay: delay)
                plannedAt = nil
                earliest = max(earliest, at)
            }
        }
    }

    /// The next step for an active campaign: the timer's planned contact when it is still ready by `limit`,
    /// else `plan`.
    private func decide(_ camp: borrowing CampaignState, preferred: (id: String, reason: TouchReason)?, earliest: Double,
                        limit: Double) -> Plan {
        if let p = preferred, camp.steps < config.maxTouchpoints, let i = camp.index(ofId: p.id),
           camp.contacts[i].isEligible, let r = readiness(camp, i, earliest: earliest), r.at <= limit {
            // Honour the plan the timer was set for (status showed it as the next touch).
            return .touch(contact: i, at: r.at, reason: p.reason, delay: r.delay)
        }
        return plan(camp, earliest: earliest)
    }

    /// Emits one touchpoint and records it. `plannedAt`: when it was planned, if that may be earlier than `at`.
    func emitTouch(work: inout Work, contact i: Int, at: Double, reason: TouchReason, plannedAt: Double? = nil,
                   delay: DelayRule? = nil, operatorStep: Bool = false) {
        guard work.state.campaign != nil else { return }
        // The campaign is changed in place (a copy would retain every field and share the contact list).
        switch recordTouch(&work.state.campaign!, contact: i, at: at, reason: reason) {
        case .sent(var touch):
            // Only a touch that went out later than planned says so (on time, `at` is the planned instant).
            if let p = plannedAt, p < at { touch.plannedAt = Date(timeIntervalSince1970: p) }
            touch.delay = delay
            touch.operatorStep = operatorStep
            work.emit(.touchpointDue(touch), at: at)
        case .blocked(let conflict): work.emit(.conflictDetected(conflict), at: at)
        }
    }

    enum TouchResult {
        case sent(EventPayload.TouchpointDue)
        /// The message was not clean.
        case blocked(EventPayload.ConflictDetected)
    }

    /// Renders the touch to contact `i` and records it in `camp`; a message that is not clean blocks the contact.
    private func recordTouch(_ camp: inout CampaignState, contact i: Int, at: Double, reason: TouchReason) -> TouchResult {
        // The contact is read in place (a copy would share its `touches` array and make the update below copy it).
        let (ch, attempt) = channel(for: camp.contacts[i])
        let step = camp.steps + 1
        var referred: Int?
        if !camp.contacts[i].isPrimary, let p = camp.primaryIndex, camp.contacts[p].standing != .unsubscribed, camp.contacts[p].standing != .erased,
           camp.contacts[p].standing != .suppressed {
            referred = p
        }
        let message = MessageRenderer.render(config: config, company: camp.company, topic: camp.topic,
                                             contact: camp.contacts[i], channel: ch, step: step,
                                             referred: referred.map { camp.contacts[$0] }, phrasing: camp.references)
        let contactId = camp.contacts[i].id
        guard message.isClean else {
            // Fail closed: never send a message with a hole in it. The contact is set aside so the campaign goes on.
            camp.contacts[i].standing = .blocked
            return .blocked(.init(conflict: .messageNotClean, contactId: contactId, channel: ch))
        }
        var touch = EventPayload.TouchpointDue(
            touchpointId: camp.id + ":" + String(step), step: step, contactId: contactId, contactEmail: camp.contacts[i].email,
            contactName: camp.contacts[i].name, channel: ch, attempt: attempt, subject: message.subject, message: message.body,
            reason: reason, explanation: explain(reason, step: step, channel: ch, attempt: attempt),
            templateFallback: message.usedFallback)
        if ch == .call { touch.callScript = message.body }
        if ch == .sms || ch == .call { touch.contactPhone = camp.contacts[i].phone }
        if ch == .linkedin { touch.contactLinkedinURL = camp.contacts[i].linkedinURL }
        if let p = referred {
            touch.reference = .init(contactId: camp.contacts[p].id, name: camp.contacts[p].name)
            camp.references += 1
        }
        let when = Date(timeIntervalSince1970: at)
        camp.contacts[i].touches[ch.index] += 1
        if camp.contacts[i].firstTouchAt == nil { camp.contacts[i].firstTouchAt = when }
        camp.contacts[i].lastTouchAt = when
        camp.steps = step
        camp.lastStepAt = when
        camp.next = nil
        switch reason {
        case .introduceColleague: camp.roundCursor = nil
        case .roundRobin: camp.roundCursor = contactId
        case .focusStep: break
        }
        return .sent(touch)
    }

    private func explain(_ reason: TouchReason, step: Int, channel: Channel, attempt: Int) -> String {
        let kind: Int
        switch reason {
        case .focusStep: kind = 0
        case .introduceColleague: kind = 1
        case .roundRobin: kind = 2
        }
        if attempt >= 1 && attempt <= Explanations.attempts { return Explanations.table[kind][channel.index][attempt - 1] }
        return Explanations.text(kind: kind, channel: channel, attempt: attempt)
    }
}

/// The `explanation` texts of touchpoints, built once (they only depend on the reason, channel and attempt).
enum Explanations {
    static let attempts = 12
    static let table: [[[String]]] = (0..<3).map { kind in
        Channel.allCases.sorted { $0.index < $1.index }.map { ch in (1...attempts).map { text(kind: kind, channel: ch, attempt: $0) } }
    }

    static func text(kind: Int, channel: Channel, attempt: Int) -> String {
        let who: String
        switch kind {
        case 0: who = "first steps go to the top contact; "
        case 1: who = "introducing the best-scored colleague not yet touched; "
        default: who = "next contact in play; "
        }
        return who + channel.rawValue + " attempt " + String(attempt)
    }
}
