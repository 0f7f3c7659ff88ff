import Foundation

/// One row of the campaign index: what lists and counts campaigns without decoding state blobs.
/// Written by the runtime in the same commit as the state, only when a campaign starts or its status
/// changes (not on every touch), so it costs the ingest path a row per status change.
public struct CampaignIndexEntry: Sendable, Equatable {
    public var accountId: String
    public var campaignId: String
    /// The campaign's status word (`CampaignStatus.rawValue`: active, paused, completed, cancelled).
    public var status: String
    public var startedAt: Date
    /// When the campaign entered `status`.
    public var statusSince: Date

    public init(accountId: String, campaignId: String, status: String, startedAt: Date, statusSince: Date) {
        self.accountId = accountId
        self.campaignId = campaignId
        self.status = status
        self.startedAt = startedAt
        self.statusSince = statusSince
    }
}

/// Which campaigns `CampaignStorage.campaigns(_:)` returns: ordered by account id, keyset-paged.
public struct CampaignQuery: Sendable, Equatable {
    /// Only campaigns with this status word; nil = any.
    public var status: String?
    /// Only accounts whose id starts with this (case-sensitive, byte-wise); nil or empty = any.
    public var accountPrefix: String?
    /// Only these accounts (e.g. the parked ones); nil = any.
    public var accountIds: [String]?
    /// Only accounts ordered strictly after this id (the previous page's `next`); nil = from the start.
    public var after: String?
    /// At most this many rows (at least 1).
    public var limit: Int

    public init(status: String? = nil, accountPrefix: String? = nil, accountIds: [String]? = nil,
                after: String? = nil, limit: Int = 100) {
        self.status = status
        self.accountPrefix = accountPrefix
        self.accountIds = accountIds
        self.after = after
        self.limit = limit
    }

    /// Whether an entry passes the filters (not the paging): the in-memory engine's rule, and the
    /// SQLite engine's SQL says the same.
    public func matches(_ entry: CampaignIndexEntry) -> Bool {
        if let status, entry.status != status { return false }
        if let prefix = accountPrefix, !prefix.isEmpty, !entry.accountId.utf8.starts(with: prefix.utf8) { return false }
        if let after, !accountOrder(after, entry.accountId) { return false }
        if let ids = accountIds, !ids.contains(entry.accountId) { return false }
        return true
    }
}

/// The index's campaigns by account id in UTF-8 byte order (SQLite's BINARY collation), so that both
/// engines page alike.
public func accountOrder(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}
