import Foundation

/// Responses (reply, meeting_scheduled, negative, unsubscribe, bounce, out_of_office).
///
/// Choices where SPEC is silent:
/// - A `contact_id` that names no contact is `not_found`; with `contact_email` too, a mismatch (one names a contact,
///   the other nobody or someone else) is `invalid_field`.
/// - An email that names no contact is accepted: a reply-like response still pauses; an unsubscribe still
///   suppresses the address everywhere.
/// - A reply-like response to a paused campaign marks the contact but keeps the pause reason.
/// - A bounce marks the address invalid in this campaign only (a bounce can be transient); an unsubscribe goes to
///   the global suppression list.
/// - `return_date` as a date means local midnight in the contact's time zone; an instant is taken as is.
extension CampaignEngine {
    static let responseKinds: Set<String> = ["reply", "meeting_scheduled", "negative", "unsubscribe", "bounce", "out_of_office"]

    func handleResponse(_ r: ResponseInput, now: Double, work: inout Work) -> Result<Void, CampaignError> {
        let kind = Normalize.trim(r.kind).lowercased()
        guard CampaignEngine.responseKinds.contains(kind) else {
            return .failure(CampaignError(code: CampaignError.invalidField,
                                          message: "kind must be one of reply, meeting_scheduled, negative, unsubscribe, bounce, out_of_office",
                                          field: "kind"))
        }
        if !work.state.accountId.isEmpty && r.accountId != work.state.accountId {
            return .failure(CampaignError(code: CampaignError.invalidField, message: "account_id does not match the account",
                                          field: "account_id"))
        }
        var email: String?
        if let raw = r.contactEmail, !Normalize.trim(raw).isEmpty {
            guard let e = Normalize.email(raw) else {
                return .failure(CampaignError(code: CampaignError.invalidField, message: "contact_email is not a plausible address",
                                              field: "contact_email"))
            }
            email = e
        }
        let contactId = r.contactId.flatMap { Normalize.trim($0).isEmpty ? nil : Normalize.trim($0) }
        guard email != nil || contactId != nil else {
            return .failure(CampaignError(code: CampaignError.missingField, message: "contact_email or contact_id is required",
                                          field: "contact_email"))
        }
        guard var camp = work.state.campaign else {
            guard kind == "unsubscribe" else {
                return .failure(CampaignError(code: CampaignError.notFound, message: "account \(r.accountId) has no campaign",
                                              field: "account_id"))
            }
            guard let email else {
                return .failure(CampaignError(code: CampaignError.missingField,
                                              message: "contact_email is required to unsubscribe from an account without a campaign",
                                              field: "contact_email"))
            }
            work.effects.append(.suppress(email: email))
            work.emit(.responseReceived(.init(contactId: nil, kind: kind, email: email)), at: now)
            work.emit(.contactSuppressed(.init(contactId: nil, email: email, reason: "unsubscribed")), at: now)
            return .success(())
        }
        // Who is it?
        let byId = contactId.flatMap { camp.index(ofId: $0) }
        let byEmail = email.flatMap { camp.index(ofEmail: $0) }
        if contactId != nil && email != nil && byId != byEmail {
            return .failure(CampaignError(code: CampaignError.invalidField,
                                          message: "contact_id and contact_email name different people", field: "contact_id"))
        }
        if let contactId, byId == nil, email == nil {
            return .failure(CampaignError(code: CampaignError.notFound,
                                          message: "contact_id \"\(contactId)\" is not a contact of this campaign", field: "contact_id"))
        }
        let idx = byId ?? byEmail
        let address = idx.map { camp.contacts[$0].email } ?? email!
        var received = EventPayload.ResponseReceived(contactId: idx.map { camp.contacts[$0].id }, kind: kind, email: address,
                                                     channel: r.channel)
        var awayUntil: Double?
        if kind == "out_of_office" {
            if let raw = r.returnDate, !raw.isEmpty {
                let z = idx.map { zone(of: camp.contacts[$0]) } ?? config.defaultZone
                guard let t = CampaignEngine.parseReturnDate(raw, zone: z) else {
                    return .failure(CampaignError(code: CampaignError.invalidField,
                                                  message: "return_date must be YYYY-MM-DD or an ISO-8601 instant", field: "return_date"))
                }
                awayUntil = t
            } else {
                awayUntil = now + config.outOfOfficeDefaultDays * 86_400
            }
            received.returnAt = Date(timeIntervalSince1970: awayUntil!)
        }
        work.emit(.responseReceived(received), at: now)
        if kind == "unsubscribe" { work.effects.append(.suppress(email: address)) }
        guard camp.status == .active || camp.status == .paused else {
            // A finished campaign only records the response.
            return .success(())
        }
        if idx == nil, let standing = CampaignEngine.standing(after: kind), camp.outsiders[address] == nil {
            // Not a contact (yet): remember, so that a later lead does not add this person as reachable.
            camp.outsiders[address] = standing
            work.state.campaign = camp
        }
        switch kind {
        case "reply", "meeting_scheduled", "negative":
            if let idx, camp.contacts[idx].standing == .active {
                camp.contacts[idx].standing = kind == "reply" ? .replied : kind == "negative" ? .negative : .meetingScheduled
            }
            work.state.campaign = camp
            if config.autoPauseOnResponse {
                if camp.status == .active {
                    let reason = kind == "reply" ? "responded" : kind == "negative" ? "negative_sentiment" : "meeting_scheduled"
                    pause(reason: reason, at: now, work: &work)
                }
                return .success(())
            }
        case "unsubscribe":
            if let idx {
                camp.contacts[idx].standing = .unsubscribed
                work.state.campaign = camp
                work.emit(.contactSuppressed(.init(contactId: camp.contacts[idx].id, email: address, reason: "unsubscribed")),
                          at: now)
            }
        case "bounce":
            if let idx, camp.contacts[idx].standing == .active { camp.contacts[idx].standing = .bounced }
            work.state.campaign = camp
        default: // out_of_office
            if let idx { camp.contacts[idx].awayUntil = Date(timeIntervalSince1970: awayUntil!) }
            work.state.campaign = camp
        }
        if idx != nil && camp.status == .active {
            advance(work: &work, earliest: now, until: now)
        }
        return .success(())
    }

    /// The standing a response leaves a contact in (nil: out_of_office, which only postpones).
    static func standing(after kind: String) -> ContactState.Standing? {
        switch kind {
        case "reply": return .replied
        case "negative": return .negative
        case "meeting_scheduled": return .meetingScheduled
        case "unsubscribe": return .unsubscribed
        case "bounce": return .bounced
        default: return nil
        }
    }

    func pause(reason: String, at: Double, work: inout Work) {
        guard var camp = work.state.campaign else { return }
        camp.status = .paused
        camp.reason = reason
        camp.nextDueAt = nil
        camp.nextContactId = nil
        camp.nextReason = nil
        work.state.campaign = camp
        work.effects.append(.cancelTimer)
        work.emit(.campaignPaused(.init(reason: reason)), at: at)
    }

    static func parseReturnDate(_ raw: String, zone: Zone) -> Double? {
        let s = Normalize.trim(raw)
        if let day = LocalTime.parseDate(s) {
            return LocalTime.instant(fromLocal: Double(day) * LocalTime.secondsPerDay, in: zone)
        }
        return ISOTime.parse(s)
    }
}
