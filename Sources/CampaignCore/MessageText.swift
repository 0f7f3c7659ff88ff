/// The fail-closed check every rendered message passes before it is emitted.
enum MessageText {
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
