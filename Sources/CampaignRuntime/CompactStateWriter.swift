import AbmWire
import CampaignCore
import Foundation

/// `AccountState` written by hand in `CompactStateCodec`'s format, byte for byte what the generic
/// `Codable` path writes (`CompactWriter.value`), without its existential containers and per-value
/// allocations (the generic path was ~14 % of a touch's CPU).
///
/// The keys and their order are those of the types' `CodingKeys` in `CampaignCore`. A field added there
/// must be added here too: `CompactStateCodecTests` compares both paths byte for byte on real states and
/// counts the stored properties of each type, so a forgotten field fails a test instead of being lost.
/// A value type writing into a local array: no class property accesses (exclusivity checks, retains)
/// per byte, which the first hand-written version spent most of its time on.
struct CompactStateWriter {
    var bytes: [UInt8] = []

    mutating func accountState(_ s: AccountState) {
        bytes.append(CompactTag.keyed)
        key("account"); string(s.accountId)
        key("started"); int(Int64(s.campaignsStarted))
        if let c = s.campaign { key("campaign"); campaignState(c) }
        if !s.others.isEmpty {
            key("others")
            bytes.append(CompactTag.unkeyed)
            for c in s.others { campaignState(c) }
            bytes.append(CompactTag.end)
        }
        bytes.append(CompactTag.end)
    }

    mutating func campaignState(_ c: CampaignState) {
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
        if let v = c.next {
            key("due"); date(v.dueAt)
            key("dueContact"); string(v.contactId)
            key("dueReason"); string(v.reason.rawValue)
            if let d = v.delay { key("dueDelay"); string(d.rawValue) }
        }
        if let v = c.roundCursor { key("cursor"); string(v) }
        key("refs"); int(Int64(c.references))
        key("gen"); int(Int64(c.generatedIds))
        if !c.outsiders.isEmpty {
            key("outsiders")
            bytes.append(CompactTag.keyed)
            // Dictionary order, as `Dictionary.encode(to:)` writes it.
            for (email, standing) in c.outsiders { dynamicKey(email); string(standing.rawValue) }
            bytes.append(CompactTag.end)
        }
        if let p = c.playbook { key("pb"); string(p.name); key("pbv"); int(Int64(p.version)) }
        if let v = c.migratingTo { key("pbto"); int(Int64(v)) }
        bytes.append(CompactTag.end)
    }

    mutating func contactState(_ c: ContactState) {
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

    // MARK: Primitives (as `CompactWriter`'s)

    /// As `Date`'s `Codable`: seconds since 2001 as a double.
    mutating func date(_ d: Date) { double(d.timeIntervalSinceReferenceDate) }

    mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func int(_ i: Int64) {
        bytes.append(CompactTag.int)
        varint(UInt64(bitPattern: (i << 1) ^ (i >> 63)))
    }

    mutating func double(_ d: Double) {
        bytes.append(CompactTag.double)
        var bits = d.bitPattern.littleEndian
        for _ in 0..<8 {
            bytes.append(UInt8(truncatingIfNeeded: bits))
            bits >>= 8
        }
    }

    mutating func string(_ s: String) {
        bytes.append(CompactTag.string)
        var s = s
        s.withUTF8 { u in
            varint(UInt64(u.count))
            bytes.append(contentsOf: u)
        }
    }

    /// A key: tagged like a string.
    mutating func key(_ s: StaticString) {
        bytes.append(CompactTag.string)
        varint(UInt64(s.utf8CodeUnitCount))
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    mutating func dynamicKey(_ s: String) { string(s) }

    mutating func bool(_ b: Bool) { bytes.append(b ? CompactTag.trueV : CompactTag.falseV) }
}
