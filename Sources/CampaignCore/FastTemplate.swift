import Mustache

/// A swift-mustache template pre-rendered into literal segments and value slots, so that rendering a message is
/// a concatenation (swift-mustache's own renderer costs ~25 µs per e-mail body here; this costs well under 1 µs).
///
/// Why this is exact: `TemplateSet` admits only plain variables and sections/inverted sections over the known
/// variables, rendered as TEXT (no escaping). Always-filled variables are non-empty strings (sections over them
/// always render); optional ones (`title`, `primary_title`, `reference`, `previous_touch_date`) are either absent
/// or non-empty. So the output's shape depends only on which optional values are present: the template is rendered
/// once by swift-mustache for each of the 16 presence patterns, with a sentinel in place of each value, and the sentinels
/// are then turned into slots.
struct FastTemplate: Sendable {
    enum Segment: Sendable {
        case text(String)
        case value(Int)
    }

    /// Every variable a template may use; the index is the slot number.
    static let variables = [
        "first_name", "full_name", "company", "topic", "sender_name", "sender_company", "signature",
        "primary_name", "primary_first_name", "step", "channel", "sender_intro",
        "title", "primary_title", "reference", "previous_touch_date",
    ]
    /// The optional slots (all after the always-filled ones), in presence-mask bit order.
    static let titleSlot = 12, primaryTitleSlot = 13, referenceSlot = 14, previousTouchSlot = 15
    static let optionalSlots = [titleSlot, primaryTitleSlot, referenceSlot, previousTouchSlot]
    static let slotCount = variables.count

    /// Indexed by presence mask: 1 = title, 2 = primary_title, 4 = reference, 8 = previous_touch_date.
    let variants: [[Segment]]
    /// Per variant: its literal text is free of holes and stubs (`MessageText.isClean` on each text segment,
    /// judged once here rather than on every message).
    let literalClean: [Bool]
    /// The swift-mustache template (kept for reference and tests).
    let template: MustacheTemplate

    init(_ template: MustacheTemplate) {
        self.template = template
        var variants: [[Segment]] = []
        for mask in 0..<(1 << FastTemplate.optionalSlots.count) {
            var ctx: [String: String] = [:]
            for (i, name) in FastTemplate.variables.enumerated() {
                let bit = FastTemplate.optionalSlots.firstIndex(of: i)
                if bit.map({ mask & (1 << $0) != 0 }) ?? true { ctx[name] = "\u{E000}\(i)\u{E001}" }
            }
            variants.append(FastTemplate.segments(template.render(ctx)))
        }
        self.variants = variants
        literalClean = variants.map { segs in
            segs.allSatisfy { if case .text(let t) = $0 { return MessageText.isClean(t) } else { return true } }
        }
    }

    private static func segments(_ s: String) -> [Segment] {
        var out: [Segment] = []
        var text = ""
        var rest = Substring(s)
        while let open = rest.firstIndex(of: "\u{E000}") {
            text += rest[..<open]
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "\u{E001}"), let slot = Int(rest[afterOpen..<close]) else {
                // Cannot happen: sentinels are produced above, never split.
                text += rest[open...]
                rest = ""
                break
            }
            if !text.isEmpty { out.append(.text(text)); text = "" }
            out.append(.value(slot))
            rest = rest[rest.index(after: close)...]
        }
        text += rest
        if !text.isEmpty { out.append(.text(text)) }
        return out
    }

    /// Renders with `values` indexed by slot; an optional slot is present when its value is non-empty.
    func render(_ values: [String]) -> String { renderChecked(values).text }

    /// Renders and judges the result: clean when the template's own text has no hole or stub and no value it
    /// places is empty. The values themselves are not looked at: they were judged on arrival (`Normalize.text`)
    /// or are built-in fallbacks. One allocation: the length is summed first, then the bytes are copied.
    func renderChecked(_ values: [String]) -> (text: String, clean: Bool) {
        var mask = 0
        if !values[FastTemplate.titleSlot].isEmpty { mask |= 1 }
        if !values[FastTemplate.primaryTitleSlot].isEmpty { mask |= 2 }
        if !values[FastTemplate.referenceSlot].isEmpty { mask |= 4 }
        if !values[FastTemplate.previousTouchSlot].isEmpty { mask |= 8 }
        let segs = variants[mask]
        var total = 0
        var clean = literalClean[mask]
        for seg in segs {
            switch seg {
            case .text(let t): total += t.utf8.count
            case .value(let i):
                let n = values[i].utf8.count
                if n == 0 { clean = false }
                total += n
            }
        }
        guard total > 0 else { return ("", false) }
        let text = String(unsafeUninitializedCapacity: total) { buffer in
            var n = 0
            for seg in segs {
                switch seg {
                case .text(let t): n = FastTemplate.copyUTF8(t, into: buffer, at: n)
                case .value(let i): n = FastTemplate.copyUTF8(values[i], into: buffer, at: n)
                }
            }
            return n
        }
        return (text, clean)
    }

    /// Copies `s`'s UTF-8 into `buffer` at `offset` (which has room); returns the offset after it.
    @inline(__always)
    private static func copyUTF8(_ s: String, into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
        let copied = s.utf8.withContiguousStorageIfAvailable { source -> Int in
            guard let from = source.baseAddress, let to = buffer.baseAddress else { return 0 }
            (to + offset).update(from: from, count: source.count)
            return source.count
        }
        if let copied { return offset + copied }
        var n = offset
        for b in s.utf8 {
            buffer[n] = b
            n += 1
        }
        return n
    }
}
