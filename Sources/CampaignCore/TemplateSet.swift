import AbmWire
import Foundation
import Mustache

/// The message templates, one per channel, optionally overridden per step, plus the colleague-reference
/// phrasings. Templates are Mustache (swift-mustache), rendered as plain text (no HTML escaping), and
/// compiled once when the set is built.
///
/// Configuration shape (`templates`, every key optional, merged over the defaults):
/// ```json
/// {"email": {"subject": "…", "body": "…"}, "sms": "…", "call": "…", "linkedin": "…",
///  "colleague_references": ["…", "…", "…"], "sms_references": ["…", "…", "…"],
///  "steps": {"4": {"email": {"subject": "…"}, "sms": "…"}}}
/// ```
/// Variables (always filled, with fallbacks): `first_name` ("there"), `full_name`, `company` ("your company"),
/// `topic` ("our platform"), `sender_name`, `sender_company`, `signature`, `primary_name`,
/// `primary_first_name`, `step`, `channel`, `sender_intro` (for a call opener: "this is Alex from Acme",
/// "this is Alex", "I'm calling from Acme" or "thanks for taking my call", by what `sender` configures).
/// Optional variables, usable only inside their own section (`{{#title}}…{{title}}…{{/title}}`), so that a
/// missing value can never leave "()" or a dangling phrase: `title`, `primary_title`, `reference`
/// (the rendered colleague reference; present only on touches to colleagues), `previous_touch_date` (the
/// contact's local date of the previous touch to them, "March 2"; absent on the first).
/// Colleague-reference phrasings may use the same variables except `reference`; e-mail, call and LinkedIn use
/// `colleague_references`, SMS the shorter `sms_references`; the phrasing rotates with each reference made.
/// The defaults mention the previous touch's date, so that no two touches to one person read the same.
/// Anything else (unknown variables, partials, delimiter changes, pragmas) is rejected as `invalid_config`.
public struct TemplateSet: Sendable, Equatable {
    public struct Email: Sendable, Equatable {
        public var subject: String
        public var body: String
        public init(subject: String, body: String) {
            self.subject = subject
            self.body = body
        }
    }

    /// Per-step overrides; nil keeps the channel default.
    public struct StepOverride: Sendable, Equatable {
        public var emailSubject: String?
        public var emailBody: String?
        public var sms: String?
        public var call: String?
        public var linkedin: String?
        public init(emailSubject: String? = nil, emailBody: String? = nil, sms: String? = nil,
                    call: String? = nil, linkedin: String? = nil) {
            self.emailSubject = emailSubject
            self.emailBody = emailBody
            self.sms = sms
            self.call = call
            self.linkedin = linkedin
        }
    }

    public var email: Email
    public var sms: String
    public var call: String
    public var linkedin: String
    public var colleagueReferences: [String]
    public var smsReferences: [String]
    public var steps: [Int: StepOverride]

    let compiled: CompiledTemplates

    public static func == (a: TemplateSet, b: TemplateSet) -> Bool {
        a.email == b.email && a.sms == b.sms && a.call == b.call && a.linkedin == b.linkedin
            && a.colleagueReferences == b.colleagueReferences && a.smsReferences == b.smsReferences && a.steps == b.steps
    }

    // MARK: defaults

    public static let defaultEmail = Email(
        subject: "{{topic}} for {{company}}",
        body: """
        Hi {{first_name}},

        {{#previous_touch_date}}Following up on my message of {{previous_touch_date}}.

        {{/previous_touch_date}}{{#reference}}I'm reaching out because {{reference}}, and I thought it could be relevant to you as well.

        {{/reference}}I'd like to show you how {{sender_company}} can help {{company}} with {{topic}}.

        Would you be open to a short conversation this week?

        {{signature}}
        """)
    public static let defaultSMS =
        "Hi {{first_name}}! {{#previous_touch_date}}Following up on my {{previous_touch_date}} note. {{/previous_touch_date}}{{#reference}}{{reference}}. {{/reference}}Open to a quick call about {{topic}} for {{company}}? - {{sender_name}}"
    /// Used when a rendered SMS exceeds 160 characters.
    static let compactSMS =
        "Hi {{first_name}}! {{#previous_touch_date}}Following up on my {{previous_touch_date}} note. {{/previous_touch_date}}{{#reference}}{{reference}}. {{/reference}}Open to a quick call? - {{sender_name}}"
    public static let defaultCall = """
        Call {{full_name}}{{#title}} ({{title}}){{/title}} about {{topic}}.
        Opener: Hi {{first_name}}, {{sender_intro}}.{{#previous_touch_date}} I'm following up on my message of {{previous_touch_date}}.{{/previous_touch_date}}{{#reference}} I'm calling because {{reference}}.{{/reference}}
        Ask: how is {{company}} approaching {{topic}} today?
        Goal: book a 20-minute follow-up.
        """
    public static let defaultLinkedIn =
        "Hi {{first_name}}, {{#reference}}{{reference}}. {{/reference}}I work with teams looking into {{topic}} and would be glad to connect and hear how {{company}} approaches it{{#previous_touch_date}} (following up on my message of {{previous_touch_date}}){{/previous_touch_date}}. - {{sender_name}}"
    public static let defaultColleagueReferences = [
        "your colleague {{primary_name}}{{#primary_title}} ({{primary_title}}){{/primary_title}} recently asked about {{topic}}",
        "{{primary_name}}{{#primary_title}}, {{primary_title}},{{/primary_title}} from your team got in touch with us about {{topic}}",
        "{{primary_name}}{{#primary_title}} ({{primary_title}}){{/primary_title}} at {{company}} has been looking into {{topic}} with us",
    ]
    /// Shorter phrasings for SMS (160 characters), each starting with the name (it follows "Hi Ann! ").
    public static let defaultSMSReferences = [
        "{{primary_name}} on your team asked us about {{topic}}",
        "{{primary_first_name}} from your team was in touch with us about {{topic}}",
        "{{primary_first_name}} on your team has been looking into {{topic}} with us",
    ]

    public static let `default`: TemplateSet = {
        // The defaults are tested to compile; a failure here is a programming error.
        do {
            return try TemplateSet(email: defaultEmail, sms: defaultSMS, call: defaultCall, linkedin: defaultLinkedIn,
                                   colleagueReferences: defaultColleagueReferences, steps: [:],
                                   smsReferences: defaultSMSReferences)
        } catch {
            fatalError("default templates do not compile: \(error)")
        }
    }()

    /// Builds and compiles a set; errors name the offending key (`templates.sms`, …).
    public init(email: Email, sms: String, call: String, linkedin: String, colleagueReferences: [String],
                steps: [Int: StepOverride], smsReferences: [String] = TemplateSet.defaultSMSReferences) throws(AbmError) {
        self.email = email
        self.sms = sms
        self.call = call
        self.linkedin = linkedin
        self.colleagueReferences = colleagueReferences
        self.smsReferences = smsReferences
        self.steps = steps
        for (list, key) in [(colleagueReferences, "colleague_references"), (smsReferences, "sms_references")] where list.isEmpty {
            throw AbmError(code: ErrorCode.invalidConfig, message: "templates.\(key) must hold at least one phrasing",
                                field: "templates.\(key)")
        }
        let c = CompiledTemplates()
        c.emailSubject = try TemplateSet.compile(email.subject, key: "templates.email.subject")
        c.emailBody = try TemplateSet.compile(email.body, key: "templates.email.body")
        c.sms = try TemplateSet.compile(sms, key: "templates.sms")
        c.call = try TemplateSet.compile(call, key: "templates.call")
        c.linkedin = try TemplateSet.compile(linkedin, key: "templates.linkedin")
        c.compactSMS = try TemplateSet.compile(TemplateSet.compactSMS, key: "templates.sms")
        c.references = []
        for (i, r) in colleagueReferences.enumerated() {
            c.references.append(try TemplateSet.compile(r, key: "templates.colleague_references[\(i)]",
                                                        allowReference: false))
        }
        for (i, r) in smsReferences.enumerated() {
            c.smsReferences.append(try TemplateSet.compile(r, key: "templates.sms_references[\(i)]", allowReference: false))
        }
        for (step, o) in steps {
            let base = "templates.steps.\(step)"
            var s = CompiledTemplates.Step()
            if let t = o.emailSubject { s.emailSubject = try TemplateSet.compile(t, key: "\(base).email.subject") }
            if let t = o.emailBody { s.emailBody = try TemplateSet.compile(t, key: "\(base).email.body") }
            if let t = o.sms { s.sms = try TemplateSet.compile(t, key: "\(base).sms") }
            if let t = o.call { s.call = try TemplateSet.compile(t, key: "\(base).call") }
            if let t = o.linkedin { s.linkedin = try TemplateSet.compile(t, key: "\(base).linkedin") }
            c.steps[step] = s
        }
        compiled = c
    }

    // MARK: validation and compilation

    static let alwaysFilled: Set<String> = Set(FastTemplate.variables.prefix(FastTemplate.titleSlot))
    static let optional: Set<String> = ["title", "primary_title", "reference", "previous_touch_date"]

    static func compile(_ text: String, key: String, allowReference: Bool = true) throws(AbmError) -> FastTemplate {
        try validate(text, key: key, allowReference: allowReference)
        do {
            // TEXT content type: messages are plain text, not HTML.
            return FastTemplate(try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + text))
        } catch {
            throw AbmError(code: ErrorCode.invalidConfig, message: "\(key): template does not parse (\(error))",
                                field: key)
        }
    }

    /// Checks every tag: known variables only, optional ones only inside their own section.
    static func validate(_ text: String, key: String, allowReference: Bool) throws(AbmError) {
        func fail(_ why: String) -> AbmError {
            AbmError(code: ErrorCode.invalidConfig, message: "\(key): \(why)", field: key)
        }
        // FastTemplate marks value slots with these two private-use characters (found by fuzzing).
        if text.unicodeScalars.contains(where: { $0 == "\u{E000}" || $0 == "\u{E001}" }) {
            throw fail("contains U+E000 or U+E001 (private-use characters reserved by the renderer)")
        }
        var open: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: "{{") {
            var after = rest[start.upperBound...]
            var triple = false
            if after.hasPrefix("{") {
                triple = true
                after = after.dropFirst()
            }
            guard let end = after.range(of: triple ? "}}}" : "}}") else { throw fail("unclosed tag") }
            let inner = after[..<end.lowerBound].trimmingCharacters(in: .whitespaces)
            rest = after[end.upperBound...]
            guard let sigil = inner.first else { throw fail("empty tag") }
            var name = inner
            var kind: Character = " "
            if "#^/&!>=%$<".contains(sigil) {
                kind = sigil
                name = String(inner.dropFirst()).trimmingCharacters(in: .whitespaces)
            }
            if kind == "!" { continue }
            if ">=%$<".contains(kind) { throw fail("unsupported tag {{\(inner)}}") }
            let known = alwaysFilled.contains(name) || optional.contains(name)
            guard known, allowReference || name != "reference" else {
                throw fail("unknown variable \"\(name)\"")
            }
            switch kind {
            case "#", "^":
                open.append(name)
            case "/":
                guard open.last == name else { throw fail("section {{/\(name)}} closes nothing") }
                open.removeLast()
            default:
                if optional.contains(name) && !open.contains(name) {
                    throw fail("optional variable \"\(name)\" must be inside {{#\(name)}}…{{/\(name)}}")
                }
            }
        }
        if let unclosed = open.last { throw fail("section {{#\(unclosed)}} is not closed") }
    }
}

/// Compiled forms of a `TemplateSet` (a class so that copies of a config share them).
final class CompiledTemplates: @unchecked Sendable {
    struct Step {
        var emailSubject: FastTemplate?
        var emailBody: FastTemplate?
        var sms: FastTemplate?
        var call: FastTemplate?
        var linkedin: FastTemplate?
    }
    // Written once in TemplateSet.init, read-only afterwards.
    var emailSubject: FastTemplate!
    var emailBody: FastTemplate!
    var sms: FastTemplate!
    var compactSMS: FastTemplate!
    var call: FastTemplate!
    var linkedin: FastTemplate!
    var references: [FastTemplate] = []
    var smsReferences: [FastTemplate] = []
    var steps: [Int: Step] = [:]
}
