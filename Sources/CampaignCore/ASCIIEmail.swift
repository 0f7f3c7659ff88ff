/// `Normalize.email` over bytes for ASCII input (every lead carries a few addresses; the general path with
/// `lowercased()`, splits and `Character` checks cost ~25k instructions per address).
///
/// Same rules as the general path, which handles anything non-ASCII: trimmed, lower-cased, one `@`, a local part
/// of 1–64 bytes without leading, trailing or doubled dots, no control bytes, spaces or `,;<>"`, a domain of at
/// least two non-empty labels not starting or ending with `-`, the last one of two or more letters.
enum ASCIIEmail {
    struct Result {
        /// The normalised address, or nil when it is not plausible.
        var valid: String?
    }

    /// nil when the input is not all ASCII (the caller takes the general path).
    static func check(_ raw: String) -> Result? {
        // Over a buffer, not `String.UTF8View` (see `Normalize.withBytes`).
        Normalize.withBytes(raw) { bytes in check(raw, bytes) }
    }

    private static func check(_ raw: String, _ bytes: UnsafeBufferPointer<UInt8>) -> Result? {
        // Trim ASCII whitespace; any non-ASCII byte sends the address to the general path.
        var start = bytes.startIndex, end = bytes.endIndex
        if bytes.contains(where: { $0 >= 0x80 }) { return nil }
        while start < end, Normalize.isASCIIWhitespace(bytes[start]) { start = bytes.index(after: start) }
        while end > start, Normalize.isASCIIWhitespace(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        let count = bytes.distance(from: start, to: end)
        guard count > 0, count <= 254 else { return Result(valid: nil) }
        var at = -1
        var hasUpper = false
        var k = 0
        var prev: UInt8 = 0
        var doubleDotInLocal = false
        // Per domain label: it starts right after the `@` or a dot.
        var labels = 0, labelLength = 0, labelAllLetters = true, labelBad = false
        var idx = start
        while idx < end {
            var b = bytes[idx]
            if b >= 0x41 && b <= 0x5A {
                hasUpper = true
                b += 32
            }
            if b <= 32 || b == UInt8(ascii: ",") || b == UInt8(ascii: ";") || b == UInt8(ascii: "<")
                || b == UInt8(ascii: ">") || b == UInt8(ascii: "\"") { return Result(valid: nil) }
            if b == UInt8(ascii: "@") {
                if at >= 0 { return Result(valid: nil) }
                at = k
                labels = 1
                labelLength = 0
                labelAllLetters = true
            } else if at < 0 {
                if b == UInt8(ascii: ".") && prev == UInt8(ascii: ".") { doubleDotInLocal = true }
            } else if b == UInt8(ascii: ".") {
                if labelLength == 0 || prev == UInt8(ascii: "-") { labelBad = true }
                labels += 1
                labelLength = 0
                labelAllLetters = true
            } else {
                if labelLength == 0 && b == UInt8(ascii: "-") { labelBad = true }
                labelLength += 1
                if !(b >= 0x61 && b <= 0x7A) { labelAllLetters = false }
            }
            prev = b
            k += 1
            idx = bytes.index(after: idx)
        }
        // The last label: non-empty, no trailing `-`, two or more letters.
        guard at > 0, at <= 64, at < count - 1 else { return Result(valid: nil) }
        if labelLength == 0 || prev == UInt8(ascii: "-") { labelBad = true }
        guard labels >= 2, !labelBad, labelLength >= 2, labelAllLetters else { return Result(valid: nil) }
        let firstByte = bytes[start]
        let lastLocal = bytes[bytes.index(start, offsetBy: at - 1)]
        guard firstByte != UInt8(ascii: "."), lastLocal != UInt8(ascii: "."), !doubleDotInLocal else { return Result(valid: nil) }
        if !hasUpper && start == bytes.startIndex && end == bytes.endIndex { return Result(valid: raw) }
        var out = [UInt8]()
        out.reserveCapacity(count)
        for b in bytes[start..<end] { out.append(b >= 0x41 && b <= 0x5A ? b + 32 : b) }
        return Result(valid: String(decoding: out, as: UTF8.self))
    }
}
