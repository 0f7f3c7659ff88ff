import CampaignCore
import Foundation

/// Turns a `DomainEvent` into the event body the store keeps (a JSON object without `seq`; the store
/// splices the seq in). The gateway may supply the wire encoder; this default is deterministic.
public protocol EventBodyEncoder: Sendable {
    func body(for event: DomainEvent) -> Data
}

/// `{"account_id":…,"at":"2026-03-02T14:00:00.000Z","campaign_id":…,"type":…, <fields>}` with every
/// object's keys sorted (byte order), no whitespace. The base fields win over a same-named field.
public struct JSONEventBodyEncoder: EventBodyEncoder {
    public init() {}

    public func body(for event: DomainEvent) -> Data {
        // The four base keys merged into the sorted field keys, without copying the fields dictionary.
        let base: [(String, JSONValue)] = [
            ("account_id", .string(event.accountId)),
            ("at", .string(ISO8601Millis.string(from: event.at))),
            ("campaign_id", event.campaignId.map(JSONValue.string) ?? .null),
            ("type", .string(event.type)),
        ]
        var keys = event.fields.keys.filter { k in !base.contains { $0.0 == k } }
        keys.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var writer = JSONWriter(capacity: 512)
        writer.beginObject()
        var b = 0, f = 0
        while b < base.count || f < keys.count {
            if f == keys.count || (b < base.count && base[b].0.utf8.lexicographicallyPrecedes(keys[f].utf8)) {
                writer.member(base[b].0, base[b].1)
                b += 1
            } else {
                writer.member(keys[f], event.fields[keys[f]]!)
                f += 1
            }
        }
        writer.endObject()
        return Data(writer.bytes)
    }
}

/// A small, fast, deterministic JSON serialiser for `JSONValue` (sorted keys, no whitespace).
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    public static func encode(_ value: JSONValue) -> Data {
        var w = JSONWriter()
        w.write(value)
        return Data(w.bytes)
    }

    public mutating func write(_ value: JSONValue) {
        switch value {
        case .null: append("null")
        case .bool(let b): append(b ? "true" : "false")
        case .int(let i): append(String(i))
        case .double(let d):
            if d.isFinite {
                if d == d.rounded(), abs(d) < 1e15 { append(String(Int64(d))) } else { append("\(d)") }
            } else {
                append("null")
            }
        case .string(let s): writeString(s)
        case .array(let a):
            bytes.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                write(v)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let o):
            bytes.append(UInt8(ascii: "{"))
            // Sort by UTF-8 bytes so the order does not depend on locale or Unicode collation.
            let keys = o.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, k) in keys.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                writeString(k)
                bytes.append(UInt8(ascii: ":"))
                write(o[k]!)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    private var needsComma = false

    /// Streaming: `beginObject`, then `member` for each key in the order to write, then `endObject`.
    public mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func member(_ key: String, _ value: JSONValue) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        writeString(key)
        bytes.append(UInt8(ascii: ":"))
        write(value)
        needsComma = true
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
    }

    private mutating func append(_ s: String) {
        bytes.append(contentsOf: s.utf8)
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func writeString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { u in
            // Copy runs of bytes that need no escaping in one go.
            var runStart = 0
            for i in 0..<u.count {
                let b = u[i]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<i])) }
                runStart = i + 1
                switch b {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(b)
                case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
                default:
                    bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    bytes.append(Self.hex[Int(b >> 4)])
                    bytes.append(Self.hex[Int(b & 0xF)])
                }
            }
            if runStart < u.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<u.count])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// ISO-8601 UTC instants with milliseconds (`2026-03-02T14:00:00.000Z`), formatted and parsed without
/// `DateFormatter` (which is slow and locale-dependent).
public enum ISO8601Millis {
    public static func string(from date: Date) -> String {
        let totalMillis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var days = totalMillis >= 0 ? totalMillis / 86_400_000 : (totalMillis - 86_399_999) / 86_400_000
        var msOfDay = totalMillis - days * 86_400_000
        if msOfDay < 0 { msOfDay += 86_400_000; days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        let h = msOfDay / 3_600_000, mi = (msOfDay / 60_000) % 60, s = (msOfDay / 1000) % 60, ms = msOfDay % 1000
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(h, 2)):\(pad(mi, 2)):\(pad(s, 2)).\(pad(ms, 3))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (or a `+00:00` offset). Nil when malformed.
    public static func date(from string: String) -> Date? {
        let u = Array(string.utf8)
        func num(_ from: Int, _ len: Int) -> Int64? {
            guard from + len <= u.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + len) {
                guard u[i] >= 48, u[i] <= 57 else { return nil }
                v = v * 10 + Int64(u[i] - 48)
            }
            return v
        }
        guard u.count >= 20, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-"), u[10] == UInt8(ascii: "T"),
              u[13] == UInt8(ascii: ":"), u[16] == UInt8(ascii: ":"),
              let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2),
              let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2) else { return nil }
        var i = 19
        var millis: Int64 = 0
        if i < u.count, u[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < u.count, u[i] >= 48, u[i] <= 57 {
                if digits < 3 { millis = millis * 10 + Int64(u[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        let rest = String(decoding: u[i...], as: UTF8.self)
        guard rest == "Z" || rest == "+00:00" else { return nil }
        let days = daysFromCivil(y, mo, d)
        let total = ((days * 24 + h) * 60 + mi) * 60 + s
        return Date(timeIntervalSince1970: Double(total) + Double(millis) / 1000)
    }

    // Howard Hinnant's civil-from-days / days-from-civil.
    private static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    private static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
