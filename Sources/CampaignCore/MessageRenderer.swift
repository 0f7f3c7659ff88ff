import Mustache

/// Renders a touch's message at emit time from the compiled templates.
///
/// Fail closed: values are sanitised (`Normalize.text`), optional values live only in sections, and the result
/// is checked (`MessageText.isClean`); a user template that still renders something unclean falls back to the
/// built-in template of that channel (`template_fallback: true` on the event). SMS is kept within 160
/// characters: first the compact SMS template, then a cut at a word boundary.
enum MessageRenderer {
    struct Message {
        var subject: String?
        var body: String
        var usedFallback: Bool
    }

    static let smsLimit = 160

    static func render(config: CampaignConfig, campaign: CampaignState, contact: ContactState, channel: Channel,
                       step: Int, referred: ContactState?, phrasing: Int) -> Message {
        let t = config.templates.compiled
        var values: [String: String] = [
            "first_name": Normalize.firstName(contact.name) ?? "there",
            "full_name": Normalize.text(contact.name) ?? "there",
            "company": campaign.company ?? "your team",
            "topic": campaign.topic ?? "our platform",
            "sender_name": config.senderName,
            "sender_company": config.senderCompany,
            "signature": config.signature ?? "Best regards,\n\(config.senderName)",
            "step": String(step),
            "channel": channel.rawValue,
        ]
        if let title = contact.title { values["title"] = title }
        if let referred {
            values["primary_name"] = Normalize.text(referred.name) ?? "your colleague"
            values["primary_first_name"] = Normalize.firstName(referred.name) ?? "your colleague"
            if let pt = referred.title { values["primary_title"] = pt }
            let refs = t.references
            let ref = refs[phrasing % refs.count].render(values)
            if MessageText.isClean(ref) {
                values["reference"] = ref
            } else {
                let defaults = TemplateSet.default.compiled.references
                values["reference"] = defaults[phrasing % defaults.count].render(values)
            }
        } else {
            // On touches to the primary these name the contact itself (no reference is made).
            values["primary_name"] = values["full_name"]
            values["primary_first_name"] = values["first_name"]
        }
        let step = t.steps[step]
        let defaults = TemplateSet.default.compiled
        func pick(_ custom: MustacheTemplate?, _ channelTemplate: MustacheTemplate, _ builtin: MustacheTemplate) -> (String, Bool) {
            let text = (custom ?? channelTemplate).render(values)
            if MessageText.isClean(text) { return (text, false) }
            return (builtin.render(values), true)
        }
        switch channel {
        case .email:
            let (subject, f1) = pick(step?.emailSubject, t.emailSubject, defaults.emailSubject)
            let (body, f2) = pick(step?.emailBody, t.emailBody, defaults.emailBody)
            return Message(subject: subject.replacingOccurrences(of: "\n", with: " "), body: body, usedFallback: f1 || f2)
        case .sms:
            var (body, fallback) = pick(step?.sms, t.sms, defaults.sms)
            if body.count > smsLimit {
                body = defaults.compactSMS.render(values)
                fallback = true
            }
            if body.count > smsLimit { body = cut(body, to: smsLimit) }
            return Message(subject: nil, body: body, usedFallback: fallback)
        case .call:
            let (body, f) = pick(step?.call, t.call, defaults.call)
            return Message(subject: nil, body: body, usedFallback: f)
        case .linkedin:
            let (body, f) = pick(step?.linkedin, t.linkedin, defaults.linkedin)
            return Message(subject: nil, body: body, usedFallback: f)
        }
    }

    /// Cuts at a word boundary and ends with "...", within `limit` characters.
    static func cut(_ s: String, to limit: Int) -> String {
        var out = String(s.prefix(limit - 3))
        if let space = out.lastIndex(of: " ") { out = String(out[..<space]) }
        while let last = out.last, ",;:-".contains(last) { out.removeLast() }
        return out + "..."
    }
}
