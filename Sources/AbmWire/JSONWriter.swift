
/// A deterministic JSON encoder: object keys sorted by their UTF-8 bytes (= by code point, as Python's
/// `sort_keys=True`), no insignificant whitespace, non-ASCII written as raw UTF-8, control characters,
/// `"` and `\` escaped. Non-finite doubles (which JSON cannot carry) are written as `null`.
public enum JSONWriter {
    public static func encode(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out)
        return out
    }

    public static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: nullBytes)
        case .bool(let b): out.append(contentsOf: b ? trueBytes : falseBytes)
        case .int(let v): writeInt(v, into: &out)
        case .double(let d): writeDouble(d, into: &out)
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            out.append(0x5B)
            for (k, element) in a.enumerated() {
                if k > 0 { out.append(0x2C) }
                write(element, into: &out)
            }
            out.append(0x5D)
        case .object(let o):
            writeObject(o, into: &out)
        }
    }

    public static func writeObject(_ object: [String: JSONValue], into out: inout [UInt8]) {
        out.append(0x7B)
        var first = true
        for key in sortedKeys(object) {
            if !first { out.append(0x2C) }
            first = false
            writeString(key, into: &out)
            out.append(0x3A)
            write(object[key]!, into: &out)
        }
        out.append(0x7D)
    }

    /// Keys in the order the writer uses (UTF-8 byte order).
    public static func sortedKeys(_ object: [String: JSONValue]) -> [String] {
        object.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    public static func writeInt(_ value: Int64, into out: inout [UInt8]) {
        if value == 0 { out.append(0x30); return }
        var magnitude = value.magnitude
        if value < 0 { out.append(0x2D) }
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0) // 32 bytes of scratch, enough for 20 digits
        let count = withUnsafeMutableBytes(of: &digits) { raw -> Int in
            var k = 0
            while magnitude > 0 {
                raw[k] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
                magnitude /= 10
                k += 1
            }
            return k
        }
        withUnsafeBytes(of: &digits) { raw in
            for k in stride(from: count - 1, through: 0, by: -1) { out.append(raw[k]) }
        }
    }

    public static func writeDouble(_ value: Double, into out: inout [UInt8]) {
        guard value.isFinite else { out.append(contentsOf: nullBytes); return }
        // Swift's description is the shortest round-tripping form ("0.1", "1e+20", "5.0"), all valid JSON.
        out.append(contentsOf: value.description.utf8)
    }

    public static func writeString(_ string: String, into out: inout [UInt8]) {
        var s = string
        s.withUTF8 { buf in
            out.append(0x22)
            var runStart = 0
            for k in 0..<buf.count {
                let c = buf[k]
                guard c < 0x20 || c == 0x22 || c == 0x5C else { continue }
                if k > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<k])) }
                runStart = k + 1
                out.append(0x5C)
                switch c {
                case 0x22: out.append(0x22)
                case 0x5C: out.append(0x5C)
                case 0x0A: out.append(0x6E)
                case 0x0D: out.append(0x72)
                case 0x09: out.append(0x74)
                case 0x08: out.append(0x62)
                case 0x0C: out.append(0x66)
                default:
                    out.append(contentsOf: [0x75, 0x30, 0x30, hexDigit(c >> 4), hexDigit(c & 0x0F)])
                }
            }
            if buf.count > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<buf.count])) }
            out.append(0x22)
        }
    }

    private static let nullBytes: [UInt8] = Array("null".utf8)
    private static let trueBytes: [UInt8] = Array("true".utf8)
    private static let falseBytes: [UInt8] = Array("false".utf8)

    private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x61 + v - 10 }
}
