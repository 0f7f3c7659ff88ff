/// Which campaigns a list shows. Paged by account id: pass the previous page's `next` as `after`.
public struct CampaignFilter: Sendable, Equatable {
    public var status: CampaignStatus?
    /// Only parked campaigns (true), only the others (false), either (nil).
    public var parked: Bool?
    /// Accounts whose id starts with this (case-sensitive).
    public var accountPrefix: String?
    public var after: String?
    /// 1...`maxLimit`.
    public var limit: Int

    /// The largest page.
    public static let maxLimit = 1000
    public static let defaultLimit = 100

    public init(status: CampaignStatus? = nil, parked: Bool? = nil, accountPrefix: String? = nil, after: String? = nil,
                limit: Int = CampaignFilter.defaultLimit) {
        self.status = status
        self.parked = parked
        self.accountPrefix = accountPrefix
        self.after = after
        self.limit = limit
    }
}
