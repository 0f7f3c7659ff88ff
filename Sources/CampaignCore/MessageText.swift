/// The fail-closed check every rendered message passes before it is emitted.
enum MessageText {
    /// False when the text holds an unfilled placeholder (`{{`, `}}`), a stub in brackets, "()",
    /// or a word like "None"/"null"/"undefined" that betrays a missing value.
    ///
    /// One pass over the UTF-8 bytes (this runs for every message). Only a few bytes can make a text unclean:
    /// brackets, braces, `)`, and the first letter of a word starting with N, n or u; every other byte is skipped
    /// with one table lookup. (A word is a run of ASCII letters and non-ASCII bytes.)
    static func isClean(_ s: String) -> Bool {
        var s = s
        return byteClass.withUnsafeBufferPointer { byteClass in s.withUTF8 { bytes -> Bool in
            let n = bytes.count
            var i = 0
            while i < n {
                let b = bytes[i]
                switch byteClass[Int(b)] {
                case 0: break // quiet
                case 2: return false // [ or ]
                case 3: // { or }
                    if i > 0 && bytes[i - 1] == b { return false }
                case 4: // )
                    var k = i - 1
                    while k >= 0 && bytes[k] == 0x20 { k -= 1 }
                    if k >= 0 && bytes[k] == UInt8(ascii: "(") { return false }
                case 5: // N, n or u: check the word when it starts here
                    if i == 0 || !isLetter(bytes[i - 1]) {
                        var end = i + 1
                        while end < n && isLetter(bytes[end]) { end += 1 }
                        if badWord(bytes, i, end) { return false }
                        i = end
                        continue
                    }
                default: break
                }
                i += 1
            }
            return true
        } }
    }

    @inline(__always)
    private static func isLetter(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b >= 0x80
    }

    /// 0 quiet, 2 square bracket, 3 brace, 4 closing parenthesis, 5 a letter that may start a bad word.
    private static let byteClass: [UInt8] = (0..<256).map { v -> UInt8 in
        switch UInt8(v) {
        case UInt8(ascii: "["), UInt8(ascii: "]"): return 2
        case UInt8(ascii: "{"), UInt8(ascii: "}"): return 3
        case UInt8(ascii: ")"): return 4
        case UInt8(ascii: "N"), UInt8(ascii: "n"), UInt8(ascii: "u"): return 5
        default: return 0
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
