/// Normalisation of contact fields as received in leads and responses.
enum Normalize {
    /// Whitespace trimmed from both ends (Foundation's `trimmingCharacters` is slow on Linux).
    static func trim(_ s: String) -> String {
        // Fast path: both ends are ASCII non-whitespace (a byte below 0x80 is always a whole scalar).
        let bytes = s.utf8
        guard let first = bytes.first, let last = bytes.last else { return s }
        if first < 0x80 && last < 0x80 && !isASCIIWhitespace(first) && !isASCIIWhitespace(last) { return s }
        return generalTrim(s)
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
        if t.utf8.allSatisfy({ $0 < 0x80 }) { return asciiPhone(t) }
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
        var out: [UInt8] = []
        out.reserveCapacity(16)
        var digits = 0
        var i = 0
        for b in t.utf8 {
            defer { i += 1 }
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                out.append(b)
                digits += 1
            case UInt8(ascii: "+") where i == 0: out.append(b)
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "("), UInt8(ascii: ")"),
                 UInt8(ascii: "/"): continue
            default: return nil
            }
        }
        return (7...15).contains(digits) ? String(decoding: out, as: UTF8.self) : nil
    }

    /// Upper-case ISO 3166 alpha-2 code, or nil.
    static func country(_ raw: String) -> String? {
        let c = trim(raw).uppercased()
        guard c.count == 2, c.allSatisfy({ $0.isASCII && $0.isLetter }) else { return nil }
        return c
    }

    /// Text safe to put into a message: brackets and braces removed (they could fake a placeholder or a stub),
    /// whitespace collapsed; nil for empty or placeholder-like values ("None", "null", …).
    static func text(_ raw: String?) -> String? {
        guard let raw else { return nil }
        // Plain text is ASCII, so lower-casing keeps its length; no placeholder word is longer than 9 bytes.
        if isPlain(raw) { return raw.utf8.count <= 9 && placeholderWords.contains(raw.lowercased()) ? nil : raw }
        var out = ""
        var lastSpace = true
        for ch in raw {
            if "{}[]()<>".contains(ch) { continue }
            if ch.isWhitespace {
                if !lastSpace { out.append(" ") }
                lastSpace = true
            } else {
                out.append(ch)
                lastSpace = false
            }
        }
        while out.last == " " { out.removeLast() }
        if out.isEmpty || placeholderWords.contains(out.lowercased()) { return nil }
        return out
    }

    /// Fast path: printable ASCII without brackets, no leading, trailing or double spaces.
    private static func isPlain(_ s: String) -> Bool {
        var prevSpace = true
        var any = false
        for b in s.utf8 {
            if b < 0x20 || b >= 0x7F { return false }
            switch b {
            case UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "("),
                 UInt8(ascii: ")"), UInt8(ascii: "<"), UInt8(ascii: ">"): return false
            case 0x20:
                if prevSpace { return false }
                prevSpace = true
            default: prevSpace = false
            }
            any = true
        }
        return any && !prevSpace
    }

    static let placeholderWords: Set<String> = ["none", "null", "nil", "undefined", "nan", "n/a", "unknown", "-"]
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
