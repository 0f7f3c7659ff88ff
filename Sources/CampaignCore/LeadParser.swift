/// A contact as read from a lead, validated and normalised, before it joins a campaign.
struct ContactDraft: Equatable {
    var id: String?
    var email: String
    var name: String
    var title: String?
    var phone: String?
    var timezone: String?
    var country: String?
    var linkedinURL: String?
    /// Where it came from (`lead`, `lead.account_contacts[2]`) for warnings.
    var path: String
    /// Non-fatal problems (an unusable phone).
    var warnings: [String] = []
}

/// A validated lead.
struct ParsedLead {
    var accountId: String
    var primary: ContactDraft
    var colleagues: [ContactDraft]
    var topic: String?
    var company: String?
    var meetingScheduled: Bool
    var warnings: [String]
}

/// Validates the wire `lead` object (the prototype's flat shape, or a nested `contact`/`primary` object for
/// the primary). Primary problems and a missing `account_id` reject the lead; a colleague without a usable
/// address is skipped with a warning; a text value that cannot go into a message (`Normalize.text`: a
/// placeholder, control or direction characters), the primary's or a colleague's, rejects the lead naming it.
enum LeadParser {
    struct Failure: Error {
        var error: AbmError
        /// True when the whole lead is refused even if this is a colleague.
        var refusesLead = false
    }

    /// A free-text field judged by `Normalize.text`; a refusal names `field`.
    static func text(_ raw: String?, field: String) -> Result<String?, Failure> {
        text(raw, field: { field })
    }

    /// As above; the field's name is only built for a refusal (an interpolated path per field was ~1k
    /// instructions, measured with callgrind on `EngineBench`).
    static func text(_ raw: String?, field: () -> String) -> Result<String?, Failure> {
        switch Normalize.text(raw) {
        case .absent: return .success(nil)
        case .value(let v): return .success(v)
        case .refused(let why):
            let field = field()
            return .failure(Failure(error: AbmError(code: ErrorCode.invalidField, message: "\(field) \(why)", field: field),
                                    refusesLead: true))
        }
    }

    /// The top-level fields a lead reads (and `metadata`'s), collected in one pass each, for the reason given
    /// at `ContactFields` (here up to 14 hashed lookups per lead).
    struct LeadFields {
        var accountId, email, contact, primary, primaryContact, accountContacts, metadata, topic, inquiryTopic,
            companyName, company, meetingScheduled, qualificationTier: JSONValue?

        init(_ o: [String: JSONValue]) {
            for (k, v) in o {
                switch (k.utf8.count, k.utf8.first ?? 0) {
                case (10, UInt8(ascii: "a")): if k == "account_id" { accountId = v }
                case (5, UInt8(ascii: "e")): if k == "email" { email = v }
                case (7, UInt8(ascii: "c")):
                    if k == "contact" { contact = v } else if k == "company" { company = v }
                case (7, UInt8(ascii: "p")): if k == "primary" { primary = v }
                case (15, UInt8(ascii: "p")): if k == "primary_contact" { primaryContact = v }
                case (16, UInt8(ascii: "a")): if k == "account_contacts" { accountContacts = v }
                case (8, UInt8(ascii: "m")): if k == "metadata" { metadata = v }
                case (5, UInt8(ascii: "t")): if k == "topic" { topic = v }
                case (13, UInt8(ascii: "i")): if k == "inquiry_topic" { inquiryTopic = v }
                case (12, UInt8(ascii: "c")): if k == "company_name" { companyName = v }
                case (17, UInt8(ascii: "m")): if k == "meeting_scheduled" { meetingScheduled = v }
                case (18, UInt8(ascii: "q")): if k == "qualification_tier" { qualificationTier = v }
                default: break
                }
            }
        }
    }

    struct MetadataFields {
        var companyName, topic, meetingScheduled: JSONValue?

        init(_ o: [String: JSONValue]?) {
            guard let o else { return }
            for (k, v) in o {
                switch (k.utf8.count, k.utf8.first ?? 0) {
                case (12, UInt8(ascii: "c")): if k == "company_name" { companyName = v }
                case (5, UInt8(ascii: "t")): if k == "topic" { topic = v }
                case (17, UInt8(ascii: "m")): if k == "meeting_scheduled" { meetingScheduled = v }
                default: break
                }
            }
        }
    }

    static func parse(_ lead: JSONValue, config: CampaignConfig) -> Result<ParsedLead, AbmError> {
        guard let obj = lead.objectValue else {
            return .failure(AbmError(code: ErrorCode.invalidField, message: "lead must be an object", field: "lead"))
        }
        let top = LeadFields(obj)
        guard let rawAccount = top.accountId, !rawAccount.isNull else {
            return .failure(AbmError(code: ErrorCode.missingField, message: "lead.account_id is required", field: "lead.account_id"))
        }
        guard let account = scalarString(rawAccount).map(Normalize.trim), !account.isEmpty else {
            return .failure(AbmError(code: ErrorCode.invalidField, message: "lead.account_id must be a non-empty string",
                                          field: "lead.account_id"))
        }
        if let raw = top.qualificationTier, !raw.isNull, let minimum = config.minQualificationTier {
            guard let word = raw.stringValue, let tier = QualificationTier(word: word) else {
                return .failure(AbmError(code: .invalidField, message: "lead.qualification_tier must be one of \(QualificationTier.list)",
                                         field: "lead.qualification_tier"))
            }
            guard tier >= minimum else {
                return .failure(AbmError(code: .invalidField,
                                         message: "lead.qualification_tier \(tier.rawValue) is below the minimum \(minimum.rawValue) (min_qualification_tier): no campaign is started",
                                         field: "lead.qualification_tier"))
            }
        }
        // The primary: flat fields at the top level, or a nested object.
        var primarySource = obj
        var primaryPath = "lead"
        if top.email == nil || top.email!.isNull {
            for (key, value) in [("contact", top.contact), ("primary", top.primary), ("primary_contact", top.primaryContact)] {
                if let nested = value?.objectValue {
                    primarySource = nested
                    primaryPath = "lead.\(key)"
                    break
                }
            }
        }
        let primary: ContactDraft
        switch contact(primarySource, path: primaryPath, config: config) {
        case .success(let c): primary = c
        case .failure(let f): return .failure(f.error)
        }
        var warnings: [String] = primary.warnings
        var colleagues: [ContactDraft] = []
        if let raw = top.accountContacts, !raw.isNull {
            guard let list = raw.arrayValue else {
                return .failure(AbmError(code: ErrorCode.invalidField, message: "lead.account_contacts must be an array",
                                              field: "lead.account_contacts"))
            }
            for (i, item) in list.enumerated() {
                let path = i < colleaguePaths.count ? colleaguePaths[i] : "lead.account_contacts[\(i)]"
                guard let o = item.objectValue else {
                    warnings.append("\(path): skipped colleague: not an object")
                    continue
                }
                switch contact(o, path: path, config: config) {
                case .success(let c):
                    colleagues.append(c)
                    warnings += c.warnings
                case .failure(let f):
                    if f.refusesLead { return .failure(f.error) }
                    warnings.append("\(f.error.field ?? path): skipped colleague: \(f.error.message)")
                }
            }
        }
        if let m = top.metadata, !m.isNull, m.objectValue == nil {
            // The protocol says object or null: a string here is a producer's mistake, not metadata to ignore.
            return .failure(AbmError(code: .invalidField, message: "lead.metadata must be an object or null",
                                     field: "lead.metadata"))
        }
        let meta = MetadataFields(top.metadata?.objectValue)
        // The first key present names the field in a refusal.
        let topicKey = top.topic != nil ? "lead.topic" : top.inquiryTopic != nil ? "lead.inquiry_topic" : "lead.metadata.topic"
        let companyKey = meta.companyName != nil ? "lead.metadata.company_name"
            : top.companyName != nil ? "lead.company_name" : "lead.company"
        let topic: String?, company: String?
        switch text((top.topic ?? top.inquiryTopic ?? meta.topic).flatMap(scalarString), field: topicKey) {
        case .success(let t): topic = t
        case .failure(let f): return .failure(f.error)
        }
        switch text((meta.companyName ?? top.companyName ?? top.company).flatMap(scalarString), field: companyKey) {
        case .success(let c): company = c
        case .failure(let f): return .failure(f.error)
        }
        let meeting = isSet(meta.meetingScheduled) || isSet(top.meetingScheduled)
        return .success(ParsedLead(accountId: account, primary: primary, colleagues: colleagues, topic: topic,
                                   company: company, meetingScheduled: meeting, warnings: warnings))
    }

    /// Paths of the first colleagues, built once (they name the colleague in warnings).
    private static let colleaguePaths = (0..<16).map { "lead.account_contacts[\($0)]" }

    /// `true`, or a non-empty string other than "false", "no", "0".
    static func isSet(_ v: JSONValue?) -> Bool {
        switch v {
        case .bool(let b)?: return b
        case .string(let s)?:
            let t = Normalize.trim(s).lowercased()
            return !t.isEmpty && t != "false" && t != "no" && t != "0"
        default: return false
        }
    }

    static func scalarString(_ v: JSONValue) -> String? {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        default: return nil
        }
    }

    private static func optionalString(_ value: JSONValue?, _ key: String, _ path: String) -> Result<String?, AbmError> {
        guard let v = value, !v.isNull else { return .success(nil) }
        guard let s = v.stringValue else {
            return .failure(AbmError(code: ErrorCode.invalidField, message: "\(path).\(key) must be a string",
                                          field: "\(path).\(key)"))
        }
        let t = Normalize.trim(s)
        return .success(t.isEmpty ? nil : t)
    }

    /// The fields a contact reads, collected in one pass over its object: nine hashed lookups (SipHash of each
    /// key) were ~3.5k instructions per contact in callgrind on `EngineBench`; one pass comparing small keys ~1k.
    struct ContactFields {
        var email, id, name, title, phone, timezone, country, linkedinURL, linkedin: JSONValue?

        init(_ o: [String: JSONValue]) {
            for (k, v) in o {
                // Length and first byte pick the one candidate; `==` then takes String's identical-bits fast path
                // (a `switch` over the names compared each key with every name, unequal ones on the slow path).
                switch (k.utf8.count, k.utf8.first ?? 0) {
                case (5, UInt8(ascii: "e")): if k == "email" { email = v }
                case (2, UInt8(ascii: "i")): if k == "id" { id = v }
                case (4, UInt8(ascii: "n")): if k == "name" { name = v }
                case (5, UInt8(ascii: "t")): if k == "title" { title = v }
                case (5, UInt8(ascii: "p")): if k == "phone" { phone = v }
                case (8, UInt8(ascii: "t")): if k == "timezone" { timezone = v }
                case (7, UInt8(ascii: "c")): if k == "country" { country = v }
                case (12, UInt8(ascii: "l")): if k == "linkedin_url" { linkedinURL = v }
                case (8, UInt8(ascii: "l")): if k == "linkedin" { linkedin = v }
                default: break
                }
            }
        }
    }

    /// One contact; an error names the offending field.
    static func contact(_ o: [String: JSONValue], path: String, config: CampaignConfig) -> Result<ContactDraft, Failure> {
        let f = ContactFields(o)
        func field(_ value: JSONValue?, _ key: String) throws(Failure) -> String? {
            switch optionalString(value, key, path) {
            case .success(let s): return s
            case .failure(let e): throw Failure(error: e)
            }
        }
        func fail(_ e: AbmError) -> Result<ContactDraft, Failure> { .failure(Failure(error: e)) }
        /// A free-text field that goes into messages (raw: `Normalize.text` collapses whitespace itself).
        func textField(_ value: JSONValue?, _ key: String) throws(Failure) -> String? {
            guard let v = value, !v.isNull else { return nil }
            guard let raw = v.stringValue else {
                throw Failure(error: AbmError(code: ErrorCode.invalidField, message: "\(path).\(key) must be a string",
                                                   field: "\(path).\(key)"))
            }
            return try text(raw, field: { "\(path).\(key)" }).get()
        }
        do throws(Failure) {
            guard let rawEmail = try field(f.email, "email") else {
                return fail(AbmError(code: ErrorCode.missingField, message: "\(path).email is required",
                                              field: "\(path).email"))
            }
            guard let email = Normalize.email(rawEmail) else {
                return fail(AbmError(code: ErrorCode.invalidField,
                                              message: "\(path).email is not a plausible address: \"\(rawEmail)\"",
                                              field: "\(path).email"))
            }
            var id: String?
            if let raw = f.id, !raw.isNull {
                guard let s = scalarString(raw).map(Normalize.trim), !s.isEmpty else {
                    return fail(AbmError(code: ErrorCode.invalidField, message: "\(path).id must be a non-empty string",
                                                  field: "\(path).id"))
                }
                id = s
            }
            let name = try textField(f.name, "name") ?? "Unknown"
            let title = try textField(f.title, "title")
            var phone: String?
            var warnings: [String] = []
            if let p = try field(f.phone, "phone") {
                phone = Normalize.phone(p)
                if phone == nil { warnings.append("\(path).phone: unusable phone number ignored (no sms or call for this contact)") }
            }
            var tz: String?
            if let z = try field(f.timezone, "timezone") {
                guard TimeZoneCache.shared.zone(z) != nil else {
                    return fail(AbmError(code: ErrorCode.invalidField,
                                                  message: "\(path).timezone is not a known IANA time zone: \"\(z)\"",
                                                  field: "\(path).timezone"))
                }
                tz = z
            }
            var country: String?
            if let c = try field(f.country, "country") {
                guard let cc = Normalize.country(c) else {
                    return fail(AbmError(code: ErrorCode.invalidField,
                                                  message: "\(path).country must be an ISO 3166 alpha-2 code: \"\(c)\"",
                                                  field: "\(path).country"))
                }
                country = cc
            }
            var linkedin = try field(f.linkedinURL, "linkedin_url")
            if linkedin == nil { linkedin = try field(f.linkedin, "linkedin") }
            return .success(ContactDraft(id: id, email: email, name: name, title: title, phone: phone, timezone: tz,
                                         country: country, linkedinURL: linkedin, path: path, warnings: warnings))
        } catch {
            return .failure(error)
        }
    }
}

import AbmWire
import Foundation
