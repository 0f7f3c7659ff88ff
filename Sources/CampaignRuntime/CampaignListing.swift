import AbmWire
import CampaignCore
import CampaignStore
import Foundation

/// Lists and counts of campaigns for operators (`list`, `stats` on the wire, the dashboard, `/metrics`):
/// the store's campaign index joined with what only this process knows (parked campaigns, residency,
/// timers).
public struct CampaignListing: Sendable, Equatable {
    /// One campaign of a list.
    public struct Item: Sendable, Equatable {
        public var accountId: String
        public var campaignId: String
        public var status: CampaignStatus
        public var startedAt: Date
        /// When the campaign entered `status`.
        public var statusSince: Date
        /// Parked after repeated failures (needs `resume` or a retry).
        public var parked: Bool

        public init(accountId: String, campaignId: String, status: CampaignStatus, startedAt: Date, statusSince: Date,
                    parked: Bool) {
            self.accountId = accountId
            self.campaignId = campaignId
            self.status = status
            self.startedAt = startedAt
            self.statusSince = statusSince
            self.parked = parked
        }
    }

    public var items: [Item]
    /// The account id to pass as `after` for the next page; nil on the last page.
    public var next: String?

    public init(items: [Item], next: String?) {
        self.items = items
        self.next = next
    }

    /// The index row a decision writes: only when a campaign starts, is replaced, or changes status, so
    /// that touches (most writes) leave the index alone.
    static func indexEntry(before: AccountState, after: AccountState, now: Date) -> CampaignIndexEntry? {
        guard let campaign = after.campaign else { return nil }
        if let old = before.campaign, old.id == campaign.id, old.status == campaign.status { return nil }
        return CampaignIndexEntry(accountId: after.accountId, campaignId: campaign.id, status: campaign.status.rawValue,
                                  startedAt: campaign.startedAt, statusSince: now)
    }

    /// The row for a stored state (building the index of a store written before it existed).
    static func indexEntry(for state: AccountState) -> CampaignIndexEntry? {
        guard let campaign = state.campaign else { return nil }
        let since = campaign.lastStepAt ?? campaign.startedAt
        return CampaignIndexEntry(accountId: state.accountId, campaignId: campaign.id, status: campaign.status.rawValue,
                                  startedAt: campaign.startedAt, statusSince: since)
    }
}

/// Counts for `stats`, `/metrics` and the dashboard.
public struct CampaignStats: Sendable, Equatable {
    /// Campaigns by status (every status present, 0 when none).
    public var byStatus: [CampaignStatus: Int]
    /// Campaigns whose state is in memory.
    public var resident: Int
    /// Campaigns stored but not in memory (passivated or never loaded since the start).
    public var passivated: Int
    /// Pending timers, and those of them already due (overdue: the scheduler is behind or they are parked).
    public var timersPending: Int
    public var timersOverdue: Int
    public var parked: Int
    /// Committed events not yet published (the outbox's lag), in events.
    public var outboxLag: Int64
    /// The last event seq committed and the last one published.
    public var lastSeq: Int64
    public var publishedSeq: Int64
    /// The highest seq removed by retention (0: none); replay works from `after_seq` ≥ it.
    public var prunedSeq: Int64 = 0

    public var total: Int { byStatus.values.reduce(0, +) }

    public init(byStatus: [CampaignStatus: Int], resident: Int, passivated: Int, timersPending: Int, timersOverdue: Int,
                parked: Int, outboxLag: Int64, lastSeq: Int64, publishedSeq: Int64) {
        self.byStatus = byStatus
        self.resident = resident
        self.passivated = passivated
        self.timersPending = timersPending
        self.timersOverdue = timersOverdue
        self.parked = parked
        self.outboxLag = outboxLag
        self.lastSeq = lastSeq
        self.publishedSeq = publishedSeq
    }
}
