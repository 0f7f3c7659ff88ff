import CampaignCore
import Foundation

/// `AccountState` written by hand in `CompactStateCodec`'s format, byte for byte what the generic
/// `Codable` path writes (`CompactWriter.value`), without its existential containers and per-value
/// allocations (the generic path was ~14 % of a touch's CPU).
///
/// The keys and their order are those of the types' `CodingKeys` in `CampaignCore`. A field added there
/// must be added here too: `CompactStateCodecTests` compares both paths byte for byte on real states and
/// counts the stored properties of each type, so a forgotten field fails a test instead of being lost.
extension CompactWriter {
    func accountState(_ s: AccountState) {
        bytes.append(CompactTag.keyed)
        key("account"); string(s.accountId)
        key("started"); int(Int64(s.campaignsStarted))
        if let c = s.campaign { key("campaign"); campaignState(c) }
        bytes.append(CompactTag.end)
    }

    func campaignState(_ c: CampaignState) {
        bytes.append(CompactTag.keyed)
        key("id"); string(c.id)
        key("status"); string(c.status.rawValue)
        if let v = c.reason { key("reason"); string(v) }
        key("steps"); int(Int64(c.steps))
        key("contacts")
        bytes.append(CompactTag.unkeyed)
        for contact in c.contacts { contactState(contact) }
        bytes.append(CompactTag.end)
        if let v = c.topic { key("topic"); string(v) }
        if let v = c.company { key("company"); string(v) }
        key("started"); date(c.startedAt)
        if let v = c.lastStepAt { key("lastStep"); date(v) }
        if let v = c.nextDueAt { key("due"); date(v) }
        if let v = c.nextContactId { key("dueContact"); string(v) }
        if let v = c.nextReason { key("dueReason"); string(v) }
        if let v = c.roundCursor { key("cursor"); string(v) }
        key("refs"); int(Int64(c.references))
        key("gen"); int(Int64(c.generatedIds))
        if !c.outsiders.isEmpty {
            key("outsiders")
            bytes.append(CompactTag.keyed)
            // Dictionary order, as `Dictionary.encode(to:)` writes it.
            for (email, standing) in c.outsiders { key(email); string(standing.rawValue) }
            bytes.append(CompactTag.end)
        }
        bytes.append(CompactTag.end)
    }

    func contactState(_ c: ContactState) {
        bytes.append(CompactTag.keyed)
        key("id"); string(c.id)
        key("email"); string(c.email)
        key("name"); string(c.name)
        if let v = c.title { key("title"); string(v) }
        if let v = c.phone { key("phone"); string(v) }
        if let v = c.timezone { key("tz"); string(v) }
        if let v = c.country { key("country"); string(v) }
        if let v = c.linkedinURL { key("li"); string(v) }
        key("primary"); bool(c.isPrimary)
        key("score"); int(Int64(c.score))
        key("arrival"); int(Int64(c.arrival))
        key("standing"); string(c.standing.rawValue)
        key("touches")
        bytes.append(CompactTag.unkeyed)
        for n in c.touches { int(Int64(n)) }
        bytes.append(CompactTag.end)
        if let v = c.firstTouchAt { key("first"); date(v) }
        if let v = c.lastTouchAt { key("last"); date(v) }
        if let v = c.awayUntil { key("away"); date(v) }
        bytes.append(CompactTag.end)
    }

    /// As `Date`'s `Codable`: seconds since 2001 as a double.
    func date(_ d: Date) { double(d.timeIntervalSinceReferenceDate) }
}
