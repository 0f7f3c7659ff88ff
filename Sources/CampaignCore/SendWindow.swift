import Foundation

/// When touches may happen, read in the contact's time zone: weekdays plus a daily `[start, end)` range,
/// minus holidays (global dates and per-country dates).
///
/// Accepted configuration shapes:
/// - `send_window`: `{"days": ["mon","tue","wed","thu","fri"], "start": "09:00", "end": "17:00"}`
///   (any subset of `mon…sun`; `start` < `end`; `end` may be `"24:00"`). Missing keys keep their defaults.
/// - `holidays`: `["2026-12-25", …]` (global) or
///   `{"global": ["2026-12-25"], "by_country": {"DE": ["2026-10-03"], "US": ["2026-11-26"]}}`.
public struct SendWindow: Sendable, Equatable {
    /// Allowed weekdays, indexed Monday = 0 … Sunday = 6.
    public var days: [Bool]
    /// Minutes after local midnight; the window is `[startMinute, endMinute)`.
    public var startMinute: Int
    public var endMinute: Int

    public static let `default` = SendWindow(days: [true, true, true, true, true, false, false],
                                             startMinute: 9 * 60, endMinute: 17 * 60)

    public init(days: [Bool], startMinute: Int, endMinute: Int) {
        self.days = days
        self.startMinute = startMinute
        self.endMinute = endMinute
    }
}

/// Dates (local civil days) on which nothing is sent.
public struct Holidays: Sendable, Equatable {
    /// Day numbers (days since 1970-01-01).
    public var global: Set<Int>
    /// Upper-case ISO 3166 alpha-2 code → day numbers.
    public var byCountry: [String: Set<Int>]

    public static let none = Holidays(global: [], byCountry: [:])

    public init(global: Set<Int>, byCountry: [String: Set<Int>]) {
        self.global = global
        self.byCountry = byCountry
    }

    var isEmpty: Bool { global.isEmpty && byCountry.isEmpty }
}

extension SendWindow {
    /// The first instant at or after `instant` that lies inside the window for a contact in `zone`
    /// (and `country`), skipping holidays. Returns nil only for a window with no open day (rejected by config).
    func nextOpening(atOrAfter instant: Double, zone: Zone, country: String?, holidays: Holidays) -> Double? {
        let countryDays = (country.flatMap { holidays.byCountry[$0] }) ?? []
        let start = Double(startMinute * 60)
        let end = Double(endMinute * 60)
        var t = instant
        // Bounded: at most a year of closed days (holidays on every open day would be a config error).
        for _ in 0..<800 {
            let local = t + LocalTime.offset(zone, at: t)
            let day = Int((local / LocalTime.secondsPerDay).rounded(.down))
            let secondOfDay = local - Double(day) * LocalTime.secondsPerDay
            let open = days[LocalTime.weekday(ofDay: day)]
                && (holidays.global.isEmpty || !holidays.global.contains(day))
                && (countryDays.isEmpty || !countryDays.contains(day))
            if open {
                if secondOfDay >= start && secondOfDay < end { return t }
                if secondOfDay < start {
                    let next = LocalTime.instant(fromLocal: Double(day) * LocalTime.secondsPerDay + start, in: zone)
                    t = next > t ? next : t + 60
                    continue
                }
            }
            let next = LocalTime.instant(fromLocal: Double(day + 1) * LocalTime.secondsPerDay + start, in: zone)
            t = next > t ? next : t + 3600
        }
        return nil
    }

    /// Whether `instant` is inside the window (used by tests and invariants).
    func contains(_ instant: Double, zone: Zone, country: String?, holidays: Holidays) -> Bool {
        nextOpening(atOrAfter: instant, zone: zone, country: country, holidays: holidays) == instant
    }
}
