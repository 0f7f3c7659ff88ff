import Foundation

/// The title → priority table, matched on whole words, case-insensitively.
///
/// Configuration shape (`title_scores`): an object of phrase → integer score that *replaces* the default
/// table, e.g. `{"ceo": 100, "chief * officer": 95, "director": 70}`. A phrase is one or more words;
/// `*` stands for one to three arbitrary words. Matching scans the title's words left to right; at each
/// word, the highest-scoring phrase that matches there wins and consumes its words (so "Vice President"
/// is 80 via "vice president", never 90 via "president"). The title's score is the best phrase found; 0 if none.
public struct TitleScores: Sendable, Equatable {
    struct Rule: Sendable, Equatable {
        var words: [String]
        var score: Int
    }
    private(set) var rules: [Rule]
    /// Source phrases (for status and docs).
    public let table: [String: Int]

    public static let `default` = TitleScores(table: [
        "ceo": 100, "chief executive": 100, "founder": 100, "cofounder": 100,
        "cto": 95, "cio": 95, "cfo": 95, "coo": 95, "cmo": 95, "chief * officer": 95,
        "president": 90,
        "vp": 80, "vice president": 80, "svp": 80, "evp": 80, "head of": 80,
        "director": 70,
        "manager": 50,
        "lead": 40,
    ])

    public init(table: [String: Int]) {
        self.table = table
        // Sorted for determinism: longer phrases first, then alphabetical.
        rules = table.map { Rule(words: TitleScores.words($0.key), score: $0.value) }
            .filter { !$0.words.isEmpty }
            .sorted { ($0.words.count, $1.words.joined(separator: " ")) > ($1.words.count, $0.words.joined(separator: " ")) }
    }

    /// Lower-cased words of a title (letters and digits; everything else separates words).
    static func words(_ s: String) -> [String] {
        if Normalize.isAllASCII(s) { return asciiWords(s) }
        return generalWords(s)
    }

    /// `words` for any input (the reference for its ASCII path).
    static func generalWords(_ s: String) -> [String] {
        var out: [String] = []
        var cur = ""
        for ch in s.lowercased() {
            if ch.isLetter || ch.isNumber || ch == "*" {
                cur.append(ch)
            } else if !cur.isEmpty {
                out.append(cur)
                cur = ""
            }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }

    /// `words(_:)` over bytes for ASCII input (for ASCII, letters and digits are exactly `A-Z a-z 0-9`).
    static func asciiWords(_ s: String) -> [String] {
        var out: [String] = []
        var cur: [UInt8] = []
        func flush() {
            if !cur.isEmpty { out.append(String(decoding: cur, as: UTF8.self)) }
            cur.removeAll(keepingCapacity: true)
        }
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): cur.append(b + 32)
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "*"): cur.append(b)
            default: flush()
            }
        }
        flush()
        return out
    }

    /// Scores of titles seen before (titles repeat a lot; scoring one costs a few thousand instructions).
    private let memo = Memo()

    public static func == (a: TitleScores, b: TitleScores) -> Bool { a.table == b.table }

    /// The score of a title (0 for nil or no match).
    public func score(_ title: String?) -> Int {
        guard let title, !title.isEmpty else { return 0 }
        if let known = memo.score(of: title) { return known }
        let s = computeScore(title)
        memo.remember(title, s)
        return s
    }

    private func computeScore(_ title: String) -> Int {
        let w = TitleScores.words(title)
        var best = 0
        var i = 0
        while i < w.count {
            var matchScore = -1
            var matchLen = 0
            for rule in rules where rule.words[0] == "*" || rule.words[0] == w[i] {
                if let len = TitleScores.match(rule.words, w, at: i), rule.score > matchScore {
                    matchScore = rule.score
                    matchLen = len
                }
            }
            if matchScore >= 0 {
                best = max(best, matchScore)
                i += matchLen
            } else {
                i += 1
            }
        }
        return best
    }

    /// Length (in title words) of a match of `pattern` at `start`, or nil.
    private static func match(_ pattern: [String], _ w: [String], at start: Int) -> Int? {
        func go(_ p: Int, _ i: Int) -> Int? {
            if p == pattern.count { return i }
            if pattern[p] == "*" {
                var k = 1
                while k <= 3 && i + k <= w.count {
                    if let end = go(p + 1, i + k) { return end }
                    k += 1
                }
                return nil
            }
            guard i < w.count, w[i] == pattern[p] else { return nil }
            return go(p + 1, i + 1)
        }
        return go(0, start).map { $0 - start }
    }
}

extension TitleScores {
    /// A bounded, thread-safe title → score memo (it only ever holds what `computeScore` returns).
    final class Memo: @unchecked Sendable {
        private let lock = NSLock()
        private var scores: [String: Int] = [:]
        /// The last few titles: comparing (lengths first) is cheaper than hashing (~0.4k instructions per contact,
        /// callgrind on `EngineBench`'s leads), and titles repeat.
        private var recent: [(title: String, score: Int)] = []
        private static let limit = 4096

        func score(of title: String) -> Int? {
            lock.lock()
            defer { lock.unlock() }
            let length = title.utf8.count
            for e in recent where e.title.utf8.count == length && e.title == title { return e.score }
            guard let s = scores[title] else { return nil }
            keepRecent(title, s)
            return s
        }

        func remember(_ title: String, _ score: Int) {
            lock.lock()
            defer { lock.unlock() }
            if scores.count >= Memo.limit { scores.removeAll(keepingCapacity: true) }
            scores[title] = score
            keepRecent(title, score)
        }

        /// Called under the lock.
        private func keepRecent(_ title: String, _ score: Int) {
            if recent.count >= 8 { recent.removeFirst() }
            recent.append((title, score))
        }
    }
}
