import Foundation

/// The outcome of an ingress or control request (the ack's `status`; a control reply's `ok` is
/// `status != .rejected`).
public enum ReplyStatus: String, Sendable, Codable, Equatable {
    /// Applied and durably stored.
    case accepted
    /// The request id was seen before; the reply is the original one.
    case duplicate
    /// Not applied; nothing was stored, so the id may be used again.
    case rejected
}

/// The reply to every ingress request: `{"campaign_id","error"?,"id","status","type":"ack","warnings"}`.
///
/// The runtime stores the ack of an accepted request (Codable, without `id`: `{"status","campaignId"?,
/// "warnings"}`) and the gateway writes it on the wire with `encode()`.
public struct Ack: Sendable, Equatable, Codable {
    /// The request's id; nil in the stored form and when the request's id could not be read.
    public var id: String?
    public var status: ReplyStatus
    public var campaignId: String?
    public var warnings: [String]
    /// Present exactly when `status` is `rejected`.
    public var error: AbmError?

    enum CodingKeys: String, CodingKey { case status, campaignId, warnings, error, id }

    public init(id: String? = nil, status: ReplyStatus, campaignId: String? = nil, warnings: [String] = [], error: AbmError? = nil) {
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
    public static func rejected(_ error: AbmError) -> Ack {
        Ack(id: error.requestId, status: .rejected, error: error.with(requestId: nil))
    }

    public static func rejected(id: String?, error: AbmError) -> Ack {
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
              let statusText = v["status"]?.stringValue, let status = ReplyStatus(rawValue: statusText)
        else { return nil }
        let error = v["error"].flatMap(AbmError.init(json:))
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

    /// `ok:true` with `now` (clock.advance).
    public static func clock(id: String, now: Date) -> [UInt8] {
        ok(id: id, fields: ["now": .string(WireTime.format(now))])
    }

    /// `ok:false` with `error`. `id` is null when the request's id could not be read.
    public static func failure(id: String?, error: AbmError) -> [UInt8] {
        JSONWriter.encode(.object([
            "type": "reply", "id": id.map(JSONValue.string) ?? .null, "ok": false, "error": error.json,
        ]))
    }

    public static func failure(_ error: AbmError) -> [UInt8] {
        failure(id: error.requestId, error: error)
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

/// The reply frames for a body: `[empty delimiter][body]` (the ROUTER prepends the identity).
public func replyFrames(_ body: [UInt8]) -> [[UInt8]] { [[], body] }
