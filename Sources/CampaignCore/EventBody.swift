import AbmWire
import Foundation

/// The one encoding of an event body (protocols/abm-wire-v1.md §8.2), without `seq`: the store writes
/// `{"seq":N,` in front, so the bytes stored, published and replayed are identical. Used by the
/// runtime's default `EventBodyEncoder` and by the gateway's `WireEvent`.
///
/// `type`, `at` (`WireTime`), `account_id` and `campaign_id` (null when the event belongs to no
/// campaign) plus the payload's fields, keys sorted by their UTF-8 bytes, no whitespace, strings escaped as
/// `JSONWriter` does: the same bytes `JSONWriter.writeObject` gives for the same fields.
///
/// Hand-written, keys in sorted order per type, because it runs once per event: measured with `EngineBench`'s
/// body phase (callgrind, bodies of 616 B on average), copying the event's `[String: JSONValue]`, adding the
/// common keys, sorting the keys and writing took ≈ 48.8k instructions per body; this writer ≈ 12.5k (most of it
/// the escaping scan of the message), 3.5× the bodies per CPU second (Benchmarks/RESULTS-engine.md).
/// `EventBodyTests` checks every body against the generic `JSONWriter` and the payload decoder.
public enum EventBody {
    public static func encode(_ event: DomainEvent) -> [UInt8] {
        var w = BodyWriter(capacity: estimatedSize(event))
        w.start(event)
        switch event.payload {
        case .campaignStarted(let p):
            w.campaignId(event)
            if let v = p.company { w.raw(#","company":"#); w.nullable(v) }
            w.raw(#","contacts":["#)
            for (k, c) in p.contacts.enumerated() {
                w.raw(k == 0 ? #"{"email":"# : #",{"email":"#)
                w.string(c.email)
                w.raw(#","id":"#); w.string(c.id)
                if let v = c.name { w.raw(#","name":"#); w.string(v) }
                if let v = c.role { w.raw(v == .primary ? #","role":"primary""# : #","role":"colleague""#) }
                if let v = c.score { w.raw(#","score":"#); w.int(v) }
                if let v = c.title { w.raw(#","title":"#); w.string(v) }
                w.raw("}")
            }
            w.raw("]")
            if let v = p.topic { w.raw(#","topic":"#); w.nullable(v) }
        case .contactAdded(let p):
            w.campaignId(event)
            w.raw(#","contact_id":"#); w.string(p.contactId)
            w.raw(#","email":"#); w.string(p.email)
            if let v = p.name { w.raw(#","name":"#); w.string(v) }
            if let v = p.score { w.raw(#","score":"#); w.int(v) }
        case .touchpointDue(let p):
            if let v = p.attempt { w.raw(#","attempt":"#); w.int(v) }
            if let v = p.callScript { w.raw(#","call_script":"#); w.string(v) }
            w.campaignId(event)
            w.raw(#","channel":"#); w.channel(p.channel)
            w.raw(#","contact_email":"#); w.string(p.contactEmail)
            w.raw(#","contact_id":"#); w.string(p.contactId)
            if let v = p.contactLinkedinURL { w.raw(#","contact_linkedin_url":"#); w.string(v) }
            if let v = p.contactName { w.raw(#","contact_name":"#); w.string(v) }
            if let v = p.contactPhone { w.raw(#","contact_phone":"#); w.string(v) }
            if let v = p.delay { w.raw(#","delay":"#); w.string(v.rawValue) }
            if let v = p.explanation { w.raw(#","explanation":"#); w.string(v) }
            w.raw(#","message":"#); w.string(p.message)
            if p.operatorStep { w.raw(#","operator_step":true"#) }
            if let v = p.plannedAt { w.raw(#","planned_at":"#); w.time(v) }
            w.raw(#","reason":"#); w.string(p.reason.rawValue)
            if let r = p.reference {
                w.raw(#","reference":{"contact_id":"#); w.string(r.contactId)
                w.raw(#","name":"#); w.string(r.name)
                w.raw("}")
            }
            w.raw(#","step":"#); w.int(p.step)
            if let v = p.subject { w.raw(#","subject":"#); w.string(v) }
            if p.templateFallback { w.raw(#","template_fallback":true"#) }
            w.raw(#","touchpoint_id":"#); w.string(p.touchpointId)
        case .responseReceived(let p):
            w.campaignId(event)
            if let v = p.channel { w.raw(#","channel":"#); w.string(v) }
            w.raw(#","contact_id":"#); w.nullable(p.contactId)
            if let v = p.email { w.raw(#","email":"#); w.string(v) }
            w.raw(#","kind":"#); w.string(p.kind.rawValue)
            if let v = p.returnAt { w.raw(#","return_at":"#); w.time(v) }
        case .campaignPaused(let p), .campaignResumed(let p), .campaignCancelled(let p):
            w.campaignId(event)
            w.raw(#","reason":"#); w.nullable(p.reason)
        case .campaignCompleted(let p):
            w.campaignId(event)
            w.raw(#","reason":"#); w.nullable(p.reason?.rawValue)
            if let v = p.steps { w.raw(#","steps":"#); w.int(v) }
        case .contactSuppressed(let p):
            w.campaignId(event)
            w.raw(#","contact_id":"#); w.nullable(p.contactId)
            w.raw(#","email":"#); w.string(p.email)
            w.raw(#","reason":"#); w.string(p.reason.rawValue)
        case .conflictDetected(let p):
            w.campaignId(event)
            if let v = p.channel { w.raw(#","channel":"#); w.channel(v) }
            w.raw(#","conflict":"#); w.string(p.conflict.rawValue)
            w.raw(#","contact_id":"#); w.nullable(p.contactId)
        case .contactErased(let p):
            w.campaignId(event)
            w.raw(#","contact_id":"#); w.nullable(p.contactId)
            w.raw(#","email_sha256":"#); w.string(p.emailSHA256)
        case .campaignMigrated(let p):
            w.campaignId(event)
            w.raw(#","from_version":"#); w.int(p.fromVersion)
            w.raw(#","playbook":"#); w.string(p.playbook)
            w.raw(#","to_version":"#); w.int(p.toVersion)
        }
        w.finish(event)
        return w.out
    }

    /// Enough for the common case in one allocation (a touch's message dominates).
    private static func estimatedSize(_ event: DomainEvent) -> Int {
        switch event.payload {
        case .touchpointDue(let p):
            return 448 + p.message.utf8.count + (p.callScript?.utf8.count ?? 0) + (p.subject?.utf8.count ?? 0)
        case .campaignStarted(let p): return 192 + 128 * p.contacts.count
        default: return 256
        }
    }
}

/// Appends JSON pieces to a byte buffer (see `EventBody`).
struct BodyWriter {
    var out: [UInt8]

    init(capacity: Int) {
        out = []
        out.reserveCapacity(capacity)
    }

    @inline(__always) mutating func raw(_ s: StaticString) {
        out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inline(__always) mutating func string(_ s: String) { JSONWriter.writeString(s, into: &out) }

    mutating func nullable(_ s: String?) {
        if let s { string(s) } else { raw("null") }
    }

    mutating func int(_ v: Int) { JSONWriter.writeInt(Int64(v), into: &out) }

    mutating func time(_ d: Date) {
        out.append(0x22)
        WireTime.write(d, into: &out)
        out.append(0x22)
    }

    mutating func channel(_ c: Channel) {
        switch c {
        case .email: raw(#""email""#)
        case .sms: raw(#""sms""#)
        case .call: raw(#""call""#)
        case .linkedin: raw(#""linkedin""#)
        }
    }

    /// `{"account_id":…,"at":…` — the keys that sort before every type's own.
    mutating func start(_ e: DomainEvent) {
        raw(#"{"account_id":"#)
        string(e.accountId)
        raw(#","at":"#)
        time(e.at)
    }

    mutating func campaignId(_ e: DomainEvent) {
        raw(#","campaign_id":"#)
        nullable(e.campaignId)
    }

    /// `,"type":…}` — `type` sorts after every type's own keys.
    mutating func finish(_ e: DomainEvent) {
        raw(#","type":"#)
        string(e.type.rawValue)
        out.append(0x7D)
    }
}

extension EventPayload {
    /// Reads a payload from a body's fields (the keys besides the common ones), e.g. a documented example.
    /// Unknown keys are ignored, as the protocol asks of receivers; a missing required field or a value of the
    /// wrong type is `invalid_field`.
    public init(type: String, fields o: [String: JSONValue]) throws(AbmError) {
        guard let t = EventType(rawValue: type) else {
            throw AbmError(code: ErrorCode.invalidField, message: "unknown event type \"\(type)\"", field: "type")
        }
        func bad(_ key: String) -> AbmError {
            AbmError(code: ErrorCode.invalidField, message: "\(type).\(key) is missing or has the wrong type", field: key)
        }
        func str(_ key: String, in o: [String: JSONValue] = o) throws(AbmError) -> String {
            guard case .string(let s)? = o[key] else { throw bad(key) }
            return s
        }
        func optStr(_ key: String, in o: [String: JSONValue] = o) throws(AbmError) -> String? {
            switch o[key] {
            case nil: return nil
            case .string(let s)?: return s
            default: throw bad(key)
            }
        }
        /// A key whose value is a string or null (absent reads as null).
        func nullableStr(_ key: String) throws(AbmError) -> String? {
            if o[key] == .null { return nil }
            return try optStr(key)
        }
        /// Absent, null or a string, kept apart.
        func tristate(_ key: String) throws(AbmError) -> String?? {
            switch o[key] {
            case nil: return .none
            case .null?: return .some(nil)
            case .string(let s)?: return .some(s)
            default: throw bad(key)
            }
        }
        func optInt(_ key: String, in o: [String: JSONValue] = o) throws(AbmError) -> Int? {
            switch o[key] {
            case nil: return nil
            case .int(let i)?: return Int(i)
            default: throw bad(key)
            }
        }
        func int(_ key: String) throws(AbmError) -> Int {
            guard let i = try optInt(key) else { throw bad(key) }
            return i
        }
        /// A word of the vocabulary (a closed enum): absent is nil, anything but one of its values is refused.
        func word<W: RawRepresentable<String>>(_ key: String, _: W.Type = W.self) throws(AbmError) -> W? {
            guard let s = try nullableStr(key) else { return nil }
            guard let w = W(rawValue: s) else { throw bad(key) }
            return w
        }
        func requiredWord<W: RawRepresentable<String>>(_ key: String) throws(AbmError) -> W {
            guard let w: W = try word(key) else { throw bad(key) }
            return w
        }
        func channel(_ key: String) throws(AbmError) -> Channel? {
            guard let s = try optStr(key) else { return nil }
            guard let c = Channel(rawValue: s) else { throw bad(key) }
            return c
        }
        func time(_ key: String) throws(AbmError) -> Date? {
            guard let s = try optStr(key) else { return nil }
            guard let d = WireTime.parse(s) else { throw bad(key) }
            return d
        }
        switch t {
        case .campaignStarted:
            guard case .array(let list)? = o["contacts"] else { throw bad("contacts") }
            var contacts: [CampaignStarted.Contact] = []
            for item in list {
                guard case .object(let c) = item else { throw bad("contacts") }
                var role: CampaignStarted.Role?
                if let r = try optStr("role", in: c) {
                    guard let v = CampaignStarted.Role(rawValue: r) else { throw bad("contacts.role") }
                    role = v
                }
                contacts.append(.init(id: try str("id", in: c), email: try str("email", in: c), name: try optStr("name", in: c),
                                      title: try optStr("title", in: c), role: role, score: try optInt("score", in: c)))
            }
            self = .campaignStarted(.init(contacts: contacts, topic: try tristate("topic"), company: try tristate("company")))
        case .contactAdded:
            self = .contactAdded(.init(contactId: try str("contact_id"), email: try str("email"), name: try optStr("name"),
                                       score: try optInt("score")))
        case .touchpointDue:
            var reference: TouchpointDue.Reference?
            if let r = o["reference"] {
                guard case .object(let ro) = r else { throw bad("reference") }
                reference = .init(contactId: try str("contact_id", in: ro), name: try str("name", in: ro))
            }
            var fallback = false
            if let f = o["template_fallback"] {
                guard case .bool(true) = f else { throw bad("template_fallback") }
                fallback = true
            }
            if let f = o["operator_step"] {
                guard case .bool(true) = f else { throw bad("operator_step") }
            }
            guard let ch = try channel("channel") else { throw bad("channel") }
            var touch = EventPayload.TouchpointDue(
                touchpointId: try str("touchpoint_id"), step: try int("step"), contactId: try str("contact_id"),
                contactEmail: try str("contact_email"), contactName: try optStr("contact_name"), channel: ch,
                attempt: try optInt("attempt"), subject: try optStr("subject"), message: try str("message"),
                callScript: try optStr("call_script"), contactPhone: try optStr("contact_phone"),
                contactLinkedinURL: try optStr("contact_linkedin_url"), reference: reference, reason: try requiredWord("reason"),
                explanation: try optStr("explanation"), templateFallback: fallback, plannedAt: try time("planned_at"), delay: try word("delay"))
            touch.operatorStep = o["operator_step"] != nil
            self = .touchpointDue(touch)
        case .responseReceived:
            self = .responseReceived(.init(contactId: try nullableStr("contact_id"), kind: try requiredWord("kind"),
                                           email: try optStr("email"), channel: try optStr("channel"),
                                           returnAt: try time("return_at")))
        case .campaignPaused: self = .campaignPaused(.init(reason: try nullableStr("reason")))
        case .campaignResumed: self = .campaignResumed(.init(reason: try nullableStr("reason")))
        case .campaignCancelled: self = .campaignCancelled(.init(reason: try nullableStr("reason")))
        case .campaignCompleted:
            self = .campaignCompleted(.init(reason: try word("reason"), steps: try optInt("steps")))
        case .contactSuppressed:
            self = .contactSuppressed(.init(contactId: try nullableStr("contact_id"), email: try str("email"),
                                            reason: try requiredWord("reason")))
        case .conflictDetected:
            self = .conflictDetected(.init(conflict: try requiredWord("conflict"), contactId: try nullableStr("contact_id"),
                                           channel: try channel("channel")))
        case .contactErased:
            self = .contactErased(.init(contactId: try nullableStr("contact_id"), emailSHA256: try str("email_sha256")))
        case .campaignMigrated:
            self = .campaignMigrated(.init(playbook: try str("playbook"), fromVersion: try int("from_version"),
                                           toVersion: try int("to_version")))
        }
    }
}
