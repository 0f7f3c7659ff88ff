import AbmWire
import Foundation

/// Wall-clock arithmetic in a contact's time zone without `Calendar` (which allocates and is slow).
///
/// Instants are seconds since 1970 (`Double`); a *local* value is the same count shifted by the zone's
/// offset at that instant, so that `floor(local / 86400)` is the local civil day.
enum LocalTime {
    static let secondsPerDay: Double = 86_400

    /// The zone's UTC offset (seconds) at `instant`.
    @inline(__always)
    static func offset(_ zone: Zone, at instant: Double) -> Double {
        zone.offset(at: instant)
    }

    /// The instant whose wall-clock reading in `zone` is `local`. In a spring-forward gap (the reading never
    /// happens) it returns the instant one gap later (02:30 → 03:30); in a fall-back overlap, the first of the two.
    static func instant(fromLocal local: Double, in zone: Zone) -> Double {
        let o1 = offset(zone, at: local - offset(zone, at: local))
        let t1 = local - o1
        if offset(zone, at: t1) == o1 {
            // Prefer the earlier instant in an overlap.
            let o0 = offset(zone, at: t1 - 3 * 3600)
            if o0 != o1 {
                let t0 = local - o0
                if t0 < t1 && offset(zone, at: t0) == o0 { return t0 }
            }
            return t1
        }
        // Gap: the reading does not exist; move forward by the gap.
        let o2 = offset(zone, at: t1)
        let t2 = local - o2
        return max(t1, t2)
    }

    /// Adds whole calendar days in `zone`, keeping the wall-clock time across DST changes.
    static func addDays(_ days: Int, to start: Double, in zone: Zone) -> Double {
        if days == 0 { return start }
        let local = start + offset(zone, at: start) + Double(days) * secondsPerDay
        return instant(fromLocal: local, in: zone)
    }

    /// The civil (month, day) of a day number (days since 1970-01-01), the inverse of `dayNumber`.
    static func monthAndDay(ofDay z: Int) -> (month: Int, day: Int) {
        let date = CivilDate.ymd(fromDays: Int64(z))
        return (Int(date.month), Int(date.day))
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func dayNumber(year: Int, month: Int, day: Int) -> Int {
        Int(CivilDate.days(year: Int64(year), month: Int64(month), day: Int64(day)))
    }

    /// Weekday of a day number: 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
    @inline(__always)
    static func weekday(ofDay day: Int) -> Int {
        let w = (day + 3) % 7
        return w < 0 ? w + 7 : w
    }

    /// Parses `YYYY-MM-DD` into a day number, or nil.
    static func parseDate(_ s: String) -> Int? {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1...12).contains(m), d >= 1, d <= daysInMonth(year: y, month: m) else { return nil }
        return dayNumber(year: y, month: m, day: d)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Parses `HH:MM` (00:00–24:00) into minutes after midnight.
    static func parseClock(_ s: String) -> Int? {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
              let h = Int(parts[0]), let m = Int(parts[1]), (0...24).contains(h), (0...59).contains(m),
              h * 60 + m <= 24 * 60 else { return nil }
        return h * 60 + m
    }
}

/// A time zone with its UTC-offset changes precomputed (2000–2100), so that reading an offset is a binary search
/// instead of an ICU call under a lock. Immutable, hence safe to share between threads.
final class Zone: Sendable {
    let identifier: String
    let timeZone: TimeZone
    /// Instants (seconds since 1970) at which the offset changes, ascending; `offsets[k]` holds from
    /// `transitions[k-1]` (or the range start) up to `transitions[k]`.
    private let transitions: [Double]
    private let offsets: [Double]
    private static let rangeStart: Double = 946_684_800   // 2000-01-01
    private static let rangeEnd: Double = 4_102_444_800   // 2100-01-01

    init(_ tz: TimeZone) {
        identifier = tz.identifier
        timeZone = tz
        var transitions: [Double] = []
        var offsets: [Double] = [Double(tz.secondsFromGMT(for: Date(timeIntervalSince1970: Zone.rangeStart)))]
        var t = Date(timeIntervalSince1970: Zone.rangeStart)
        while let next = tz.nextDaylightSavingTimeTransition(after: t), next.timeIntervalSince1970 < Zone.rangeEnd,
              transitions.count < 1000 {
            transitions.append(next.timeIntervalSince1970)
            offsets.append(Double(tz.secondsFromGMT(for: next)))
            t = next
        }
        self.transitions = transitions
        self.offsets = offsets
    }

    /// UTC offset in seconds at `instant`.
    @inline(__always)
    func offset(at instant: Double) -> Double {
        guard instant >= Zone.rangeStart && instant < Zone.rangeEnd else {
            return Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: instant)))
        }
        // Number of transitions at or before `instant`.
        var lo = 0, hi = transitions.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if transitions[mid] <= instant { lo = mid + 1 } else { hi = mid }
        }
        return offsets[lo]
    }
}

/// Parsed zones, shared by every engine: `TimeZone(identifier:)` and ICU offset lookups are costly on Linux.
final class TimeZoneCache: @unchecked Sendable {
    static let shared = TimeZoneCache()
    private let lock = NSLock()
    private var zones: [String: Zone] = [:]
    private var recent: [(name: String, zone: Zone)] = []
    private let known: Set<String>

    private init() {
        var k = Set(TimeZone.knownTimeZoneIdentifiers)
        k.insert("UTC")
        k.insert("GMT")
        known = k
    }

    /// The zone for a known IANA name (`Area/Location`, or `UTC`/`GMT`), or nil. Foundation's list of known
    /// identifiers lacks some current names (e.g. `Asia/Kolkata`), so an `Area/Location` name Foundation can load
    /// is accepted too; abbreviations and offsets ("EST", "GMT+5") are not IANA names and are refused.
    func zone(_ identifier: String) -> Zone? {
        lock.lock()
        defer { lock.unlock() }
        // Most lookups hit one of a few zones: comparing names is cheaper than hashing one. Lengths first: names
        // of 16 bytes or more are compared on String's slow path (~100 instructions each, callgrind).
        let length = identifier.utf8.count
        for entry in recent where entry.name.utf8.count == length && entry.name == identifier { return entry.zone }
        if let z = zones[identifier] {
            remember(identifier, z)
            return z
        }
        guard let tz = TimeZone(identifier: identifier),
              known.contains(identifier) || (identifier.contains("/") && tz.identifier == identifier) else { return nil }
        let z = Zone(tz)
        zones[identifier] = z
        remember(identifier, z)
        return z
    }

    /// Keeps the last few zones looked up (called under the lock).
    private func remember(_ name: String, _ z: Zone) {
        if recent.count >= 8 { recent.removeFirst() }
        recent.append((name, z))
    }
}
