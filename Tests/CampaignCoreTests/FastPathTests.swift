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
}
