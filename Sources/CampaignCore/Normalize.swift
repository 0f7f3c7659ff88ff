/// Normalisation of contact fields as received in leads and responses.
enum Normalize {
    /// Whitespace trimmed from both ends (Foundation's `trimmingCharacters` is slow on Linux).
    static func trim(_ s: String) -> String {
        // Fast path: both ends are ASCII non-whitespace (a byte below 0x80 is always a whole scalar).
        let plain = withBytes(s) { b in
            guard let first = b.first, let last = b.last else { return true }
            return first < 0x80 && last < 0x80 && !isASCIIWhitespace(first) && !isASCIIWhitespace(last)
        }
        return plain ? s : generalTrim(s)
    }

    /// `trim` for any input (the reference for its fast path).
    static func generalTrim(_ s: String) -> String {
        let u = s.unicodeScalars
        var start = u.startIndex, end = u.endIndex
        while start < end, u[start].properties.isWhitespace { start = u.index(after: start) }
        while end > start, u[u.index(before: end)].properties.isWhitespace { end = u.index(before: end) }
        if start == u.startIndex && end == u.endIndex { return s }
        return String(u[start..<end])
    }

    @inline(__always)
    static func isASCIIWhitespace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    /// Trimmed, lower-cased email when it has a plausible form (`local@domain.tld`, no spaces, ≤ 254 chars).
    static func email(_ raw: String) -> String? {
        if let fast = ASCIIEmail.check(raw) { return fast.valid }
        return generalEmail(raw)
    }

    /// `email` for any input (the reference for `ASCIIEmail`).
    static func generalEmail(_ raw: String) -> String? {
        let e = trim(raw).lowercased()
        guard e.utf8.count <= 254, !e.isEmpty else { return nil }
        let parts = e.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let local = parts[0], domain = parts[1]
        guard !local.isEmpty, local.utf8.count <= 64, !domain.isEmpty else { return nil }
        for ch in e.unicodeScalars where ch.value <= 32 || ch == "," || ch == ";" || ch == "<" || ch == ">" || ch == "\"" {
            return nil
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && !$0.hasPrefix("-") && !$0.hasSuffix("-") }),
              let tld = labels.last, tld.count >= 2, tld.allSatisfy({ $0.isLetter }) else { return nil }
        guard !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..") else { return nil }
        return e
    }

    /// Digits with an optional leading `+`, 7–15 digits; nil when unusable.
    static func phone(_ raw: String) -> String? {
        let t = trim(raw)
        if isAllASCII(t) { return asciiPhone(t) }
        return generalPhone(t)
    }

    /// `phone` for any trimmed input (the reference for its ASCII path).
    static func generalPhone(_ t: String) -> String? {
        var out = ""
        for (i, ch) in t.enumerated() {
            if ch.isASCII && ch.isNumber { out.append(ch) }
            else if ch == "+" && i == 0 { out.append(ch) }
            else if " -.()/".contains(ch) { continue }
            else { return nil }
        }
        let digits = out.filter { $0 != "+" }.count
        return (7...15).contains(digits) ? out : nil
    }

    /// `phone(_:)` over bytes for ASCII input (same rules; one byte is one character here, and a CR LF pair,
    /// one character for `String`, is refused either way).
    private static func asciiPhone(_ t: String) -> String? {
        // Over a buffer into a stack buffer (a heap array and a `UTF8View` loop were ~1.4k instructions per
        // phone, callgrind on `EngineBench`'s leads). At most a `+` and 15 digits are kept: more digits fail anyway.
        withBytes(t) { buf in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { out -> String? in
                var n = 0, digits = 0
                for i in 0..<buf.count {
                    let b = buf[i]
                    switch b {
                    case UInt8(ascii: "0")...UInt8(ascii: "9"):
                        digits += 1
                        if digits > 15 { return nil }
                        out[n] = b
                        n += 1
                    case UInt8(ascii: "+") where i == 0:
                        out[n] = b
                        n += 1
                    case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "("), UInt8(ascii: ")"),
                         UInt8(ascii: "/"): continue
                    default: return nil
                    }
                }
                guard digits >= 7 else { return nil }
                return String(decoding: UnsafeBufferPointer(rebasing: out[0..<n]), as: UTF8.self)
            }
        }
    }

    /// Upper-case ISO 3166 alpha-2 code, or nil.
    static func country(_ raw: String) -> String? {
        let c = trim(raw).uppercased()
        guard c.count == 2, c.allSatisfy({ $0.isASCII && $0.isLetter }) else { return nil }
        return c
    }

    /// A free-text value of a lead (name, title, topic, company) as judged on arrival.
    enum UserText: Equatable {
        /// Not given, or given as "no value" ("n/a", "-", "unknown").
        case absent
        /// Usable as is in a message: whitespace runs collapsed to one space, everything else verbatim.
        case value(String)
        /// Cannot be used; the lead is refused naming the field. The text says why ("… is a placeholder").
        case refused(String)
    }

    /// Judges a free-text value once, when the lead arrives, so that messages need no second look at it.
    ///
    /// Legitimate text is kept verbatim, brackets and words like "null" inside it included ("null safety in
    /// Kotlin", "NaN Labs", "C++ (and Rust)"). Refused: a value that is only a placeholder ("null", "None",
    /// "undefined", "[First Name]", "{{topic}}"), one holding `{{` or `}}` (it would read as an unfilled
    /// template hole), one with no letter or digit ("()"), and one holding control or invisible format
    /// characters (a right-to-left override would reorder the message around it).
    static func text(_ raw: String?) -> UserText {
        guard let raw else { return .absent }
        if isPlainASCII(raw) { return judge(raw) }
        var out = ""
        var lastSpace = true
        for scalar in raw.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !lastSpace { out.append(" ") }
                lastSpace = true
                continue
            }
            if let why = forbidden(scalar) { return .refused(why) }
            out.unicodeScalars.append(scalar)
            lastSpace = false
        }
        if out.last == " " { out.removeLast() }
        return judge(out)
    }

    /// Why a text may not go into a message as it is (a configured sender name or signature), or nil. Unlike
    /// `text(_:)` it keeps line breaks: it only judges.
    static func problem(_ s: String) -> String? {
        for scalar in s.unicodeScalars where !scalar.properties.isWhitespace {
            if let why = forbidden(scalar) { return why }
        }
        if case .refused(let why) = judge(trim(s)) { return why }
        return nil
    }

    /// Control characters other than whitespace, and invisible format characters (bidi controls, BOM, soft
    /// hyphen…) except the zero-width (non-)joiners that some scripts and emoji need.
    private static func forbidden(_ scalar: Unicode.Scalar) -> String? {
        switch scalar.properties.generalCategory {
        case .control, .privateUse, .surrogate:
            break
        case .format where scalar.value != 0x200C && scalar.value != 0x200D:
            break
        default:
            return nil
        }
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "contains an invisible control or direction character (U+\(String(repeating: "0", count: max(0, 4 - hex.count)) + hex))"
    }

    /// The verdict on a value already free of forbidden characters, single-spaced and trimmed.
    private static func judge(_ s: String) -> UserText {
        // One pass over the bytes gathers everything the checks below need (`String.UTF8View`'s `first`, `last`
        // and `allSatisfy` cost ~1k instructions per value in callgrind on `EngineBench`'s leads).
        var count = 0, first: UInt8 = 0, last: UInt8 = 0
        var hasAlnum = false, hasNonASCII = false, doubled: UInt8 = 0
        var word: Bool?
        withBytes(s) { buf in
            count = buf.count
            guard count > 0 else { return }
            first = buf[0]
            last = buf[count - 1]
            var prev: UInt8 = 0
            for b in buf {
                if (b == UInt8(ascii: "{") || b == UInt8(ascii: "}")) && prev == b {
                    // No listed word holds a brace, so the word check below cannot differ.
                    doubled = b
                    return
                }
                if b >= 0x80 { hasNonASCII = true }
                else if (b >= 0x30 && b <= 0x39) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A) { hasAlnum = true }
                prev = b
            }
            if count <= 9 && !hasNonASCII { word = asciiWordVerdict(buf) }
        }
        if count == 0 { return .absent }
        if let isPlaceholder = word {
            if isPlaceholder { return .refused("is a placeholder (\"\(s)\"), not a value") }
            return .absent
        }
        if count <= 9 && hasNonASCII && doubled == 0 {
            // Non-ASCII can lowercase into ASCII (the Kelvin sign into "k"): the general comparison.
            let lower = s.lowercased()
            if noValueWords.contains(lower) { return .absent }
            if placeholderWords.contains(lower) { return .refused("is a placeholder (\"\(s)\"), not a value") }
        }
        if doubled != 0 {
            return .refused("holds \"\(doubled == UInt8(ascii: "{") ? "{{" : "}}")\", which reads as an unfilled template placeholder")
        }
        if !hasAlnum && hasNonASCII {
            hasAlnum = s.unicodeScalars.contains { $0.properties.isAlphabetic || $0.properties.numericType != nil }
        }
        if !hasAlnum { return .refused("has no letter or digit") }
        if (first == UInt8(ascii: "[") && last == UInt8(ascii: "]")) || (first == UInt8(ascii: "<") && last == UInt8(ascii: ">")) {
            return .refused("is a placeholder (\"\(s)\"), not a value")
        }
        return .value(s)
    }

    /// Fast path: printable ASCII, no leading, trailing or double spaces (nothing to collapse or refuse by
    /// character; `judge` does the rest).
    private static func isPlainASCII(_ s: String) -> Bool {
        withBytes(s) { buf in
            var prevSpace = true
            for b in buf {
                if b < 0x20 || b >= 0x7F { return false }
                if b == 0x20 {
                    if prevSpace { return false }
                    prevSpace = true
                } else {
                    prevSpace = false
                }
            }
            return !prevSpace
        }
    }

    /// The string's UTF-8 as a buffer. Looping over a buffer costs a few instructions per byte; over
    /// `String.UTF8View` (small strings especially) ~50 in callgrind on `EngineBench`'s leads.
    /// Every byte below 0x80 (over a buffer, see below).
    static func isAllASCII(_ s: String) -> Bool {
        withBytes(s) { b in !b.contains(where: { $0 >= 0x80 }) }
    }

    @inline(__always) static func withBytes<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var s = s
        return s.withUTF8(body)
    }

    /// For ASCII text: true for a placeholder word, false for a no-value word, nil for neither. Compares bytes
    /// case-insensitively: `lowercased()` and two set lookups cost ~1k instructions per name and title
    /// (callgrind on `EngineBench`'s leads).
    private static func asciiWordVerdict(_ u: UnsafeBufferPointer<UInt8>) -> Bool? {
        guard let first = u.first else { return nil }
        // Every listed word starts with one of these letters (or is "-"); most values are ruled out here.
        switch first | 0x20 {
        case UInt8(ascii: "n"), UInt8(ascii: "u"): break
        default: if u.count != 1 || first != UInt8(ascii: "-") { return nil }
        }
        func matches(_ list: [[UInt8]]) -> Bool {
            word: for w in list where w.count == u.count {
                for k in 0..<u.count {
                    let b = u[k]
                    if (b >= 0x41 && b <= 0x5A ? b | 0x20 : b) != w[k] { continue word }
                }
                return true
            }
            return false
        }
        if matches(placeholderBytes) { return true }
        if matches(noValueBytes) { return false }
        return nil
    }
    private static let placeholderBytes: [[UInt8]] = placeholderWords.map { Array($0.utf8) }
    private static let noValueBytes: [[UInt8]] = noValueWords.map { Array($0.utf8) }

    /// Values that betray a missing value in the sender's system: refused.
    static let placeholderWords: Set<String> = ["none", "null", "nil", "undefined", "nan"]
    /// Values by which people say "no value": taken as absent.
    static let noValueWords: Set<String> = ["n/a", "-", "unknown"]
    private static let honorificBytes: [[UInt8]] = ["dr", "mr", "mrs", "ms", "miss", "mx", "prof", "sir", "madam", "dame"]
        .map { Array($0.utf8) }

    /// Case-insensitive comparison with the honorifics, without allocating.
    static func isHonorific(_ word: Substring) -> Bool {
        let u = word.utf8
        outer: for h in honorificBytes where h.count == u.count {
            var k = 0
            for b in u {
                let lower = (b >= 0x41 && b <= 0x5A) ? b + 32 : b
                if lower != h[k] { continue outer }
                k += 1
            }
            return true
        }
        return false
    }

    static let honorifics: Set<String> = ["dr", "mr", "mrs", "ms", "miss", "mx", "prof", "sir", "madam", "dame"]

    /// The first name used in greetings: the first word that is not an honorific; nil when there is none
    /// (then the greeting says "there"). `name` is expected already cleaned by `text(_:)` (single spaces).
    static func firstName(_ name: String) -> String? {
        if name == "Unknown" { return nil }
        if let fast = name.utf8.withContiguousStorageIfAvailable({ firstNameBytes($0) }) { return fast }
        var copy = name
        return copy.withUTF8 { firstNameBytes($0) }
    }

    /// `firstName` over the UTF-8 bytes (spaces, dots and commas are ASCII, so every cut is at a scalar boundary).
    private static func firstNameBytes(_ u: UnsafeBufferPointer<UInt8>) -> String? {
        let n = u.count
        var start = 0
        while start < n {
            var end = start
            while end < n && u[end] != 0x20 { end += 1 }
            var wordEnd = end
            while wordEnd > start && u[wordEnd - 1] == UInt8(ascii: ",") { wordEnd -= 1 }
            var bareEnd = wordEnd
            while bareEnd > start && u[bareEnd - 1] == UInt8(ascii: ".") { bareEnd -= 1 }
            if bareEnd > start {
                let isTitle = bareEnd - start <= 5 && isHonorific(UnsafeBufferPointer(rebasing: u[start..<bareEnd]))
                if !isTitle { return String(decoding: UnsafeBufferPointer(rebasing: u[start..<wordEnd]), as: UTF8.self) }
            }
            start = end < n ? end + 1 : end
        }
        return nil
    }

    private static func isHonorific(_ word: UnsafeBufferPointer<UInt8>) -> Bool {
        outer: for h in honorificBytes where h.count == word.count {
            for k in 0..<word.count {
                let b = word[k]
                if ((b >= 0x41 && b <= 0x5A) ? b + 32 : b) != h[k] { continue outer }
            }
            return true
        }
        return false
    }
}
