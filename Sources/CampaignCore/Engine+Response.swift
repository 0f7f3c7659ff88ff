import AbmWire
import Foundation

/// Responses (reply, meeting_scheduled, negative, unsubscribe, bounce, out_of_office). The rules, each with the
/// test that shows it: `docs/campaign-behaviour.md` ("What each response does").
///
/// - A `contact_id` that names no contact is `not_found` (an id can only come from this campaign's events, so an
///   unknown one is a client's mistake); with `contact_email` too, a mismatch is `invalid_field`.
/// - An email that names no contact is accepted (whoever wrote from the account answered): a reply or negative
///   still pauses, a meeting still completes, an unsubscribe still suppresses the address everywhere, and the
///   address is remembered so that a later lead does not make it reachable.
/// - `meeting_scheduled` completes the campaign (its goal is reached), from active or paused.
/// - A reply-like response to a paused campaign marks the contact but keeps the pause reason.
/// - A bounce marks the address invalid in this campaign only (a bounce can be transient) and says so with
///   `contact.suppressed` (reason `bounced`); an unsubscribe goes to the global suppression list.
/// - `return_date` as a date means local midnight in the contact's time zone; an instant is taken as is.
extension CampaignEngine {
    func handleResponse(_ r: ResponseInput, now: Double, work: inout Work) -> Result<Void, AbmError> {
        let kind = r.kind
        if !work.state.accountId.isEmpty && r.accountId != work.state.accountId {
            return .failure(AbmError(code: ErrorCode.invalidField, message: "account_id does not match the account",
                                          field: "account_id"))
        }
        var email: String?
        if let raw = r.contactEmail, !Normalize.trim(raw).isEmpty {
            guard let e = Normalize.email(raw) else {
                return .failure(AbmError(code: ErrorCode.invalidField, message: "contact_email is not a plausible address",
                                              field: "contact_email"))
            }
            email = e
        }
        let contactId = r.contactId.flatMap { Normalize.trim($0).isEmpty ? nil : Normalize.trim($0) }
        guard email != nil || contactId != nil else {
            return .failure(AbmError(code: ErrorCode.missingField, message: "contact_email or contact_id is required",
                                          field: "contact_email"))
        }
        guard var camp = work.state.campaign else {
            guard kind == .unsubscribe else {
                return .failure(AbmError(code: ErrorCode.notFound, message: "account \(r.accountId) has no campaign",
                                              field: "account_id"))
            }
            guard let email else {
                return .failure(AbmError(code: ErrorCode.missingField,
                                              message: "contact_email is required to unsubscribe from an account without a campaign",
                                              field: "contact_email"))
            }
            work.effects.append(.suppress(email: email))
            work.emit(.responseReceived(.init(contactId: nil, kind: kind, email: email)), at: now)
            work.emit(.contactSuppressed(.init(contactId: nil, email: email, reason: .unsubscribed)), at: now)
            return .success(())
        }
        // Who is it?
        let byId = contactId.flatMap { camp.index(ofId: $0) }
        let byEmail = email.flatMap { camp.index(ofEmail: $0) }
        if contactId != nil && email != nil && byId != byEmail {
            return .failure(AbmError(code: ErrorCode.invalidField,
                                          message: "contact_id and contact_email name different people", field: "contact_id"))
        }
        if let contactId, byId == nil, email == nil {
            return .failure(AbmError(code: ErrorCode.notFound,
                                          message: "contact_id \"\(contactId)\" is not a contact of this campaign", field: "contact_id"))
        }
        let idx = byId ?? byEmail
        let address = idx.map { camp.contacts[$0].email } ?? email!
        var received = EventPayload.ResponseReceived(contactId: idx.map { camp.contacts[$0].id }, kind: kind, email: address,
                                                     channel: r.channel)
        var awayUntil: Double?
        if kind == .outOfOffice {
            if let raw = r.returnDate, !raw.isEmpty {
                let z = idx.map { zone(of: camp.contacts[$0]) } ?? config.defaultZone
                guard let t = CampaignEngine.parseReturnDate(raw, zone: z) else {
                    return .failure(AbmError(code: ErrorCode.invalidField,
                                                  message: "return_date must be YYYY-MM-DD or an ISO-8601 instant", field: "return_date"))
                }
                awayUntil = t
            } else {
                awayUntil = now + config.outOfOfficeDefaultDays * 86_400
            }
            received.returnAt = Date(timeIntervalSince1970: awayUntil!)
        }
        work.emit(.responseReceived(received), at: now)
        if kind == .unsubscribe { work.effects.append(.suppress(email: address)) }
        var newOutsider = false
        if idx == nil, let standing = CampaignEngine.standing(after: kind), camp.outsiders[address] == nil {
            // Not a contact (yet): remember, so that a later lead does not add this person as reachable.
            camp.outsiders[address] = standing
            work.state.campaign = camp
            newOutsider = true
        }
        guard camp.status == .active || camp.status == .paused else {
            // A finished campaign only records who answered, for the account's next campaign (`answered(in:)`).
            if let idx, camp.contacts[idx].standing == .active, let standing = CampaignEngine.standing(after: kind) {
                camp.contacts[idx].standing = standing
                work.state.campaign = camp
            }
            return .success(())
        }
        switch kind {
        case .meetingScheduled:
            if let idx, camp.contacts[idx].standing == .active { camp.contacts[idx].standing = .meetingScheduled }
            work.state.campaign = camp
            complete(reason: .meetingScheduled, at: now, work: &work)
            return .success(())
        case .reply, .negative:
            if let idx, camp.contacts[idx].standing == .active {
                camp.contacts[idx].standing = kind == .reply ? .replied : .negative
            }
            work.state.campaign = camp
            if config.autoPauseOnResponse {
                if camp.status == .active {
                    let reason: PauseReason = kind == .reply ? .responded : .negativeSentiment
                    pause(reason: reason.rawValue, at: now, work: &work)
                }
                return .success(())
            }
        case .unsubscribe:
            // The address is on the global list whether or not it is a contact; the event says so either way.
            if let idx {
                camp.contacts[idx].standing = .unsubscribed
                work.state.campaign = camp
            }
            work.emit(.contactSuppressed(.init(contactId: idx.map { camp.contacts[$0].id }, email: address,
                                               reason: .unsubscribed)), at: now)
        case .bounce:
            var bounced = newOutsider
            if let idx, camp.contacts[idx].standing == .active {
                camp.contacts[idx].standing = .bounced
                bounced = true
            }
            work.state.campaign = camp
            if bounced {
                work.emit(.contactSuppressed(.init(contactId: idx.map { camp.contacts[$0].id }, email: address,
                                                   reason: .bounced)), at: now)
            }
        case .outOfOffice:
            if let idx { camp.contacts[idx].awayUntil = Date(timeIntervalSince1970: awayUntil!) }
            work.state.campaign = camp
        }
        if idx != nil && camp.status == .active {
            advance(work: &work, earliest: now, until: now)
        }
        return .success(())
    }

    /// The standing a response leaves a contact in (nil: out_of_office, which only postpones).
    static func standing(after kind: ResponseKind) -> ContactState.Standing? {
        switch kind {
        case .reply: return .replied
        case .negative: return .negative
        case .meetingScheduled: return .meetingScheduled
        case .unsubscribe: return .unsubscribed
        case .bounce: return .bounced
        case .outOfOffice: return nil
        }
    }

    /// Completes the campaign (active or paused): no touch is planned any more.
    func complete(reason: CompletionReason, at: Double, work: inout Work) {
        guard var camp = work.state.campaign, camp.status == .active || camp.status == .paused else { return }
        camp.status = .completed
        camp.reason = reason.rawValue
        camp.next = nil
        work.state.campaign = camp
        work.effects.append(.cancelTimer)
        work.emit(.campaignCompleted(.init(reason: reason, steps: camp.steps)), at: at)
    }

    func pause(reason: String, at: Double, work: inout Work) {
        guard var camp = work.state.campaign else { return }
        camp.status = .paused
        camp.reason = reason
        camp.next = nil
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
