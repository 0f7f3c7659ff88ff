/// Renders a touch's message at emit time from the compiled templates.
///
/// Fail closed, judging the template and not the user's words: values were judged on arrival (`Normalize.text`
/// refuses placeholders and control characters; legitimate text such as "null safety" or "NaN Labs" is kept
/// verbatim), optional values live only in sections, and the template's own text and holes are checked
/// (`FastTemplate.renderChecked`: stubs in its literal text, an empty value in a hole); a user template that
/// fails falls back to the built-in template of that channel (`template_fallback: true` on the event), and a
/// message that still fails is not sent (the touch is blocked, see `emitTouch`). SMS is kept within 160 characters: first
/// the compact SMS template, then a cut at a word boundary.
enum MessageRenderer {
    struct Message {
        var subject: String?
        var body: String
        var usedFallback: Bool
        var isClean: Bool
    }

    static let smsLimit = 160

    static func render(config: CampaignConfig, company: String?, topic: String?, contact: ContactState, channel: Channel,
                       step: Int, referred: ContactState?, phrasing: Int) -> Message {
        let t = config.templates.compiled
        let defaults = TemplateSet.default.compiled
        var v = [String](repeating: "", count: FastTemplate.slotCount)
        v[0] = Normalize.firstName(contact.name) ?? "there"
        // Names were cleaned on arrival; an unknown name is shown as the address.
        v[1] = contact.name == "Unknown" ? contact.email : contact.name
        // Fallbacks chosen to read naturally in every default template ("for your company").
        v[2] = company ?? "your company"
        v[3] = topic ?? "our platform"
        v[4] = config.senderName
        v[5] = config.senderCompany
        v[6] = config.resolvedSignature
        v[9] = String(step)
        v[10] = channel.rawValue
        v[11] = config.senderIntro
        if let last = contact.lastTouchAt?.timeIntervalSince1970 {
            let zone = contact.timezone.flatMap { TimeZoneCache.shared.zone($0) } ?? config.defaultZone
            v[FastTemplate.previousTouchSlot] = localDate(last, zone)
        }
        v[FastTemplate.titleSlot] = contact.title ?? ""
        if let referred {
            v[7] = referred.name == "Unknown" ? referred.email : referred.name
            v[8] = Normalize.firstName(referred.name) ?? v[7]
            v[FastTemplate.primaryTitleSlot] = referred.title ?? ""
            // SMS has its own, shorter phrasings.
            let (mine, builtin) = channel == .sms ? (t.smsReferences, defaults.smsReferences) : (t.references, defaults.references)
            let ref = mine[phrasing % mine.count].renderChecked(v)
            v[FastTemplate.referenceSlot] = ref.clean ? ref.text : builtin[phrasing % builtin.count].render(v)
        } else {
            // On touches to the primary these name the contact itself (no reference is made).
            v[7] = v[1]
            v[8] = v[0]
        }
        let override = t.steps[step]
        /// (text, used the built-in fallback, clean)
        func pick(_ custom: FastTemplate?, _ channelTemplate: FastTemplate, _ builtin: FastTemplate) -> (String, Bool, Bool) {
            let r = (custom ?? channelTemplate).renderChecked(v)
            if r.clean { return (r.text, false, true) }
            let fallback = builtin.renderChecked(v)
            return (fallback.text, true, fallback.clean)
        }
        switch channel {
        case .email:
            var (subject, f1, c1) = pick(override?.emailSubject, t.emailSubject, defaults.emailSubject)
            if MessageRenderer.hasNewline(subject) { subject = subject.split(separator: "\n").joined(separator: " ") }
            let (body, f2, c2) = pick(override?.emailBody, t.emailBody, defaults.emailBody)
            return Message(subject: subject, body: body, usedFallback: f1 || f2, isClean: c1 && c2)
        case .sms:
            var (body, fallback, clean) = pick(override?.sms, t.sms, defaults.sms)
            if body.utf8.count > smsLimit && body.count > smsLimit {
                let compact = defaults.compactSMS.renderChecked(v)
                body = compact.text
                fallback = true
                if body.count > smsLimit { body = cut(body, to: smsLimit) }
                clean = compact.clean
            }
            return Message(subject: nil, body: body, usedFallback: fallback, isClean: clean)
        case .call:
            let (body, f, clean) = pick(override?.call, t.call, defaults.call)
            return Message(subject: nil, body: body, usedFallback: f, isClean: clean)
        case .linkedin:
            let (body, f, clean) = pick(override?.linkedin, t.linkedin, defaults.linkedin)
            return Message(subject: nil, body: body, usedFallback: f, isClean: clean)
        }
    }

    private static let months = ["January", "February", "March", "April", "May", "June", "July", "August",
                                 "September", "October", "November", "December"]

    /// "March 2": the local date of `t` in `zone`.
    static func localDate(_ t: Double, _ zone: Zone) -> String {
        let local = t + LocalTime.offset(zone, at: t)
        let (month, day) = LocalTime.monthAndDay(ofDay: Int((local / LocalTime.secondsPerDay).rounded(.down)))
        return months[month - 1] + " " + String(day)
    }

    static func hasNewline(_ s: String) -> Bool {
        s.utf8.withContiguousStorageIfAvailable { $0.contains(0x0A) } ?? s.utf8.contains(0x0A)
    }

    /// Cuts at a word boundary and ends with "...", within `limit` characters.
    static func cut(_ s: String, to limit: Int) -> String {
        var out = String(s.prefix(limit - 3))
        if let space = out.lastIndex(of: " ") { out = String(out[..<space]) }
        while let last = out.last, ",;:-".contains(last) { out.removeLast() }
        return out + "..."
    }
}
