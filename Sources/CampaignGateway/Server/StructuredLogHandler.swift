import AbmWire
import CampaignCore
import Foundation
import Logging

/// How `abm serve` writes its log lines (`--log-format`).
public enum LogFormat: String, Sendable, CaseIterable {
    /// `ts=… level=info logger=abm.server msg="serving" ingress=tcp://…`: one line an event, keys in a
    /// fixed order then the metadata's keys sorted; values quoted only when they need it.
    case logfmt
    /// One JSON object a line with the same keys (`ts`, `level`, `logger`, `msg`, then the metadata).
    case json
}

/// A swift-log handler writing one structured line per event (logfmt or JSON) to a sink, standard error
/// by default. Lines are written whole with one `write(2)`, so that lines of concurrent tasks never mix.
///
/// Personal data is the caller's concern: the server logs codes, ids and counts at info and above, never
/// emails, names, phone numbers or message bodies (README "Logs").
public struct StructuredLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let format: LogFormat
    private let sink: @Sendable ([UInt8]) -> Void
    private let now: @Sendable () -> Date

    /// - Parameters:
    ///   - sink: receives each line, newline included (default: standard error).
    ///   - now: the timestamp of a line (the wall clock, also on a server running a virtual clock).
    public init(label: String, format: LogFormat, level: Logger.Level,
                now: @escaping @Sendable () -> Date = Date.init,
                sink: @escaping @Sendable ([UInt8]) -> Void = StructuredLogHandler.standardError) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.now = now
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let own = event.metadata { fields.merge(own) { _, new in new } }
        let line = Self.render(format: format, time: now(), level: event.level, label: label,
                               message: event.message.description, metadata: fields)
        sink(line)
    }

    /// One line, newline included.
    static func render(format: LogFormat, time: Date, level: Logger.Level, label: String, message: String,
                       metadata: Logger.Metadata) -> [UInt8] {
        let fixed: [(String, String)] = [("ts", WireTime.format(time)), ("level", level.rawValue),
                                         ("logger", label), ("msg", message)]
        let extra = metadata.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") }
        var out: [UInt8] = []
        out.reserveCapacity(160)
        switch format {
        case .logfmt:
            for (i, (key, value)) in (fixed + extra).enumerated() {
                if i > 0 { out.append(0x20) }
                out.append(contentsOf: Self.logfmtKey(key).utf8)
                out.append(UInt8(ascii: "="))
                Self.logfmtValue(value, into: &out)
            }
        case .json:
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in (fixed + extra).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                JSONWriter.writeString(value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(0x0A)
        return out
    }

    /// A key has no space, `=` or `"` in logfmt; such characters become `_`.
    static func logfmtKey(_ key: String) -> String {
        String(key.map { $0 == " " || $0 == "=" || $0 == "\"" || $0.isNewline ? "_" : $0 })
    }

    /// Bare when it can be (`level=info`), else double-quoted with `\"`, `\\`, `\n`, `\r`, `\t` and
    /// `\u00XX` escapes, so that one event is always one line.
    static func logfmtValue(_ value: String, into out: inout [UInt8]) {
        let needsQuotes = value.isEmpty || value.utf8.contains { $0 <= 0x20 || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\"") || $0 == 0x7F }
        guard needsQuotes else { out.append(contentsOf: value.utf8); return }
        out.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20, 0x7F: out.append(contentsOf: String(format: "\\u%04x", byte).utf8)
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Writes a line to standard error in one call (a short write is retried for the rest).
    public static let standardError: @Sendable ([UInt8]) -> Void = { line in
        line.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 { if errno == EINTR { continue } else { return } }
                offset += n
            }
        }
    }
}
