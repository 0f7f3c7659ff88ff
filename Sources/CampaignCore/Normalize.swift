/// Normalisation of contact fields as received in leads and responses.
enum Normalize {
    /// Trimmed, lower-cased email when it has a plausible form (`local@domain.tld`, no spaces, ≤ 254 chars).
    static func email(_ raw: String) -> String? {
        let e = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
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
        let t = raw.trimmingCharacters(in: .whitespacesAndNewlines)
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

    /// Upper-case ISO 3166 alpha-2 code, or nil.
    static func country(_ raw: String) -> String? {
        let c = raw.trimmingCharacters(in: .whitespaces).uppercased()
        guard c.count == 2, c.allSatisfy({ $0.isASCII && $0.isLetter }) else { return nil }
        return c
    }

    /// Text safe to put into a message: brackets and braces removed (they could fake a placeholder or a stub),
    /// whitespace collapsed; nil for empty or placeholder-like values ("None", "null", …).
    static func text(_ raw: String?) -> String? {
        guard let raw else { return nil }
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

    static let placeholderWords: Set<String> = ["none", "null", "nil", "undefined", "nan", "n/a", "unknown", "-"]
    static let honorifics: Set<String> = ["dr", "mr", "mrs", "ms", "miss", "mx", "prof", "sir", "madam", "dame"]

    /// The first name used in greetings: the first word that is not an honorific; nil when there is none
    /// (then the greeting says "there").
    static func firstName(_ name: String) -> String? {
        guard let clean = text(name) else { return nil }
        for word in clean.split(separator: " ") {
            let bare = word.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ".,"))
            if bare.isEmpty || honorifics.contains(bare) { continue }
            return String(word).trimmingCharacters(in: CharacterSet(charactersIn: ","))
        }
        return nil
    }
}

import Foundation
