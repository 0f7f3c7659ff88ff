import AbmWire
import Foundation

/// What an erased contact's personal fields are replaced with (state, status and the stored events).
public enum Erased {
    public static let text = "[erased]"
}

extension CampaignEngine {
    /// Erasure of a person (an operator's `erase`): every contact of the campaign with this address is
    /// blanked (name, email, title, phone, LinkedIn, country, zone) and set `erased`, so that it is never
    /// touched again and colleagues' messages no longer refer to it; the address is forgotten among those
    /// remembered as having answered. One `contact.erased` per contact (or one with `contact_id: null`
    /// when it was no contact: the runtime erases only accounts whose state or events name the address),
    /// carrying the address's hash only. A planned touch to the person is re-planned.
    func handleErase(email: String, emailSHA256: String, now: Double, work: inout Work) {
        // The runtime erases only accounts whose state or events name the address: the audit event is
        // emitted even when only the events did (an unsubscribe for an account without a campaign).
        guard var camp = work.state.campaign else {
            work.emit(.contactErased(.init(contactId: nil, emailSHA256: emailSHA256)), at: now)
            return
        }
        var erasedIds: [String] = []
        for i in camp.contacts.indices where camp.contacts[i].email == email {
            var c = camp.contacts[i]
            c.email = Erased.text
            c.name = Erased.text
            c.title = nil
            c.phone = nil
            c.linkedinURL = nil
            c.country = nil
            c.timezone = nil
            c.standing = .erased
            camp.contacts[i] = c
            erasedIds.append(c.id)
        }
        camp.outsiders[email] = nil
        let plannedForErased = camp.next.map { erasedIds.contains($0.contactId) } ?? false
        if plannedForErased { camp.next = nil }
        work.state.campaign = camp
        for id in erasedIds {
            work.emit(.contactErased(.init(contactId: id, emailSHA256: emailSHA256)), at: now)
        }
        if erasedIds.isEmpty {
            work.emit(.contactErased(.init(contactId: nil, emailSHA256: emailSHA256)), at: now)
        }
        if plannedForErased && camp.status == .active {
            // The planned touch was to the person: plan the next one among the others (or complete).
            work.effects.append(.cancelTimer)
            advance(work: &work, earliest: now, until: now)
        }
    }
}
