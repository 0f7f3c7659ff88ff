import AbmWire
import Foundation

/// The campaign configuration keys (docs/campaign-behaviour.md, "Configuration"), with their defaults. Build one with `CampaignConfig(merging:)` from a
/// partial JSON object (snake_case key names); every key not given keeps its default.
///
/// Accepted keys and shapes (an unknown key or a wrong value is `invalid_config` naming the key):
/// - `max_touchpoints` int ≥ 1 (7)
/// - `touchpoint_intervals_days` non-empty array of ints ≥ 0 ([2,3,5,7,10,14]); alias `touchpoint_intervals`
/// - `channel_escalation` non-empty array of distinct `email|sms|call|linkedin` ([email, sms, call])
/// - `attempts_per_channel` int ≥ 1 (2)
/// - `primary_focus_steps` int ≥ 0 (3)
/// - `max_concurrent_contacts` int ≥ 1 (3)
/// - `colleague_message_delay_days` number ≥ 0 (3; absolute days of 24 h); alias `colleague_message_delay`
/// - `response_timeout_hours` number ≥ 0 (48; minimum gap between two touches to one person); alias `response_timeout`
/// - `conflict_check_enabled` bool (true), `auto_pause_on_response` bool (true)
/// - `send_window` object, see `SendWindow`; `holidays`, see `Holidays`
/// - `default_timezone` a known IANA name ("UTC")
/// - `title_scores` object phrase → int, replaces the table, see `TitleScores`
/// - `out_of_office_default_days` number > 0 (7): how long an out-of-office without `return_date` lasts
/// - `min_qualification_tier` `scorching|hot|warm|cool|cold|unqualified` or null ("warm"): a lead with a lower
///   `qualification_tier` is refused; one without a tier is not gated
/// - `sender` object `{name, company, signature}` used in messages (defaults "The team", "our team",
///   "Best regards,\n<name>"; a call opener introduces only what was configured)
/// - `templates` object, see `TemplateSet`
/// - `priority` int ≥ 0 (0): between playbooks running side by side on one account, the higher goes first when
///   both are due at once (docs/campaign-behaviour.md, "Several playbooks on one account")
/// - `pause_on_account_response` bool (true): a response that pauses another playbook's campaign of the
///   account pauses this one too
public struct CampaignConfig: Sendable, Equatable {
    public static let `default` = CampaignConfig()

    public var maxTouchpoints = 7
    public var intervalsDays = [2, 3, 5, 7, 10, 14]
    public var channelEscalation: [Channel] = [.email, .sms, .call]
    public var attemptsPerChannel = 2
    public var primaryFocusSteps = 3
    public var maxConcurrentContacts = 3
    public var colleagueDelayDays: Double = 3
    public var responseTimeoutHours: Double = 48
    public var conflictCheckEnabled = true
    public var autoPauseOnResponse = true
    public var sendWindow = SendWindow.default
    public var defaultTimezone = "UTC"
    public var holidays = Holidays.none
    public var titleScores = TitleScores.default
    public var outOfOfficeDefaultDays: Double = 7
    /// Leads with a `qualification_tier` below this start no campaign (refused, naming the field); leads
    /// without one are not gated. nil: no minimum. Default `warm` (the original started campaigns for
    /// scorching, hot and warm leads only).
    public var minQualificationTier: QualificationTier? = .warm
    /// Between playbooks on one account: the higher goes first when both are due at once.
    public var priority = 0
    /// A response that pauses another playbook's campaign of the account pauses this one too.
    public var pauseOnAccountResponse = true
    public var senderName = "The team" {
        didSet {
            resolvedSignature = signature ?? "Best regards,\n\(senderName)"
            senderNameIsSet = true
            senderIntro = CampaignConfig.intro(self)
        }
    }
    public var senderCompany = "our team" {
        didSet {
            senderCompanyIsSet = true
            senderIntro = CampaignConfig.intro(self)
        }
    }
    /// Whether the sender was configured (the call opener introduces only a configured sender).
    private(set) var senderNameIsSet = false, senderCompanyIsSet = false
    /// How the caller introduces themselves in a call opener ("Hi Sarah, <intro>."), kept in step with the
    /// sender: it reads naturally whatever is configured, rather than "this is The team from our team".
    private(set) var senderIntro = "thanks for taking my call"

    private static func intro(_ c: CampaignConfig) -> String {
        switch (c.senderNameIsSet, c.senderCompanyIsSet) {
        case (true, true): return "this is \(c.senderName) from \(c.senderCompany)"
        case (true, false): return "this is \(c.senderName)"
        case (false, true): return "I'm calling from \(c.senderCompany)"
        case (false, false): return "thanks for taking my call"
        }
    }
    /// nil: "Best regards,\n" + sender name.
    public var signature: String? { didSet { resolvedSignature = signature ?? "Best regards,\n\(senderName)" } }
    /// The signature as used in messages (kept in step with `senderName` and `signature`).
    private(set) var resolvedSignature = "Best regards,\nThe team"
    public var templates = TemplateSet.default

    /// The resolved default zone (validated).
    var defaultZone: Zone { TimeZoneCache.shared.zone(defaultTimezone) ?? TimeZoneCache.shared.zone("UTC")! }

    public init() {}

    /// A partial configuration (snake_case key names) merged over the defaults; an invalid value is a
    /// `AbmError` with code `invalid_config` naming the key. `null` and `{}` give the defaults.
    public init(merging partial: JSONValue) throws(AbmError) {
        self.init()
        if partial.isNull { return }
        guard let obj = partial.objectValue else {
            throw AbmError(code: ErrorCode.invalidConfig, message: "configuration must be a JSON object")
        }
        for key in obj.keys.sorted() {
            try apply(key: key, value: obj[key]!)
        }
    }

    private static func bad(_ key: String, _ why: String) -> AbmError {
        AbmError(code: ErrorCode.invalidConfig, message: "\(key): \(why)", field: key)
    }

    private static func int(_ v: JSONValue, _ key: String, min: Int) throws(AbmError) -> Int {
        var n: Int?
        switch v {
        case .int(let i): n = Int(exactly: i)
        case .double(let d) where d.rounded() == d && abs(d) < 1e12: n = Int(d)
        default: n = nil
        }
        guard let n, n >= min else { throw bad(key, "must be an integer ≥ \(min)") }
        return n
    }

    private static func number(_ v: JSONValue, _ key: String, min: Double, strict: Bool = false) throws(AbmError) -> Double {
        var n: Double?
        switch v {
        case .int(let i): n = Double(i)
        case .double(let d) where d.isFinite: n = d
        default: n = nil
        }
        guard let n, strict ? n > min : n >= min else { throw bad(key, "must be a number \(strict ? ">" : "≥") \(min)") }
        return n
    }

    private static func bool(_ v: JSONValue, _ key: String) throws(AbmError) -> Bool {
        guard case .bool(let b) = v else { throw bad(key, "must be true or false") }
        return b
    }

    private static func string(_ v: JSONValue, _ key: String) throws(AbmError) -> String {
        guard case .string(let s) = v else { throw bad(key, "must be a string") }
        return s
    }

    private mutating func apply(key: String, value v: JSONValue) throws(AbmError) {
        typealias C = CampaignConfig
        switch key {
        case "max_touchpoints": maxTouchpoints = try C.int(v, key, min: 1)
        case "touchpoint_intervals_days", "touchpoint_intervals":
            guard let a = v.arrayValue, !a.isEmpty else { throw C.bad(key, "must be a non-empty array of whole days") }
            var out: [Int] = []
            for (i, e) in a.enumerated() { out.append(try C.int(e, "\(key)[\(i)]", min: 0)) }
            intervalsDays = out
        case "channel_escalation":
            guard let a = v.arrayValue, !a.isEmpty else { throw C.bad(key, "must be a non-empty array of channels") }
            var out: [Channel] = []
            for (i, e) in a.enumerated() {
                guard let s = e.stringValue, let ch = Channel(rawValue: s.lowercased()) else {
                    throw C.bad("\(key)[\(i)]", "must be one of email, sms, call, linkedin")
                }
                guard !out.contains(ch) else { throw C.bad("\(key)[\(i)]", "repeats \(ch.rawValue)") }
                out.append(ch)
            }
            channelEscalation = out
        case "attempts_per_channel": attemptsPerChannel = try C.int(v, key, min: 1)
        case "primary_focus_steps": primaryFocusSteps = try C.int(v, key, min: 0)
        case "max_concurrent_contacts": maxConcurrentContacts = try C.int(v, key, min: 1)
        case "colleague_message_delay_days", "colleague_message_delay":
            colleagueDelayDays = try C.number(v, key, min: 0)
        case "response_timeout_hours", "response_timeout": responseTimeoutHours = try C.number(v, key, min: 0)
        case "conflict_check_enabled": conflictCheckEnabled = try C.bool(v, key)
        case "auto_pause_on_response": autoPauseOnResponse = try C.bool(v, key)
        case "priority": priority = try C.int(v, key, min: 0)
        case "pause_on_account_response": pauseOnAccountResponse = try C.bool(v, key)
        case "out_of_office_default_days": outOfOfficeDefaultDays = try C.number(v, key, min: 0, strict: true)
        case "min_qualification_tier":
            if v == .null { minQualificationTier = nil; break }
            guard let s = v.stringValue, let tier = QualificationTier(word: s) else {
                throw C.bad(key, "must be one of \(QualificationTier.list), or null for no minimum")
            }
            minQualificationTier = tier
        case "default_timezone":
            let s = try C.string(v, key)
            guard TimeZoneCache.shared.zone(s) != nil else { throw C.bad(key, "unknown IANA time zone \"\(s)\"") }
            defaultTimezone = s
        case "send_window": sendWindow = try C.parseWindow(v, key)
        case "holidays": holidays = try C.parseHolidays(v, key)
        case "title_scores":
            guard let o = v.objectValue, !o.isEmpty else { throw C.bad(key, "must be a non-empty object of phrase → score") }
            var t: [String: Int] = [:]
            for (phrase, s) in o {
                guard !TitleScores.words(phrase).isEmpty else { throw C.bad("\(key).\(phrase)", "phrase has no words") }
                t[phrase] = try C.int(s, "\(key).\(phrase)", min: 0)
            }
            titleScores = TitleScores(table: t)
        case "sender":
            guard let o = v.objectValue else { throw C.bad(key, "must be an object {name, company, signature}") }
            for (k, e) in o {
                let s = try C.string(e, "\(key).\(k)").trimmingCharacters(in: .whitespacesAndNewlines)
                guard !s.isEmpty else { throw C.bad("\(key).\(k)", "must be a non-empty plain text") }
                // Judged like a lead's values (messages do not look at values again).
                if let why = Normalize.problem(s) { throw C.bad("\(key).\(k)", why) }
                switch k {
                case "name": senderName = s
                case "company": senderCompany = s
                case "signature": signature = s
                default: throw C.bad("\(key).\(k)", "unknown key")
                }
            }
        case "templates": templates = try C.parseTemplates(v, key, over: templates)
        default:
            throw C.bad(key, "unknown configuration key")
        }
    }

    private static let dayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    private static func parseWindow(_ v: JSONValue, _ key: String) throws(AbmError) -> SendWindow {
        guard let o = v.objectValue else { throw bad(key, "must be an object {days, start, end}") }
        var w = SendWindow.default
        for (k, e) in o {
            switch k {
            case "days":
                guard let a = e.arrayValue, !a.isEmpty else { throw bad("\(key).days", "must be a non-empty array like [\"mon\",\"tue\"]") }
                var days = [Bool](repeating: false, count: 7)
                for (i, d) in a.enumerated() {
                    guard let s = d.stringValue, let idx = dayNames.firstIndex(of: String(s.lowercased().prefix(3))),
                          s.count >= 3 else { throw bad("\(key).days[\(i)]", "must be a weekday (mon … sun)") }
                    days[idx] = true
                }
                w.days = days
            case "start", "end":
                guard let s = e.stringValue, let m = LocalTime.parseClock(s) else { throw bad("\(key).\(k)", "must be HH:MM") }
                if k == "start" { w.startMinute = m } else { w.endMinute = m }
            default: throw bad("\(key).\(k)", "unknown key")
            }
        }
        guard w.startMinute < w.endMinute else { throw bad("\(key).start", "must be before \(key).end") }
        return w
    }

    private static func parseDates(_ v: JSONValue, _ key: String) throws(AbmError) -> Set<Int> {
        guard let a = v.arrayValue else { throw bad(key, "must be an array of YYYY-MM-DD dates") }
        var out = Set<Int>()
        for (i, e) in a.enumerated() {
            guard let s = e.stringValue, let d = LocalTime.parseDate(s) else { throw bad("\(key)[\(i)]", "must be a YYYY-MM-DD date") }
            out.insert(d)
        }
        return out
    }

    private static func parseHolidays(_ v: JSONValue, _ key: String) throws(AbmError) -> Holidays {
        if v.arrayValue != nil { return Holidays(global: try parseDates(v, key), byCountry: [:]) }
        guard let o = v.objectValue else { throw bad(key, "must be an array of dates or {global, by_country}") }
        var h = Holidays.none
        for (k, e) in o {
            switch k {
            case "global": h.global = try parseDates(e, "\(key).global")
            case "by_country":
                guard let c = e.objectValue else { throw bad("\(key).by_country", "must be an object country → dates") }
                for (country, dates) in c {
                    guard let cc = Normalize.country(country) else {
                        throw bad("\(key).by_country.\(country)", "must be an ISO 3166 alpha-2 code")
                    }
                    h.byCountry[cc, default: []].formUnion(try parseDates(dates, "\(key).by_country.\(country)"))
                }
            default: throw bad("\(key).\(k)", "unknown key")
            }
        }
        return h
    }

    private static func parseTemplates(_ v: JSONValue, _ key: String, over base: TemplateSet) throws(AbmError) -> TemplateSet {
        guard let o = v.objectValue else { throw bad(key, "must be an object") }
        var email = base.email, sms = base.sms, call = base.call, linkedin = base.linkedin
        var refs = base.colleagueReferences
        var smsRefs = base.smsReferences
        var steps = base.steps
        for (k, e) in o {
            switch k {
            case "email":
                guard let eo = e.objectValue else { throw bad("\(key).email", "must be an object {subject, body}") }
                for (ek, ev) in eo {
                    let s = try string(ev, "\(key).email.\(ek)")
                    switch ek {
                    case "subject": email.subject = s
                    case "body": email.body = s
                    default: throw bad("\(key).email.\(ek)", "unknown key")
                    }
                }
            case "sms": sms = try string(e, "\(key).sms")
            case "call": call = try string(e, "\(key).call")
            case "linkedin": linkedin = try string(e, "\(key).linkedin")
            case "sms_references":
                guard let a = e.arrayValue, !a.isEmpty else { throw bad("\(key).sms_references", "must be a non-empty array of strings") }
                var out: [String] = []
                for (i, r) in a.enumerated() { out.append(try string(r, "\(key).sms_references[\(i)]")) }
                smsRefs = out
            case "colleague_references":
                guard let a = e.arrayValue, !a.isEmpty else { throw bad("\(key).colleague_references", "must be a non-empty array of strings") }
                var out: [String] = []
                for (i, r) in a.enumerated() { out.append(try string(r, "\(key).colleague_references[\(i)]")) }
                refs = out
            case "steps":
                guard let so = e.objectValue else { throw bad("\(key).steps", "must be an object step → templates") }
                for (stepKey, sv) in so {
                    let p = "\(key).steps.\(stepKey)"
                    guard let step = Int(stepKey), step >= 1 else { throw bad(p, "step must be an integer ≥ 1") }
                    guard let st = sv.objectValue else { throw bad(p, "must be an object") }
                    var ov = steps[step] ?? TemplateSet.StepOverride()
                    for (ck, cv) in st {
                        switch ck {
                        case "email":
                            guard let eo = cv.objectValue else { throw bad("\(p).email", "must be an object {subject, body}") }
                            for (ek, ev) in eo {
                                let s = try string(ev, "\(p).email.\(ek)")
                                switch ek {
                                case "subject": ov.emailSubject = s
                                case "body": ov.emailBody = s
                                default: throw bad("\(p).email.\(ek)", "unknown key")
                                }
                            }
                        case "sms": ov.sms = try string(cv, "\(p).sms")
                        case "call": ov.call = try string(cv, "\(p).call")
                        case "linkedin": ov.linkedin = try string(cv, "\(p).linkedin")
                        default: throw bad("\(p).\(ck)", "unknown key")
                        }
                    }
                    steps[step] = ov
                }
            default: throw bad("\(key).\(k)", "unknown key")
            }
        }
        return try TemplateSet(email: email, sms: sms, call: call, linkedin: linkedin, colleagueReferences: refs, steps: steps,
                               smsReferences: smsRefs)
    }
}
