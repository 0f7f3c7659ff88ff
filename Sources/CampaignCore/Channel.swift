/// An outbound channel.
public enum Channel: String, Codable, Sendable, CaseIterable, Equatable {
    case email, sms, call, linkedin

    /// Position in per-contact touch counters.
    var index: Int {
        switch self {
        case .email: return 0
        case .sms: return 1
        case .call: return 2
        case .linkedin: return 3
        }
    }
}
