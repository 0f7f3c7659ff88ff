import Foundation

/// ISO-8601 UTC text for instants (`2026-11-26T09:00:00Z`, milliseconds when not whole seconds), without
/// formatter objects.
enum ISOTime {
    static func format(_ t: Double) -> String {
        let ms = Int64((t * 1000).rounded(.down))
        var days = ms / 86_400_000
        var rem = ms % 86_400_000
        if rem < 0 { rem += 86_400_000; days -= 1 }
        let (y, m, d) = civil(fromDay: Int(days))
        let h = rem / 3_600_000, mi = (rem / 60_000) % 60, s = (rem / 1000) % 60, f = rem % 1000
        func p2(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var out = "\(y)-\(p2(Int64(m)))-\(p2(Int64(d)))T\(p2(h)):\(p2(mi)):\(p2(s))"
        if f != 0 { out += "." + (f < 10 ? "00\(f)" : f < 100 ? "0\(f)" : "\(f)") }
        return out + "Z"
    }

    static func civil(fromDay z0: Int) -> (Int, Int, Int) {
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

    /// Parses an ISO-8601 instant with a zone designator (`Z` or `±HH:MM`), optional fractional seconds.
    static func parse(_ s: String) -> Double? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return d.timeIntervalSince1970 }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: s)?.timeIntervalSince1970
    }
}
