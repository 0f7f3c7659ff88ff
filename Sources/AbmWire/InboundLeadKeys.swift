/// The original system's inbound lead keys (`company_name, contact_name, contact_email, contact_phone,
/// contact_title, inquiry_topic, qualification_tier, …`), accepted on `lead` and mapped onto the lead's own
/// (protocols/abm-wire-v1.md §6.1). Applied once, where the wire decodes a lead, so the runtime and the engine
/// see one shape.
public enum InboundLeadKeys {
    /// Inbound key → the lead's key for the primary contact. The lead's own key wins when both are present.
    static let primaryKeys: [(inbound: String, own: String)] = [
        ("contact_email", "email"), ("contact_name", "name"), ("contact_title", "title"), ("contact_phone", "phone"),
    ]

    /// The lead with the inbound keys mapped, or nil when it has none (then it is used as it is, no copy).
    /// Without an `account_id`, an inbound lead's account is the domain of `contact_email`, lower-case
    /// (the original payload names no account; an account is the company behind the address).
    public static func normalized(_ fields: [String: JSONValue]) -> [String: JSONValue]? {
        guard fields["contact_email"] != nil else { return nil }
        var out = fields
        for (inbound, own) in primaryKeys {
            if let v = fields[inbound], out[own] == nil || out[own] == .null { out[own] = v }
        }
        if out["account_id"] == nil || out["account_id"] == .null,
           case .string(let email)? = out["email"], let at = email.lastIndex(of: "@") {
            let domain = email[email.index(after: at)...].lowercased().filter { !$0.isWhitespace }
            if !domain.isEmpty { out["account_id"] = .string(domain) }
        }
        return out
    }
}

/// A lead's `qualification_tier` (the original system's tiers, highest first). A lead below the configured
/// `min_qualification_tier` starts no campaign.
public enum QualificationTier: String, Sendable, CaseIterable, Comparable {
    case unqualified, cold, cool, warm, hot, scorching

    public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }

    private var rank: Int { Self.allCases.firstIndex(of: self)! }

    /// Reads a tier word, any case (`"HOT"`, `"warm"`).
    public init?(word: String) {
        self.init(rawValue: word.lowercased())
    }

    /// `scorching, hot, warm, cool, cold, unqualified`.
    public static var list: String { allCases.reversed().map(\.rawValue).joined(separator: ", ") }
}
