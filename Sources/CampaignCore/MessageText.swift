/// The fail-closed check every rendered message passes before it is emitted.
enum MessageText {
    /// False when the text holds an unfilled placeholder (`{{`, `}}`), a stub in brackets, "()",
    /// or a word like "None"/"null"/"undefined" that betrays a missing value.
    /// One pass over the UTF-8 bytes (this runs for every message).
    static func isClean(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { bytes -> Bool in
            var prev: UInt8 = 0
            var prevNonSpace: UInt8 = 0
            var wordStart = -1
            let n = bytes.count
            var i = 0
            while i <= n {
                let b: UInt8 = i < n ? bytes[i] : 0x20
                switch b {
                case UInt8(ascii: "["), UInt8(ascii: "]"): return false
                case UInt8(ascii: "{"), UInt8(ascii: "}"):
                    if prev == b { return false }
                case UInt8(ascii: ")"):
                    if prevNonSpace == UInt8(ascii: "(") { return false }
                default: break
                }
                let isWordByte = (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b >= 0x80
                if isWordByte {
                    if wordStart < 0 { wordStart = i }
                } else if wordStart >= 0 {
                    if badWord(bytes, wordStart, i) { return false }
                    wordStart = -1
                }
                prev = b
                if b != 0x20 { prevNonSpace = b }
                i += 1
            }
            return true
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
