import CampaignCore

/// A request the wire layer refuses: a stable code, a message naming the problem, the offending field's
/// path (`lead.account_id`, `limit`, …) when there is one, and the request id when it could be read.
///
/// Codes are part of the protocol (`protocols/abm-wire-v1.md`, "Error codes"): never renamed.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var field: String?
    /// The request's `id` when the body was an object with a usable string `id`; nil otherwise.
    public var requestId: String?

    public init(code: String, message: String, field: String? = nil, requestId: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.requestId = requestId
    }

    public var description: String {
        field.map { "\(code) (\($0)): \(message)" } ?? "\(code): \(message)"
    }

    /// The message is not `[empty delimiter][body]` (delimiter missing or not empty, no body, more than one body frame).
    public static let badFraming = "bad_framing"
    /// The body is not JSON, not valid UTF-8, not an object, nested too deep, or has a duplicate key or an out-of-range number.
    public static let invalidJSON = "invalid_json"
    /// A required field is absent (or null).
    public static let missingField = "missing_field"
    /// A field has the wrong type, is empty, too long, or out of its range.
    public static let invalidField = "invalid_field"
    /// `type` names no request of this socket.
    public static let unknownType = "unknown_type"
    /// The account is unknown (control commands; a response for an account without a campaign).
    public static let notFound = "not_found"
    /// The command is not allowed in the campaign's current status.
    public static let invalidState = "invalid_state"
    /// The lead or configuration is inconsistent as a whole (reserved for the engine).
    public static let invalidConfig = "invalid_config"
    /// `clock.advance` on a server started without `--virtual-clock`.
    public static let notVirtualClock = "not_virtual_clock"
    /// The server failed to store the request (nothing was stored; retrying the same id is safe).
    public static let `internal` = "internal"
    /// The connection has too many requests in flight, or does not read its replies: the request was not
    /// processed (nothing stored); read the replies, then resend the same id.
    public static let rateLimited = "rate_limited"

    /// Every stable code, for documentation checks and tests.
    public static let allCodes: [String] = [
        badFraming, invalidJSON, missingField, invalidField, unknownType, notFound, invalidState,
        invalidConfig, notVirtualClock, `internal`, rateLimited,
    ]
}

extension WireError {
    /// The same refusal from a domain `CampaignError` (its code and field are kept as they are).
    public init(_ error: CampaignError, requestId: String?) {
        self.init(code: error.code, message: error.message, field: error.field, requestId: requestId)
    }
}
