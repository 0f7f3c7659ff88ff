import CampaignCore
import Foundation

/// Outcome of an ingress or control request.
public enum ReplyStatus: String, Sendable, Codable, Equatable {
    /// Applied and durably stored.
    case accepted
    /// The request id was seen before; the reply is the original one.
    case duplicate
    /// Not applied; nothing was stored, so the id may be used again.
    case rejected
}

/// Why a request was rejected: a stable code, a message, and the field at fault when there is one.
public struct ReplyError: Sendable, Codable, Equatable, Error, CustomStringConvertible {
    public var code: String
    public var message: String
    public var field: String?

    public init(code: String, message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public init(_ error: CampaignError) {
        self.init(code: error.code, message: error.message, field: error.field)
    }

    public var description: String { "\(code): \(message)" }

    // Codes the runtime adds to the domain's.
    /// The store or the campaign's handling failed; nothing was applied; retrying the same id is safe.
    public static let unavailable = "unavailable"
    /// The campaign failed repeatedly and is parked until an operator resumes or retries it.
    public static let parked = "parked"
    /// The runtime is shutting down.
    public static let shuttingDown = "shutting_down"
    /// The operation needs the virtual clock.
    public static let notVirtualClock = "not_virtual_clock"
    /// Another process took over the account's shard (this one is fenced): send to the current owner.
    public static let notOwner = "not_owner"
}

/// The acknowledgement of a lead or response (CONTRACT.md `ack`, minus `type` and `id`).
public struct Ack: Sendable, Codable, Equatable {
    public var status: ReplyStatus
    public var campaignId: String?
    public var warnings: [String]
    /// Present only when `status == .rejected`.
    public var error: ReplyError?

    public init(status: ReplyStatus, campaignId: String? = nil, warnings: [String] = [], error: ReplyError? = nil) {
        self.status = status
        self.campaignId = campaignId
        self.warnings = warnings
        self.error = error
    }

    static func rejected(_ error: ReplyError) -> Ack { Ack(status: .rejected, error: error) }

    /// The stored reply of an accepted request, written by hand: the same JSON `ReplyCoding` decodes, without
    /// a Foundation `JSONEncoder` per request (it was the largest single cost of an ack's CPU in the profile).
    static func storedAccepted(campaignId: String?, warnings: [String]) -> Data {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        out.append(contentsOf: #"{"status":"accepted""#.utf8)
        if let campaignId {
            out.append(contentsOf: #","campaignId":"#.utf8)
            JSONWriter.writeString(campaignId, into: &out)
        }
        out.append(contentsOf: #","warnings":["#.utf8)
        for (i, w) in warnings.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.writeString(w, into: &out)
        }
        out.append(contentsOf: "]}".utf8)
        return Data(out)
    }
}

/// The reply to `pause`, `resume` or `cancel` (CONTRACT.md control `reply`, minus `type` and `id`).
public struct CommandReply: Sendable, Codable, Equatable {
    /// `accepted` / `duplicate` mean ok; `rejected` means `ok: false` with `error`.
    public var status: ReplyStatus
    /// CONTRACT.md's `campaign` object after the command.
    public var campaign: JSONValue?
    public var error: ReplyError?

    public var ok: Bool { status != .rejected }

    public init(status: ReplyStatus, campaign: JSONValue? = nil, error: ReplyError? = nil) {
        self.status = status
        self.campaign = campaign
        self.error = error
    }

    static func rejected(_ error: ReplyError) -> CommandReply { CommandReply(status: .rejected, error: error) }
}

/// Stored replies are JSON (they are replayed rarely; readability beats size here).
enum ReplyCoding {
    static func encode<T: Encodable>(_ value: T) -> Data {
        // Encoding these plain structs cannot fail.
        (try? JSONEncoder().encode(value)) ?? Data("{}".utf8)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ data: Data) -> T? {
        try? JSONDecoder().decode(type, from: data)
    }
}
