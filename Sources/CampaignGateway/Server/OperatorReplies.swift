import AbmWire
import CampaignCore
import CampaignRuntime

/// Replies to the operators' read commands, built from the runtime's types (kept out of `Wire/`, which
/// knows no runtime).
extension ControlReply {
    /// The `list` reply: `campaigns` (§7.7's summary objects) and `next` (null on the last page).
    public static func list(id: String, _ listing: CampaignListing) -> [UInt8] {
        ok(id: id, fields: [
            "campaigns": .array(listing.items.map(listItem)),
            "next": listing.next.map(JSONValue.string) ?? .null,
        ])
    }

    public static func listItem(_ item: CampaignListing.Item) -> JSONValue {
        .object([
            "account_id": .string(item.accountId),
            "campaign_id": .string(item.campaignId),
            "status": .string(item.status.rawValue),
            "started_at": .string(WireTime.format(item.startedAt)),
            "status_since": .string(WireTime.format(item.statusSince)),
            "parked": .bool(item.parked),
        ])
    }

    /// The `erase` reply (§7.9).
    public static func erased(id: String, _ r: ErasureReport) -> [UInt8] {
        ok(id: id, fields: ["erased": .object([
            "email_sha256": .string(r.emailSHA256), "accounts": .int(Int64(r.accounts)),
            "events": .int(Int64(r.events)), "replies": .int(Int64(r.replies)),
        ])])
    }

    /// The `migrate` reply (§7.14).
    public static func migrated(id: String, _ r: MigrationReport) -> [UInt8] {
        ok(id: id, fields: ["migrated": .object([
            "playbook": .string(r.playbook), "to_version": .int(Int64(r.toVersion)), "campaigns": .int(Int64(r.campaigns)),
        ])])
    }

    /// The `stats` reply (§7.8).
    public static func stats(id: String, _ stats: CampaignStats) -> [UInt8] {
        ok(id: id, fields: statsFields(stats))
    }

    /// `stats`'s fields, also served by the HTTP endpoint's dashboard.
    public static func statsFields(_ stats: CampaignStats) -> [String: JSONValue] {
        var byStatus: [String: JSONValue] = [:]
        for status in CampaignStatus.allCases { byStatus[status.rawValue] = .int(Int64(stats.byStatus[status] ?? 0)) }
        byStatus["total"] = .int(Int64(stats.total))
        return [
            "campaigns": .object(byStatus),
            "resident": .int(Int64(stats.resident)),
            "passivated": .int(Int64(stats.passivated)),
            "parked": .int(Int64(stats.parked)),
            "timers": .object(["pending": .int(Int64(stats.timersPending)), "overdue": .int(Int64(stats.timersOverdue))]),
            "outbox": .object(["last_seq": .int(stats.lastSeq), "published_seq": .int(stats.publishedSeq),
                               "lag": .int(stats.outboxLag), "pruned_seq": .int(stats.prunedSeq)]),
        ]
    }
}
