/// A stable error code of the protocol (`protocols/abm-wire-v1.md` §9) or of a client.
///
/// A struct over its string rather than a closed enum: a client must accept a code a newer server sends
/// (§14) and pass it on unchanged, while every code this package writes is one of the named constants.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral,
    CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public var description: String { rawValue }

    // The protocol's codes (§9): never renamed, never reused for another meaning.
    /// The message is not `[empty delimiter][body]`.
    public static let badFraming: ErrorCode = "bad_framing"
    /// The body is not JSON, not valid UTF-8, not an object, nested too deep, has a duplicate key, ….
    public static let invalidJSON: ErrorCode = "invalid_json"
    /// A required field is absent (or null).
    public static let missingField: ErrorCode = "missing_field"
    /// A field has the wrong type, is empty, too long, out of its range or not one of its values.
    public static let invalidField: ErrorCode = "invalid_field"
    /// `type` names no request of this socket.
    public static let unknownType: ErrorCode = "unknown_type"
    /// The account has no campaign.
    public static let notFound: ErrorCode = "not_found"
    /// The command is not allowed in the campaign's current status.
    public static let invalidState: ErrorCode = "invalid_state"
    /// The configuration is inconsistent (a bad configuration stops the server at start-up).
    public static let invalidConfig: ErrorCode = "invalid_config"
    /// `clock.advance` on a server started without `--virtual-clock`.
    public static let notVirtualClock: ErrorCode = "not_virtual_clock"
    /// Another process took over the account's shard: send to the current owner.
    public static let notOwner: ErrorCode = "not_owner"
    /// The server failed to store the request (nothing stored; retrying the same id is safe).
    public static let `internal`: ErrorCode = "internal"
    /// Too many requests in flight on the connection, or it does not read its replies.
    public static let rateLimited: ErrorCode = "rate_limited"
    /// Replay from before the oldest event kept: retention pruned the events asked for.
    public static let eventsPruned: ErrorCode = "events_pruned"

    /// Every code a server sends, in the order of §9 (documentation checks and tests).
    public static let protocolCodes: [ErrorCode] = [
        badFraming, invalidJSON, missingField, invalidField, unknownType, notFound, invalidState,
        invalidConfig, notVirtualClock, notOwner, `internal`, rateLimited, eventsPruned,
    ]

    // Codes the runtime uses internally; the gateway maps them to `internal` or `not_owner` on the wire.
    /// The store or the campaign's handling failed; nothing was applied.
    public static let unavailable: ErrorCode = "unavailable"
    /// The campaign failed repeatedly and is parked until an operator resumes it.
    public static let parked: ErrorCode = "parked"
    /// The runtime is shutting down.
    public static let shuttingDown: ErrorCode = "shutting_down"

    // Codes a client reports for failures that never reached a server's answer.
    /// The user's file or flags.
    public static let badInput: ErrorCode = "bad_input"
    /// No reply in time.
    public static let timeout: ErrorCode = "timeout"
    /// A socket error.
    public static let transport: ErrorCode = "zmq"
    /// The server's answer is not the protocol's.
    public static let badReply: ErrorCode = "bad_reply"
}

/// The one error of the project: a stable `code`, a `message` for people naming the field, the offending
/// field's path when there is one (`lead.account_id`, `kind`, `lead.account_contacts[0].email`).
///
/// The domain refuses inputs with it, the runtime stores it in refused replies, the wire writes it as the
/// `error` object of a rejected ack or an `ok:false` reply, and a client reports the server's refusals and
/// its own failures with it.
public struct AbmError: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var field: String?
    /// The refused request's `id` when the wire decoder could read a usable one; nil otherwise (and
    /// everywhere outside the decoder). Not part of the `error` object.
    public var requestId: String?

    public init(code: ErrorCode, message: String, field: String? = nil, requestId: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.requestId = requestId
    }

    // `requestId` is not stored with a refused reply: the stored form is `{code, message, field?}`.
    enum CodingKeys: String, CodingKey { case code, message, field }

    public var description: String {
        field.map { "\(code) (\($0)): \(message)" } ?? "\(code): \(message)"
    }

    /// The `error` object of the wire: `{"code","message","field"?}`.
    public var json: JSONValue {
        var o: [String: JSONValue] = ["code": .string(code.rawValue), "message": .string(message)]
        if let field { o["field"] = .string(field) }
        return .object(o)
    }

    /// Reads an `error` object back; nil when it has no string `code`.
    public init?(json: JSONValue) {
        guard let code = json["code"]?.stringValue else { return nil }
        self.init(code: ErrorCode(code), message: json["message"]?.stringValue ?? "", field: json["field"]?.stringValue)
    }

    /// The same error, tagged with the request it refuses.
    public func with(requestId: String?) -> AbmError {
        var e = self
        e.requestId = requestId
        return e
    }

    /// The exit status of a client command failing with this error: 1 = the server refused the request,
    /// 2 = bad input (file, flags), 3 = no reply in time, 4 = a socket or protocol failure.
    public var exitCode: Int32 {
        switch code {
        case .badInput: 2
        case .timeout: 3
        case .transport, .badReply: 4
        default: 1
        }
    }
}
