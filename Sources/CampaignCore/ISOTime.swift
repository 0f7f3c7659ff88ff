import AbmWire
import Foundation

/// ISO-8601 instants for the engine's events and status: written in the wire's one format
/// (`WireTime`, always with milliseconds), read leniently from user input.
enum ISOTime {
    static func format(_ t: Double) -> String {
        WireTime.format(Date(timeIntervalSince1970: t))
    }

    /// Parses an RFC 3339 instant (`WireTime.parse`, the one parser).
    static func parse(_ s: String) -> Double? {
        WireTime.parse(s)?.timeIntervalSince1970
    }
}
