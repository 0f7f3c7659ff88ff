import CampaignCore
import CampaignStore
import Foundation

/// The `error` object of a rejected ack or an `ok:false` reply.
public struct WireErrorBody: Sendable, Equatable {
    public var code: String
    public var message: String
    public var field: String?

    public init(code: String, message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public init(_ error: WireError) {
        self.init(code: error.code, message: error.message, field: error.field)
    }

    public init(_ error: CampaignError) {
        self.init(code: error.code, message: error.message, field: error.field)
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if let field { o["field"] = .string(field) }
        return .object(o)
    }
}

/// The status of an acknowledgement.
public enum AckStatus: String, Sendable, Equatable {
    case accepted, duplicate, rejected
}

/// The reply to every ingress request: `{"campaign_id","error"?,"id","status","type":"ack","warnings"}`.
public struct Ack: Sendable, Equatable {
    public var id: String?
    public var status: AckStatus
    public var campaignId: String?
    public var warnings: [String]
    /// Present exactly when `status` is `rejected`.
    public var error: WireErrorBody?

    public init(id: String?, status: AckStatus, campaignId: String? = nil, warnings: [String] = [], error: WireErrorBody? = nil) {
        self.id = id
        self.status = status
        self.campaignId = campaignId
        self.warnings = warnings
        self.error = error
    }

    public static func accepted(id: String, campaignId: String?, warnings: [String] = []) -> Ack {
        Ack(id: id, status: .accepted, campaignId: campaignId, warnings: warnings)
    }

    /// The rejection of a request the wire layer refused (its id echoed when it could be read).
    public static func rejected(_ error: WireError) -> Ack {
        Ack(id: error.requestId, status: .rejected, error: WireErrorBody(error))
    }

    public static func rejected(id: String?, error: WireErrorBody) -> Ack {
        Ack(id: id, status: .rejected, error: error)
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "type": "ack",
            "id": id.map(JSONValue.string) ?? .null,
            "status": .string(status.rawValue),
            "campaign_id": campaignId.map(JSONValue.string) ?? .null,
            "warnings": .array(warnings.map(JSONValue.string)),
        ]
        if status == .rejected, let error { o["error"] = error.json }
        return .object(o)
    }

    /// The body frame (keys sorted).
    public func encode() -> [UInt8] { JSONWriter.encode(json) }

    /// Reads an ack body back (e.g. the stored one, to replay it as a duplicate). Nil when it is not an ack.
    public static func decode(_ body: [UInt8]) -> Ack? {
        guard let v = try? JSONParser.parse(body), v["type"] == "ack",
              let statusText = v["status"]?.stringValue, let status = AckStatus(rawValue: statusText)
        else { return nil }
        var error: WireErrorBody?
        if let e = v["error"], let code = e["code"]?.stringValue {
            error = WireErrorBody(code: code, message: e["message"]?.stringValue ?? "", field: e["field"]?.stringValue)
        }
        return Ack(id: v["id"]?.stringValue, status: status, campaignId: v["campaign_id"]?.stringValue,
                   warnings: v["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? [], error: error)
    }

    /// The answer to a repeated id: the stored (accepted) ack with status `duplicate`, everything else as
    /// it was. Returns the stored bytes unchanged when they are not an ack.
    public static func duplicate(ofStored stored: [UInt8]) -> [UInt8] {
        guard var ack = decode(stored) else { return stored }
        ack.status = .duplicate
        ack.error = nil
        return ack.encode()
    }
}

/// Control replies: `{"id","ok","type":"reply", …}` plus `error` when `ok` is false.
public enum ControlReply {
    /// `ok:true` with the command's fields (`campaign`, `now`, …).
    public static func ok(id: String, fields: [String: JSONValue] = [:]) -> [UInt8] {
        var o = fields
        o["type"] = "reply"
        o["id"] = .string(id)
        o["ok"] = true
        return JSONWriter.encode(.object(o))
    }

    /// `ok:true` with `campaign` (pause, resume, cancel, status).
    public static func campaign(id: String, _ campaign: CampaignStatusView) -> [UInt8] {
        ok(id: id, fields: ["campaign": campaign.json])
    }

    /// `ok:true` with `now` (clock.advance).
    public static func clock(id: String, now: Date) -> [UInt8] {
        ok(id: id, fields: ["now": .string(WireTime.format(now))])
    }

    /// `ok:false` with `error`. `id` is null when the request's id could not be read.
    public static func failure(id: String?, error: WireErrorBody) -> [UInt8] {
        JSONWriter.encode(.object([
            "type": "reply", "id": id.map(JSONValue.string) ?? .null, "ok": false, "error": error.json,
        ]))
    }

    public static func failure(_ error: WireError) -> [UInt8] {
        failure(id: error.requestId, error: WireErrorBody(error))
    }

    /// The `events` reply, splicing the stored bodies (`{"seq":N,…}`) in as they are, without re-encoding:
    /// `{"events":[…],"id":…,"last_seq":…,"ok":true,"type":"reply"}` (keys sorted).
    /// `lastSeq` is the highest seq assigned so far, so a client knows whether more remain.
    public static func events(id: String, bodies: [[UInt8]], lastSeq: Int64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + bodies.reduce(0) { $0 + $1.count + 1 })
        out.append(contentsOf: Array(#"{"events":["#.utf8))
        for (k, body) in bodies.enumerated() {
            if k > 0 { out.append(0x2C) }
            out.append(contentsOf: body)
        }
        out.append(contentsOf: Array(#"],"id":"#.utf8))
        JSONWriter.writeString(id, into: &out)
        out.append(contentsOf: Array(#","last_seq":"#.utf8))
        JSONWriter.writeInt(lastSeq, into: &out)
        out.append(contentsOf: Array(#","ok":true,"type":"reply"}"#.utf8))
        return out
    }
}

extension ControlReply {
    /// The `events` reply from events as the store returns them.
    public static func events(id: String, stored: [StoredEvent], lastSeq: Int64) -> [UInt8] {
        events(id: id, bodies: stored.map { [UInt8]($0.body) }, lastSeq: lastSeq)
    }
}

/// The reply frames for a body: `[empty delimiter][body]` (the ROUTER prepends the identity).
public func replyFrames(_ body: [UInt8]) -> [[UInt8]] { [[], body] }
