import AbmWire
import CampaignCore
import Foundation

/// A self-contained HTML page: a summary table of the accounts first, then per account an SVG timeline of
/// touches per contact and channel (dates on the axis), the status changes as vertical markers, and the
/// timeline as a table with each touch's instant in UTC and in the contact's own time zone, and the
/// message sent.
public enum HTMLReport {
    /// Colours per channel, shared by the markers and the legend.
    static let channelColors: [(channel: String, color: String)] = [
        ("email", "#2f6fdf"), ("sms", "#2a9d4b"), ("call", "#e07b00"), ("linkedin", "#7a3fc4"),
    ]

    /// - Parameters:
    ///   - period: the time span the charts cover; by default from the first to the last event. A demo
    ///     passes the whole simulated span so that quiet days at the end are visible.
    ///   - campaigns: what the server says of each account now (`status` replies, by account id): its
    ///     status, next due time and the contacts' time zones. An account without one is described from its
    ///     events alone, its touches in UTC only.
    public static func render(_ events: [TimelineEvent], title: String, period: ClosedRange<Date>? = nil,
                              campaigns: [String: CampaignSummary] = [:]) -> String {
        let accounts = AccountTimeline.group(events)
        let first = events.map(\.at).min() ?? Date(timeIntervalSince1970: 0)
        let start = min(period?.lowerBound ?? first, first)
        let last = max(events.map(\.at).max() ?? start, period?.upperBound ?? start)
        let end = max(last, start.addingTimeInterval(86_400))
        var html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:2em;color:#222}
        h2{margin-top:2em;font-size:1.1em} table{border-collapse:collapse;font-size:.85em}
        td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top} td:first-child{white-space:nowrap}
        .legend span{display:inline-block;margin-right:1.2em} .swatch{width:.8em;height:.8em;border-radius:50%;display:inline-block;margin-right:.3em}
        svg text{font-size:11px;fill:#333} .local{color:#555} .zone{color:#888;font-size:.9em}
        .msg{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:.95em;background:#f7f7f9;padding:4px 6px;margin:3px 0;max-width:60em}
        .summary td.n{text-align:right}
        </style></head><body>
        <h1>\(escape(title))</h1>
        <p>\(accounts.count) accounts, \(events.filter { $0.type == "touchpoint.due" }.count) touches, \
        \(escape(isoDay(start))) to \(escape(isoDay(end))) (UTC).</p>
        <p class="legend">\(legend())</p>
        \(summaryTable(accounts, campaigns: campaigns))
        """
        for account in accounts {
            let status = currentStatus(account, campaigns[account.accountId])
            html += "<h2 id=\"\(escape(anchor(account.accountId)))\">\(escape(account.accountId)) — \(account.touches.count) touches, \(escape(status.status))"
            html += status.reason.map { " (\(escape($0)))" } ?? ""
            html += "</h2>\n"
            html += chart(account, start: start, end: end)
            html += table(account, zones: campaigns[account.accountId]?.timeZones ?? [:])
        }
        html += "</body></html>\n"
        return html
    }

    static func legend() -> String {
        channelColors.map { "<span><i class=\"swatch\" style=\"background:\($0.color)\"></i>\($0.channel)</span>" }
            .joined()
    }

    static func color(of channel: String?) -> String {
        channelColors.first { $0.channel == channel }?.color ?? "#888"
    }

    /// Rows are contacts, x is time; a circle per touch, a dashed line per status change.
    static func chart(_ account: AccountTimeline, start: Date, end: Date) -> String {
        let contacts = account.contacts
        // The right margin leaves room for a status label drawn at the very end of the period.
        let labelWidth = 230.0, plotWidth = 640.0, rightMargin = 80.0, rowHeight = 26.0, top = 24.0
        let height = top + rowHeight * Double(max(contacts.count, 1)) + 20
        let span = end.timeIntervalSince(start)
        func x(_ date: Date) -> Double { labelWidth + plotWidth * date.timeIntervalSince(start) / span }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(labelWidth + plotWidth + rightMargin))\" "
        svg += "height=\"\(Int(height))\" role=\"img\" aria-label=\"timeline of \(escape(account.accountId))\">\n"
        // Date ticks (UTC days), spaced so that about eight fit.
        for tick in dateTicks(start: start, end: end) {
            let tx = x(tick)
            svg += "<line x1=\"\(f(tx))\" y1=\"\(f(top - 6))\" x2=\"\(f(tx))\" y2=\"\(f(height - 18))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(f(tx))\" y=\"\(f(top - 10))\" text-anchor=\"middle\">\(escape(shortDay(tick)))</text>\n"
        }
        var row: [String: Double] = [:]
        for (index, contact) in contacts.enumerated() {
            let y = top + rowHeight * (Double(index) + 0.5)
            row[contact.id] = y
            svg += "<text x=\"4\" y=\"\(f(y + 4))\">\(escape(contact.email))</text>"
            svg += "<line x1=\"\(f(labelWidth))\" y1=\"\(f(y))\" x2=\"\(f(labelWidth + plotWidth))\" y2=\"\(f(y))\" stroke=\"#ddd\"/>\n"
        }
        for event in account.events {
            switch event.type {
            case "touchpoint.due":
                guard let id = event.string("contact_id"), let y = row[id] else { continue }
                let channel = event.string("channel")
                let tip = "#\(event.int("step") ?? 0) \(channel ?? "?") \(isoMinute(event.at))"
                svg += "<circle cx=\"\(f(x(event.at)))\" cy=\"\(f(y))\" r=\"6\" fill=\"\(color(of: channel))\">"
                svg += "<title>\(escape(tip))</title></circle>\n"
            case "response.received":
                // A response is a hollow ring on the responder's row.
                guard let id = event.string("contact_id"), let y = row[id] else { continue }
                let tip = "\(event.string("kind") ?? "response") \(isoMinute(event.at))"
                svg += "<circle cx=\"\(f(x(event.at)))\" cy=\"\(f(y))\" r=\"6\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\">"
                svg += "<title>\(escape(tip))</title></circle>\n"
            case "campaign.paused", "campaign.resumed", "campaign.completed", "campaign.cancelled":
                let label = String(event.type.dropFirst("campaign.".count))
                let ex = x(event.at)
                svg += "<line x1=\"\(f(ex))\" y1=\"\(f(top - 4))\" x2=\"\(f(ex))\" y2=\"\(f(height - 18))\" "
                svg += "stroke=\"#c0392b\" stroke-dasharray=\"4 3\"/>"
                svg += "<text x=\"\(f(ex + 3))\" y=\"\(f(height - 6))\">\(escape(label))</text>\n"
            default:
                continue
            }
        }
        svg += "</svg>\n"
        return svg
    }

    static func table(_ account: AccountTimeline, zones: [String: String]) -> String {
        var html = "<table><tr><th>when (UTC)</th><th>contact's local time</th><th>what</th></tr>\n"
        // One formatter per zone for the whole table (a DateFormatter is costly to make).
        var formatters: [String: DateFormatter] = [:]
        for event in account.events {
            guard let line = TimelineText.describe(event) else { continue }
            var local = ""
            if let contact = event.string("contact_id"), let zoneId = zones[contact], let zone = TimeZone(identifier: zoneId) {
                let zoneFormatter = formatters[zoneId] ?? formatter("EEE yyyy-MM-dd HH:mm zzz", zone)
                formatters[zoneId] = zoneFormatter
                local = "<span class=\"local\">\(escape(zoneFormatter.string(from: event.at)))</span> "
                local += "<span class=\"zone\">\(escape(zoneId))</span>"
            }
            html += "<tr><td>\(escape(isoMinute(event.at)))</td><td>\(local)</td><td>\(escape(line))"
            if event.type == "touchpoint.due", let body = event.string("message") {
                html += "<div class=\"msg\">\(escape(body))</div>"
            }
            html += "</td></tr>\n"
        }
        return html + "</table>\n"
    }

    /// One row per account, before the charts: status now, touches by channel, contacts, first and last
    /// touch, next touch due.
    static func summaryTable(_ accounts: [AccountTimeline], campaigns: [String: CampaignSummary]) -> String {
        var html = "<table class=\"summary\"><tr><th>account</th><th>status</th><th>touches</th><th>by channel</th>"
        html += "<th>contacts</th><th>responses</th><th>first touch (UTC)</th><th>last touch (UTC)</th><th>next due (UTC)</th></tr>\n"
        for account in accounts {
            let touches = account.touches
            let status = currentStatus(account, campaigns[account.accountId])
            var byChannel: [String: Int] = [:]
            for touch in touches { byChannel[touch.string("channel") ?? "?", default: 0] += 1 }
            let channels = byChannel.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let responses = account.events.filter { $0.type == "response.received" }.count
            let next = campaigns[account.accountId]?.nextDueAt.map(isoMinute) ?? "—"
            html += "<tr><td><a href=\"#\(escape(anchor(account.accountId)))\">\(escape(account.accountId))</a></td>"
            html += "<td>\(escape(status.status))\(status.reason.map { " (\(escape($0)))" } ?? "")</td>"
            html += "<td class=\"n\">\(touches.count)</td><td>\(escape(channels))</td><td class=\"n\">\(account.contacts.count)</td>"
            html += "<td class=\"n\">\(responses)</td>"
            html += "<td>\(touches.first.map { escape(isoMinute($0.at)) } ?? "—")</td>"
            html += "<td>\(touches.last.map { escape(isoMinute($0.at)) } ?? "—")</td><td>\(escape(next))</td></tr>\n"
        }
        return html + "</table>\n"
    }

    /// The server's word when there is one, else what the events tell.
    static func currentStatus(_ account: AccountTimeline, _ summary: CampaignSummary?) -> (status: String, reason: String?) {
        if let summary { return (summary.status, summary.reason) }
        return account.finalStatus
    }

    /// An HTML id for an account's section.
    static func anchor(_ accountId: String) -> String {
        "account-" + String(accountId.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
    }

    /// Midnights (UTC) from the first at or after `start` to `end`, every 1, 2, 7, 14 or 28 days: about
    /// eight labels whatever the span.
    static func dateTicks(start: Date, end: Date) -> [Date] {
        let day = 86_400.0
        let days = end.timeIntervalSince(start) / day
        let step = [1.0, 2, 7, 14, 28].first { days / $0 <= 9 } ?? (days / 8).rounded(.up)
        var tick = (start.timeIntervalSince1970 / day).rounded(.up) * day
        var ticks: [Date] = []
        while tick <= end.timeIntervalSince1970 {
            ticks.append(Date(timeIntervalSince1970: tick))
            tick += step * day
        }
        return ticks
    }

    static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    static func isoDay(_ date: Date) -> String { String(isoMinute(date).prefix(10)) }

    /// `Mar 2` (UTC).
    static func shortDay(_ date: Date) -> String {
        formatter("MMM d", TimeZone(identifier: "UTC")!).string(from: date)
    }

    static func formatter(_ format: String, _ zone: TimeZone) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = format
        return formatter
    }

    static func isoMinute(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.string(from: date)
    }

    /// HTML text and attribute escaping.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }
}

/// What a `status` reply says of an account's campaign, as far as the report uses it.
public struct CampaignSummary: Sendable, Equatable {
    public var status: String
    public var reason: String?
    public var nextDueAt: Date?
    /// Contact id → IANA zone (`contacts[].timezone`).
    public var timeZones: [String: String]

    public init(status: String, reason: String? = nil, nextDueAt: Date? = nil, timeZones: [String: String] = [:]) {
        self.status = status
        self.reason = reason
        self.nextDueAt = nextDueAt
        self.timeZones = timeZones
    }

    /// Reads the `campaign` object of a `status` reply; nil when it has no `status`.
    public init?(campaign: JSONValue) {
        guard let status = campaign["status"]?.stringValue else { return nil }
        var zones: [String: String] = [:]
        for contact in campaign["contacts"]?.arrayValue ?? [] {
            if let id = contact["id"]?.stringValue, let zone = contact["timezone"]?.stringValue { zones[id] = zone }
        }
        self.init(status: status, reason: campaign["reason"]?.stringValue,
                  nextDueAt: campaign["next_due_at"]?.stringValue.flatMap(WireTime.parse), timeZones: zones)
    }
}
