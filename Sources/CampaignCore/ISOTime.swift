import Foundation

/// ISO-8601 instants for the engine's events and status: written in the wire's one format
/// (`WireTime`, always with milliseconds), read leniently from user input.
enum ISOTime {
    static func format(_ t: Double) -> String {
        WireTime.format(Date(timeIntervalSince1970: t))
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
