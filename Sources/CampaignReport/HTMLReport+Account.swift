import AbmWire
import Foundation

extension HTMLReport {
    /// One account's part of the report, for embedding in another page (the live dashboard): a heading
    /// line, the SVG timeline and the table of events. The chart spans the account's first event to now
    /// (at least a day), with a tenth more on the right so that a status change made now stays visible.
    /// Empty text when there are no events. With `campaign` (its `status`), the status is the server's and
    /// each touch also shows in the contact's own time zone.
    public static func accountSection(_ events: [TimelineEvent], now: Date, campaign: CampaignSummary? = nil) -> String {
        guard let account = AccountTimeline.group(events).first else { return "" }
        let start = account.events.map(\.at).min() ?? now
        let last = max(now, account.events.map(\.at).max() ?? now, start.addingTimeInterval(86_400))
        let end = last.addingTimeInterval(last.timeIntervalSince(start) / 10)
        let status = currentStatus(account, campaign)
        var html = "<p class=\"summary\">\(account.touches.count) touches, \(escape(status.status))"
        html += status.reason.map { " (\(escape($0)))" } ?? ""
        html += "</p>\n<p class=\"legend\">\(legend())</p>\n"
        html += chart(account, start: start, end: end)
        html += table(account, zones: campaign?.timeZones ?? [:])
        return html
    }
}
