import AbmWire
import Foundation

/// Leads: start a campaign, or merge new contacts into the running one.
///
/// Rules (docs/campaign-behaviour.md, with the test of each):
/// - Duplicate emails (within a lead or across leads) merge into the first contact; later data only fills
///   fields that were missing (title, phone, time zone, country, LinkedIn, a name that was "Unknown").
/// - A sender's id already used by another person (another address), for the primary or a colleague: the lead is
///   refused (`invalid_field` naming `<path>.id`) and nothing is stored; the same address with the same id is a
///   duplicate and merges. Generated ids are `contact-<n>`, never equal to an id in use.
/// - A contact already on the global suppression list is kept (state `suppressed`, visible in status) and never
///   touched; the acknowledgement warns about it.
/// - `metadata.meeting_scheduled` on a lead is a conflict (only when `conflict_check_enabled`): it pauses the
///   campaign at once (reason `meeting_scheduled`), or, with `auto_pause_on_response` false, stops touches to
///   that lead's primary.
extension CampaignEngine {
    func handleLead(_ lead: JSONValue, now: Double, work: inout Work) -> Result<Void, AbmError> {
        let parsed: ParsedLead
        switch LeadParser.parse(lead, config: config) {
        case .success(let p): parsed = p
        case .failure(let e): return .failure(e)
        }
        if !work.state.accountId.isEmpty && parsed.accountId != work.state.accountId {
            return .failure(AbmError(code: ErrorCode.invalidField,
                                          message: "lead.account_id \"\(parsed.accountId)\" does not match account \"\(work.state.accountId)\"",
                                          field: "lead.account_id"))
        }
        work.warnings = parsed.warnings
        if let camp = work.state.campaign, camp.status == .active || camp.status == .paused {
            return merge(parsed, into: camp, now: now, work: &work)
        }
        return start(parsed, now: now, work: &work)
    }

    private func start(_ lead: ParsedLead, now: Double, work: inout Work) -> Result<Void, AbmError> {
        let n = work.state.campaignsStarted + 1
        var camp = CampaignState(id: work.state.accountId + "-c" + String(n), status: .active, reason: nil, steps: 0, contacts: [],
                                 topic: lead.topic, company: lead.company, startedAt: Date(timeIntervalSince1970: now),
                                 lastStepAt: nil, next: nil, roundCursor: nil,
                                 references: 0, generatedIds: 0)
        if let previous = work.state.campaign {
            camp.outsiders = CampaignEngine.answered(in: previous)
        }
        var added: [Int] = []
        if case .failure(let e) = addContacts(lead, to: &camp, isNewCampaign: true, added: &added, work: &work) {
            return .failure(e)
        }
        work.state.campaignsStarted = n
        work.state.campaign = camp
        work.outcomeCampaignId = camp.id
        work.emit(.campaignStarted(.init(contacts: camp.contacts.map(CampaignEngine.contactSummary), topic: .some(camp.topic),
                                         company: .some(camp.company))), at: now)
        emitSuppressedOnArrival(added: added, at: now, work: &work)
        if lead.meetingScheduled && config.conflictCheckEnabled {
            meetingConflict(primaryEmail: lead.primary.email, at: now, work: &work)
        }
        advance(work: &work, earliest: now, until: now)
        return .success(())
    }

    /// Who answered in a finished campaign (replied, booked a meeting, answered negatively, unsubscribed,
    /// bounced): the next campaign of the account starts with them as `outsiders`, so that a new lead does
    /// not touch someone who already answered (docs/campaign-behaviour.md, "A new campaign for the account").
    static func answered(in previous: CampaignState) -> [String: ContactState.Standing] {
        var out = previous.outsiders
        for c in previous.contacts {
            switch c.standing {
            case .replied, .meetingScheduled, .negative, .unsubscribed, .bounced: out[c.email] = c.standing
            case .active, .suppressed, .blocked, .erased: break  // an erased address is kept only as a hash
            }
        }
        return out
    }

    private func merge(_ lead: ParsedLead, into original: CampaignState, now: Double, work: inout Work) -> Result<Void, AbmError> {
        var camp = original
        var added: [Int] = []
        if case .failure(let e) = addContacts(lead, to: &camp, isNewCampaign: false, added: &added, work: &work) {
            return .failure(e)
        }
        if camp.topic == nil { camp.topic = lead.topic }
        if camp.company == nil { camp.company = lead.company }
        work.state.campaign = camp
        work.outcomeCampaignId = camp.id
        for id in added.map({ camp.contacts[$0].id }) {
            guard let i = camp.index(ofId: id) else { continue }
            work.emit(.contactAdded(.init(contactId: id, email: camp.contacts[i].email, name: camp.contacts[i].name,
                                          score: camp.contacts[i].score)), at: now)
        }
        emitSuppressedOnArrival(added: added, at: now, work: &work)
        if lead.meetingScheduled && config.conflictCheckEnabled {
            meetingConflict(primaryEmail: lead.primary.email, at: now, work: &work)
        }
        if work.state.campaign?.status == .active {
            // New contacts may change who is next; keep the planned instant's rules (interval, window, gaps).
            advance(work: &work, earliest: now, until: now)
        }
        return .success(())
    }

    private func emitSuppressedOnArrival(added: [Int], at: Double, work: inout Work) {
        // Read in place (copying the campaign and each contact was ~1.5k instructions per lead); ids are unique,
        // so "its id is an added one's" is "its position is an added one".
        guard let count = work.state.campaign?.contacts.count else { return }
        for k in 0..<count where work.state.campaign!.contacts[k].standing == .suppressed && added.contains(k) {
            let c = work.state.campaign!.contacts[k]
            work.emit(.contactSuppressed(.init(contactId: c.id, email: c.email, reason: .suppressed)), at: at)
        }
    }

    private func meetingConflict(primaryEmail: String, at: Double, work: inout Work) {
        guard var camp = work.state.campaign, camp.status == .active || camp.status == .paused else { return }
        let idx = camp.index(ofEmail: primaryEmail)
        work.emit(.conflictDetected(.init(conflict: .meetingScheduled, contactId: idx.map { camp.contacts[$0].id })), at: at)
        if config.autoPauseOnResponse {
            guard camp.status == .active else { return }
            camp.status = .paused
            camp.reason = "meeting_scheduled"
            camp.next = nil
            work.state.campaign = camp
            work.effects.append(.cancelTimer)
            work.emit(.campaignPaused(.init(reason: "meeting_scheduled")), at: at)
        } else if let idx, camp.contacts[idx].standing == .active {
            camp.contacts[idx].standing = .meetingScheduled
            work.state.campaign = camp
        }
    }

    /// Adds the lead's contacts (deduplicated by email); `added` receives indices (after sorting) of new ones.
    private func addContacts(_ lead: ParsedLead, to camp: inout CampaignState, isNewCampaign: Bool, added: inout [Int],
                             work: inout Work) -> Result<Void, AbmError> {
        // Ids in use: a plain list (a handful of contacts; a Set hashed each id).
        var usedIds: [String] = []
        usedIds.reserveCapacity(camp.contacts.count + lead.colleagues.count + 1)
        var nextArrival = 0
        for k in camp.contacts.indices {
            usedIds.append(camp.contacts[k].id)
            nextArrival = max(nextArrival, camp.contacts[k].arrival + 1)
        }
        var newOnes: [ContactState] = []
        newOnes.reserveCapacity(lead.colleagues.count + 1)
        // Pass 1: merge duplicates and take the senders' ids.
        var pendingIdless: [Int] = []
        pendingIdless.reserveCapacity(lead.colleagues.count + 1)
        for k in 0...lead.colleagues.count {
            let isLeadPrimary = k == 0
            let d = isLeadPrimary ? lead.primary : lead.colleagues[k - 1]
            if let i = camp.index(ofEmail: d.email) {
                fill(&camp.contacts[i], from: d)
                continue
            }
            if let j = newOnes.indices.first(where: { newOnes[$0].email == d.email }) {
                fill(&newOnes[j], from: d)
                continue
            }
            var id = d.id
            if let given = id {
                // Another person (another address) holds it: refused, so that nothing the sender named is dropped.
                if usedIds.contains(given) {
                    return .failure(AbmError(code: ErrorCode.invalidField,
                                                  message: "\(d.path).id \"\(given)\" is already used by another contact",
                                                  field: "\(d.path).id"))
                }
                usedIds.append(given)
            } else {
                id = nil
            }
            var c = ContactState(id: id ?? "", email: d.email, name: d.name, title: d.title, phone: d.phone,
                                 timezone: d.timezone, country: d.country, linkedinURL: d.linkedinURL,
                                 isPrimary: isNewCampaign && isLeadPrimary, score: config.titleScores.score(d.title),
                                 arrival: nextArrival, standing: .active, touches: [0, 0, 0, 0],
                                 firstTouchAt: nil, lastTouchAt: nil, awayUntil: nil)
            nextArrival += 1
            if let standing = camp.outsiders.removeValue(forKey: c.email) {
                c.standing = standing
                work.warnings.append("\(d.path).email: \(c.email) already answered (\(standing.rawValue)) and will not be contacted")
            } else if work.context.isSuppressed(c.email) {
                c.standing = .suppressed
                work.warnings.append("\(d.path).email: \(c.email) is on the suppression list and will not be contacted")
            }
            if id == nil { pendingIdless.append(newOnes.count) }
            newOnes.append(c)
        }
        // Pass 2: generated ids, never colliding with any id in use.
        for j in pendingIdless {
            var candidate: String
            repeat {
                camp.generatedIds += 1
                candidate = "contact-" + String(camp.generatedIds)
            } while usedIds.contains(candidate)
            usedIds.append(candidate)
            newOnes[j].id = candidate
        }
        let firstNew = camp.contacts.count
        camp.contacts.append(contentsOf: newOnes)
        let order = sortedOrder(camp.contacts)
        added = []
        added.reserveCapacity(newOnes.count)
        if order.indices.contains(where: { order[$0] != $0 }) {
            camp.contacts = order.map { camp.contacts[$0] }
        }
        // Arrival is unique, so the new contacts are where their original positions went.
        for (k, original) in order.enumerated() where original >= firstNew { added.append(k) }
        added.sort { camp.contacts[$0].arrival < camp.contacts[$1].arrival }
        return .success(())
    }

    /// The positions of `contacts` in campaign order: primary first, then by title score (highest first), ties
    /// by arrival. Sorting indices reads the keys in place (sorting the
    /// contacts themselves copied each one, ~15 retains, into the comparison closure: ~1.5k instructions per
    /// comparison in callgrind on `EngineBench`).
    func sortedOrder(_ contacts: [ContactState]) -> [Int] {
        var order = Array(contacts.indices)
        contacts.withUnsafeBufferPointer { c in
            order.sort { i, j in
                if c[i].isPrimary != c[j].isPrimary { return c[i].isPrimary }
                if c[i].score != c[j].score { return c[i].score > c[j].score }
                return c[i].arrival < c[j].arrival
            }
        }
        return order
    }

    private func fill(_ c: inout ContactState, from d: ContactDraft) {
        if c.name == "Unknown" && d.name != "Unknown" { c.name = d.name }
        if c.title == nil, let t = d.title {
            c.title = t
            c.score = config.titleScores.score(t)
        }
        if c.phone == nil { c.phone = d.phone }
        if c.timezone == nil { c.timezone = d.timezone }
        if c.country == nil { c.country = d.country }
        if c.linkedinURL == nil { c.linkedinURL = d.linkedinURL }
    }

    /// Static: passing a method as the `map` function copied the engine (and its configuration) per lead.
    static func contactSummary(_ c: ContactState) -> EventPayload.CampaignStarted.Contact {
        .init(id: c.id, email: c.email, name: c.name, title: c.title, role: c.isPrimary ? .primary : .colleague, score: c.score)
    }
}
