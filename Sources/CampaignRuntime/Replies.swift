import AbmWire
import CampaignCore
import Foundation

// `ReplyStatus`, `AbmError` and `Ack` are the wire's (AbmWire): the runtime stores an accepted ack in the
// Codable form of `Ack` (`{"status","campaignId"?,"warnings"}`, no `id`) and the gateway writes it on the wire.

extension Ack {
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

/// The reply to `pause`, `resume` or `cancel` (protocols/abm-wire-v1.md §7 `reply`, minus `type` and `id`).
public struct CommandReply: Sendable, Codable, Equatable {
    /// `accepted` / `duplicate` mean ok; `rejected` means `ok: false` with `error`.
    public var status: ReplyStatus
    /// The `campaign` object (protocols/abm-wire-v1.md §7.3) after the command.
    public var campaign: JSONValue?
    public var error: AbmError?

    public var ok: Bool { status != .rejected }

    public init(status: ReplyStatus, campaign: JSONValue? = nil, error: AbmError? = nil) {
        self.status = status
        self.campaign = campaign
        self.error = error
    }

    static func rejected(_ error: AbmError) -> CommandReply { CommandReply(status: .rejected, error: error) }
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
