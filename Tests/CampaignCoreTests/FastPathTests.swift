import AbmWire
import AbmTestSupport
import Testing
@testable import CampaignCore

/// The byte-level fast paths of lead normalisation give exactly what the general (Unicode) paths give.
@Suite struct FastPathTests {
    static let alphabet: [String] = ["a", "Z", "x", "o", "m", "0", "7", ".", "@", "-", "_", "+", " ", ",", ";", "<",
                                     ">", "\"", "\t", "\n", "\r", "(", ")", "/", "*", "é", "\u{00A0}", "co", "com"]

    static func randomText(_ rng: inout SplitMix64, maxLength: Int) -> String {
        let n = Int(rng.next() % UInt64(maxLength + 1))
        var s = ""
        for _ in 0..<n { s += alphabet[Int(rng.next() % UInt64(alphabet.count))] }
        return s
    }

    /// Addresses close to valid ones, so that every rule is exercised on both sides.
    static func randomAddress(_ rng: inout SplitMix64) -> String {
        let parts = (0..<5).map { _ in randomText(&rng, maxLength: 4) }
        return parts[0] + "@" + parts[1] + "." + parts[2] + (rng.next() % 2 == 0 ? "." + parts[3] : "") + parts[4]
    }

    @Test func asciiEmailMatchesGeneralPath() {
        var rng = SplitMix64(seed: 7)
        var checked = 0
        for k in 0..<40_000 {
            let raw = k % 2 == 0 ? Self.randomAddress(&rng) : Self.randomText(&rng, maxLength: 14)
            guard raw.utf8.allSatisfy({ $0 < 0x80 }) else { continue }
            #expect(ASCIIEmail.check(raw)?.valid == Normalize.generalEmail(raw), "\(raw.debugDescription)")
            checked += 1
        }
        for raw in ["  Pat.Lee@Example.COM ", "a@b.co", "a..b@c.de", ".a@b.de", "a.@b.de", "a@-b.de", "a@b-.de", "a@b.d",
                    "a@b.d3", "a@@b.de", "@b.de", "a@", "a@b", "a@.de", "a@b..de"] {
            #expect(ASCIIEmail.check(raw)?.valid == Normalize.generalEmail(raw), "\(raw.debugDescription)")
        }
        #expect(checked > 10_000)
    }

    @Test func asciiPhoneAndTrimMatchGeneralPaths() {
        var rng = SplitMix64(seed: 11)
        let digits = ["+", "1", "4", "5", "9", " ", "-", ".", "(", ")", "/", "x", "\r\n", "\t"]
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 20)
            var raw = ""
            for _ in 0..<n { raw += digits[Int(rng.next() % UInt64(digits.count))] }
            #expect(Normalize.trim(raw) == Normalize.generalTrim(raw))
            let t = Normalize.trim(raw)
            #expect(Normalize.phone(raw) == Normalize.generalPhone(t), "\(raw.debugDescription)")
        }
        for _ in 0..<20_000 {
            let raw = Self.randomText(&rng, maxLength: 8)
            #expect(Normalize.trim(raw) == Normalize.generalTrim(raw), "\(raw.debugDescription)")
        }
    }

    @Test func asciiTitleWordsMatchGeneralPath() {
        var rng = SplitMix64(seed: 13)
        for _ in 0..<20_000 {
            let raw = Self.randomText(&rng, maxLength: 10)
            guard raw.utf8.allSatisfy({ $0 < 0x80 }) else { continue }
            #expect(TitleScores.asciiWords(raw) == TitleScores.generalWords(raw), "\(raw.debugDescription)")
        }
    }

    /// `Normalize.text`'s one-pass byte judgement against the first version (`lowercased()`, set lookups,
    /// `UTF8View` scans), on values made of placeholder words, braces, brackets and non-ASCII letters.
    @Test func userTextMatchesReferenceJudgement() {
        var rng = SplitMix64(seed: 19)
        let pieces = ["None", "null", "NULL", "nil", "NaN", "undefined", "Unknown", "UNKNOWN", "n/a", "N/A", "-", "\u{212A}",
                      "n", "u", "x", "Hi", "é", " ", "{", "}", "{{", "[", "]", "<", ">", "(", ")", "7", "Ünull", "\u{00A0}"]
        for _ in 0..<30_000 {
            var text = ""
            for _ in 0..<Int(rng.next() % 5) { text += pieces[Int(rng.next() % UInt64(pieces.count))] }
            #expect(Normalize.text(text) == ReferenceUserText.text(text), "\(text.debugDescription)")
        }
        #expect(Normalize.text("UN\u{212A}NOWN") == .absent)
    }

    @Test func isCleanMatchesReferenceScanner() {
        var rng = SplitMix64(seed: 17)
        let pieces = ["None", "null", "NULL", "undefined", "NaN", "Nonesuch", "unNone", "N", "n", "u", "x", "Hi", "é",
                      " ", "  ", ",", ".", "{", "}", "{{", "[", "]", "(", ")", "( )", "\n", "7", "-", "Ünull"]
        var unclean = 0
        for _ in 0..<30_000 {
            let n = Int(rng.next() % 12)
            var text = ""
            for _ in 0..<n { text += pieces[Int(rng.next() % UInt64(pieces.count))] }
            let expected = ReferenceMessageText.isClean(text)
            #expect(MessageText.isClean(text) == expected, "\(text.debugDescription)")
            if !expected { unclean += 1 }
        }
        #expect(unclean > 1_000)
    }
}

/// The first byte-level version of `MessageText.isClean` (a straightforward word scanner), kept as the reference.
private enum ReferenceMessageText {
    /// False when the text holds an unfilled placeholder (`{{`, `}}`), a stub in brackets, "()",
    /// or a word like "None"/"null"/"undefined" that betrays a missing value.
    /// One pass over the UTF-8 bytes (this runs for every message).
    static func isClean(_ s: String) -> Bool {
        var s = s
        // The class table is read through a local buffer (not the global accessor) in the per-byte loops.
        return byteClass.withUnsafeBufferPointer { byteClass in s.withUTF8 { bytes -> Bool in
            let n = bytes.count
            var i = 0
            var prev: UInt8 = 0
            while i < n {
                let b = bytes[i]
                switch byteClass[Int(b)] {
                case 0: // letter: scan the whole word; only words starting with N, n or u can be bad
                    let start = i
                    i += 1
                    while i < n && byteClass[Int(bytes[i])] == 0 { i += 1 }
                    if (b == 0x4E || b == 0x6E || b == 0x75) && badWord(bytes, start, i) { return false }
                    prev = bytes[i - 1]
                    continue
                case 2: // [ or ]
                    return false
                case 3: // { or }
                    if prev == b { return false }
                case 4: // )
                    var k = i - 1
                    while k >= 0 && bytes[k] == 0x20 { k -= 1 }
                    if k >= 0 && bytes[k] == UInt8(ascii: "(") { return false }
                default: break
                }
                prev = b
                i += 1
            }
            return true
        } }
    }

    /// 0 letter (ASCII letters and every non-ASCII byte), 1 other, 2 square bracket, 3 brace, 4 closing parenthesis.
    private static let byteClass: [UInt8] = (0..<256).map { v -> UInt8 in
        let b = UInt8(v)
        if (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b >= 0x80 { return 0 }
        switch b {
        case UInt8(ascii: "["), UInt8(ascii: "]"): return 2
        case UInt8(ascii: "{"), UInt8(ascii: "}"): return 3
        case UInt8(ascii: ")"): return 4
        default: return 1
        }
    }

    private static let badWords: [[UInt8]] = ["None", "null", "NULL", "undefined", "NaN"].map { Array($0.utf8) }

    @inline(__always)
    private static func badWord(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        let len = end - start
        guard len >= 3 && len <= 9 else { return false }
        for w in badWords where w.count == len {
            var same = true
            for k in 0..<len where bytes[start + k] != w[k] {
                same = false
                break
            }
            if same { return true }
        }
        return false
    }
}

/// The first version of `Normalize.text` for text without control or format characters (the pieces above).
private enum ReferenceUserText {
    static func text(_ raw: String) -> Normalize.UserText {
        var out = ""
        var lastSpace = true
        for scalar in raw.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !lastSpace { out.append(" ") }
                lastSpace = true
                continue
            }
            out.unicodeScalars.append(scalar)
            lastSpace = false
        }
        if out.last == " " { out.removeLast() }
        return judge(out)
    }

    static func judge(_ s: String) -> Normalize.UserText {
        if s.isEmpty { return .absent }
        if s.utf8.count <= 9 {
            let lower = s.lowercased()
            if Normalize.noValueWords.contains(lower) { return .absent }
            if Normalize.placeholderWords.contains(lower) { return .refused("is a placeholder (\"\(s)\"), not a value") }
        }
        let u = s.utf8
        var hasAlnum = false, hasNonASCII = false
        var prev: UInt8 = 0
        for b in u {
            if (b == UInt8(ascii: "{") || b == UInt8(ascii: "}")) && prev == b {
                return .refused("holds \"\(b == UInt8(ascii: "{") ? "{{" : "}}")\", which reads as an unfilled template placeholder")
            }
            if b >= 0x80 { hasNonASCII = true }
            else if (b >= 0x30 && b <= 0x39) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A) { hasAlnum = true }
            prev = b
        }
        if !hasAlnum && hasNonASCII {
            hasAlnum = s.unicodeScalars.contains { $0.properties.isAlphabetic || $0.properties.numericType != nil }
        }
        if !hasAlnum { return .refused("has no letter or digit") }
        if let f = u.first, let l = u.last,
           (f == UInt8(ascii: "[") && l == UInt8(ascii: "]")) || (f == UInt8(ascii: "<") && l == UInt8(ascii: ">")) {
            return .refused("is a placeholder (\"\(s)\"), not a value")
        }
        return .value(s)
    }
}
