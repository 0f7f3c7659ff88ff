import Foundation

/// The protocol's one instant format: ISO-8601 / RFC 3339 in UTC with exactly three fraction digits,
/// `2026-03-02T14:00:00.000Z`. Writing truncates to the millisecond (toward the past), so an event is
/// never stamped later than it happened. Fixed width, so the strings also sort chronologically.
/// Hand-written because `ISO8601DateFormatter` is slow and not `Sendable`.
public enum WireTime {
    public static func format(_ date: Date) -> String {
        String(decoding: formatBytes(date), as: UTF8.self)
    }

    public static func formatBytes(_ date: Date) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        write(date, into: &out)
        return out
    }

    /// Appends the 24 bytes of `format` (without quotes).
    public static func write(_ date: Date, into out: inout [UInt8]) {
        // A Date's Double cannot hold most millisecond instants exactly (…00.999 may come back as
        // …00.99899999): within 2 µs of a whole millisecond counts as that millisecond, else truncate.
        let x = date.timeIntervalSince1970 * 1000
        let nearest = x.rounded()
        let totalMillis = Int64(abs(x - nearest) < 0.002 ? nearest : x.rounded(.down))
        let (days, msOfDay) = floorDivMod(totalMillis, 86_400_000)
        let (y, m, d) = CivilDate.ymd(fromDays: days)
        let h = msOfDay / 3_600_000, mi = msOfDay / 60_000 % 60, s = msOfDay / 1000 % 60, ms = msOfDay % 1000
        func digits(_ v: Int64, _ width: Int) {
            var div: Int64 = 1
            for _ in 1..<width { div *= 10 }
            while div > 0 { out.append(UInt8(truncatingIfNeeded: v / div % 10) + 0x30); div /= 10 }
        }
        digits(y, 4); out.append(0x2D); digits(m, 2); out.append(0x2D); digits(d, 2)
        out.append(0x54); digits(h, 2); out.append(0x3A); digits(mi, 2); out.append(0x3A); digits(s, 2)
        out.append(0x2E); digits(ms, 3); out.append(0x5A)
    }

    /// Parses an RFC 3339 instant: `YYYY-MM-DDTHH:MM:SS`, optional fraction (1–9 digits), then `Z` or
    /// `±HH:MM`. Lower-case `t`/`z` are accepted, as RFC 3339 allows. Returns nil for anything else.
    public static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        var i = 0
        func num(_ width: Int) -> Int64? {
            guard i + width <= b.count else { return nil }
            var v: Int64 = 0
            for k in i..<i + width {
                guard b[k] >= 0x30, b[k] <= 0x39 else { return nil }
                v = v * 10 + Int64(b[k] - 0x30)
            }
            i += width
            return v
        }
        func expect(_ c: UInt8, _ alt: UInt8? = nil) -> Bool {
            guard i < b.count, b[i] == c || b[i] == alt else { return false }
            i += 1
            return true
        }
        guard let y = num(4), expect(0x2D), let mo = num(2), expect(0x2D), let d = num(2),
              expect(0x54, 0x74), let h = num(2), expect(0x3A), let mi = num(2), expect(0x3A), let s = num(2)
        else { return nil }
        guard (1...12).contains(mo), d >= 1, d <= daysIn(month: mo, year: y), h < 24, mi < 60, s < 60 else { return nil }
        var nanos: Int64 = 0
        if i < b.count, b[i] == 0x2E {
            i += 1
            var count = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39, count < 10 {
                nanos = nanos * 10 + Int64(b[i] - 0x30)
                count += 1
                i += 1
            }
            guard (1...9).contains(count) else { return nil }
            for _ in count..<9 { nanos *= 10 }
        }
        var offset: Int64 = 0
        if expect(0x5A, 0x7A) {
        } else if i < b.count, b[i] == 0x2B || b[i] == 0x2D {
            let sign: Int64 = b[i] == 0x2D ? -1 : 1
            i += 1
            guard let oh = num(2), expect(0x3A), let om = num(2), oh < 24, om < 60 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let seconds = CivilDate.days(year: y, month: mo, day: d) * 86_400 + h * 3600 + mi * 60 + s - offset
        return Date(timeIntervalSince1970: Double(seconds) + Double(nanos) / 1e9)
    }

    private static func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let q = a / b, r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// The proleptic Gregorian calendar as day numbers (days since 1970-01-01), Howard Hinnant's algorithms: the
/// one calendar helper of the wire (`WireTime`) and the engine (`LocalTime`).
public enum CivilDate {
    /// The (year, month 1–12, day 1–31) of a day number.
    @inlinable
    public static func ymd(fromDays z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// The day number of a date (month 1–12).
    @inlinable
    public static func days(year y0: Int64, month m: Int64, day d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
