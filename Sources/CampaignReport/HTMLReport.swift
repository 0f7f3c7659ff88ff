import Foundation

/// A self-contained HTML page: per account, an SVG timeline of touches per contact and channel, the
/// status changes as vertical markers, and the timeline as a table.
public enum HTMLReport {
    /// Colours per channel, shared by the markers and the legend.
    static let channelColors: [(channel: String, color: String)] = [
        ("email", "#2f6fdf"), ("sms", "#2a9d4b"), ("call", "#e07b00"), ("linkedin", "#7a3fc4"),
    ]

    /// - Parameter period: the time span the charts cover; by default from the first to the last event.
    ///   A demo passes the whole simulated span so that quiet days at the end are visible.
    public static func render(_ events: [TimelineEvent], title: String, period: ClosedRange<Date>? = nil) -> String {
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
        svg text{font-size:11px;fill:#333}
        </style></head><body>
        <h1>\(escape(title))</h1>
        <p>\(accounts.count) accounts, \(events.filter { $0.type == "touchpoint.due" }.count) touches, \
        \(escape(isoDay(start))) to \(escape(isoDay(end))) (UTC).</p>
        <p class="legend">\(legend())</p>

        """
        for account in accounts {
            let status = account.finalStatus
            html += "<h2>\(escape(account.accountId)) — \(account.touches.count) touches, \(escape(status.status))"
            html += status.reason.map { " (\(escape($0)))" } ?? ""
            html += "</h2>\n"
            html += chart(account, start: start, end: end)
            html += table(account)
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
        // Week ticks.
        var day = 0.0
        while day * 86_400 <= span {
            let tx = labelWidth + plotWidth * day * 86_400 / span
            svg += "<line x1=\"\(f(tx))\" y1=\"\(f(top - 6))\" x2=\"\(f(tx))\" y2=\"\(f(height - 18))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(f(tx))\" y=\"\(f(top - 10))\" text-anchor=\"middle\">d\(Int(day))</text>\n"
            day += 7
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

    static func table(_ account: AccountTimeline) -> String {
        var html = "<table><tr><th>when (UTC)</th><th>what</th></tr>\n"
        for event in account.events {
            guard let line = TimelineText.describe(event) else { continue }
            html += "<tr><td>\(escape(isoMinute(event.at)))</td><td>\(escape(line))</td></tr>\n"
        }
        return html + "</table>\n"
    }

    static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    static func isoDay(_ date: Date) -> String { String(isoMinute(date).prefix(10)) }

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
