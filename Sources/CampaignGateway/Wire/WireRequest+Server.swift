import AbmWire
import CampaignCore
import CampaignStore

// What the server adds to the wire's requests and replies: the store's id spaces, the domain's commands.

extension WireRequest {
    /// The id space the request's id lives in.
    public var space: RequestSpace {
        switch self {
        case .lead, .response: .ingress
        default: .control
        }
    }

    /// The operator command for `pause`, `resume` and `cancel`.
    public var campaignCommand: CampaignCommand? {
        switch self {
        case .pause(_, _, let reason): .pause(reason: reason)
        case .resume: .resume
        case .cancel: .cancel
        case .step: .step
        default: nil
        }
    }
}

extension ControlReply {
    /// The `events` reply from events as the store returns them.
    public static func events(id: String, stored: [StoredEvent], lastSeq: Int64) -> [UInt8] {
        events(id: id, bodies: stored.map { [UInt8]($0.body) }, lastSeq: lastSeq)
    }
}
