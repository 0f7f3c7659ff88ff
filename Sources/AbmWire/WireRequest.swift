
/// A request as decoded from the wire (`protocols/abm-wire-v1.md`). Ingress and control requests share
/// this type; which cases a socket accepts is decided by `WireDecoder.decodeIngress`/`decodeControl`.
public enum WireRequest: Sendable, Equatable {
    /// `lead`: `accountId` is `lead.account_id`, already checked to be a usable string (for routing);
    /// the rest of the lead is validated by the engine.
    case lead(id: String, accountId: String, lead: JSONValue)
    case response(id: String, ResponseInput)
    case pause(id: String, accountId: String, reason: String?)
    case resume(id: String, accountId: String)
    case cancel(id: String, accountId: String)
    case status(id: String, accountId: String)
    /// Replay: stored events with `seq > afterSeq`, at most `limit` (1...1000, default 100).
    case events(id: String, afterSeq: Int64, limit: Int)
    /// Virtual clock only: `seconds` is finite and in (0, 315,360,000] (ten years).
    case clockAdvance(id: String, seconds: Double)
    /// Campaigns by account id, filtered and paged.
    case list(id: String, CampaignFilter)
    /// Counts: campaigns by status, resident/passivated, timers, parked, outbox.
    case stats(id: String)
    /// Erasure of a person: `email` trimmed and lower-cased, with an `@`.
    case erase(id: String, email: String)
    /// The campaign's decisions and why (a read).
    case explain(id: String, accountId: String)
    /// An operator's override: the planned touch now.
    case step(id: String, accountId: String)
    /// The next touch rendered, storing nothing: of the account's campaign, or of `lead` when given.
    case preview(id: String, accountId: String, lead: JSONValue?)
    /// The account's campaigns, earlier ones included, oldest first.
    case campaigns(id: String, accountId: String)
    /// Running campaigns of `playbook` (or of one account's) to take up `toVersion` at their next step.
    case migrate(id: String, playbook: String, toVersion: Int, accountId: String?)
    /// The playbooks and their versions.
    case playbooks(id: String)
    /// An account command addressed by `campaign_id` instead of `account_id`: it applies only while that
    /// campaign is the account's current one (else `not_found`).
    indirect case forCampaign(campaignId: String, WireRequest)

    /// The client's request id (the idempotency key within the socket's id space).
    public var id: String {
        switch self {
        case .lead(let id, _, _), .response(let id, _), .pause(let id, _, _), .resume(let id, _),
             .cancel(let id, _), .status(let id, _), .events(let id, _, _), .clockAdvance(let id, _),
             .list(let id, _), .stats(let id), .erase(let id, _), .explain(let id, _), .step(let id, _), .preview(let id, _, _),
             .campaigns(let id, _), .migrate(let id, _, _, _), .playbooks(let id):
            return id
        case .forCampaign(_, let inner):
            return inner.id
        }
    }

    /// The wire `type` of the request.
    public var type: String {
        switch self {
        case .lead: "lead"
        case .response: "response"
        case .pause: "pause"
        case .resume: "resume"
        case .cancel: "cancel"
        case .status: "status"
        case .events: "events"
        case .clockAdvance: "clock.advance"
        case .list: "list"
        case .stats: "stats"
        case .erase: "erase"
        case .explain: "explain"
        case .step: "step"
        case .preview: "preview"
        case .campaigns: "campaigns"
        case .migrate: "migrate"
        case .playbooks: "playbooks"
        case .forCampaign(_, let inner): inner.type
        }
    }

    /// The account the request is about, when it is about one.
    public var accountId: String? {
        switch self {
        case .lead(_, let a, _), .pause(_, let a, _), .resume(_, let a), .cancel(_, let a), .status(_, let a),
             .explain(_, let a), .step(_, let a), .preview(_, let a, _), .campaigns(_, let a): a
        case .forCampaign(_, let inner): inner.accountId
        case .response(_, let r): r.accountId
        case .migrate(_, _, _, let a): a
        case .events, .clockAdvance, .list, .stats, .erase, .playbooks: nil
        }
    }

    /// Whether a repeated id replays the stored reply (true) or is answered afresh (`status`, `events`,
    /// and `erase`, which is idempotent: running it again finishes an interrupted one).
    public var repliesAreStored: Bool {
        switch self {
        // `migrate` is idempotent too (campaigns already migrating are left as they are).
        case .status, .events, .list, .stats, .erase, .explain, .preview, .campaigns, .migrate, .playbooks: false
        case .forCampaign(_, let inner): inner.repliesAreStored
        default: true
        }
    }
}

/// Field-size limits of protocol v1 (UTF-8 bytes). The whole body is additionally bounded by the
/// socket's 1 MiB `ZMQ_MAXMSGSIZE` and each string by `JSONLimits.maxStringBytes` (64 KiB).
public enum WireLimits {
    public static let maxIdBytes = 256
    public static let maxAccountIdBytes = 256
    public static let maxContactIdBytes = 256
    public static let maxEmailBytes = 320
    public static let maxKindBytes = 64
    public static let maxChannelBytes = 64
    public static let maxReasonBytes = 1024
    public static let maxReturnDateBytes = 64
    public static let maxEventsLimit = 1000
    public static let maxListLimit = CampaignFilter.maxLimit
    public static let defaultListLimit = CampaignFilter.defaultLimit
    public static let defaultEventsLimit = 100
    public static let maxAdvanceSeconds = 315_360_000.0
    /// The largest message the sockets accept (`ZMQ_MAXMSGSIZE`, per frame).
    public static let maxMessageBytes = 1 << 20
    /// The most frames the receiver keeps of one message, identity included; the rest are discarded
    /// unread and the request is `bad_framing` (a valid request has 3: identity, delimiter, body).
    /// libzmq's size limit is per frame, so the count must be capped in code.
    public static let maxFrames = 16
}

/// Decodes request frames into `WireRequest`s. Input: the frames after the ROUTER's identity frame,
/// which must be exactly `[empty delimiter][JSON body]`.
public struct WireDecoder: Sendable {
    public var limits: JSONLimits

    public init(limits: JSONLimits = .default) {
        self.limits = limits
    }

    /// The ingress socket: `lead` and `response`.
    public func decodeIngress(_ frames: [[UInt8]]) throws(AbmError) -> WireRequest {
        var body = try parseBody(frames)
        let type = try body.header()
        switch type {
        case "lead": return try body.lead()
        case "response": return try body.response()
        case "pause", "resume", "cancel", "status", "events", "clock.advance", "list", "stats", "erase", "explain", "step", "preview", "campaigns", "migrate", "playbooks":
            throw body.error(.unknownType, "`type` `\(type)` is a control command; send it to the control socket", "type")
        default:
            throw body.error(.unknownType, "unknown request type `\(type.prefix(64))` (ingress accepts lead, response)", "type")
        }
    }

    /// The control socket: `pause`, `resume`, `cancel`, `status`, `events`, `clock.advance`, `list`, `stats`,
    /// `erase`, `explain`, `step`, `preview`, `campaigns`, `migrate`, `playbooks`.
    public func decodeControl(_ frames: [[UInt8]]) throws(AbmError) -> WireRequest {
        var body = try parseBody(frames)
        let type = try body.header()
        switch type {
        case "pause", "resume", "cancel", "status", "explain", "step":
            // `campaign_id` may stand for `account_id`: `<account_id>-c<n>`, the account's n-th campaign.
            if body.object["account_id"] == nil || body.object["account_id"] == .null,
               let campaignId = try body.optionalString("campaign_id", max: WireLimits.maxAccountIdBytes) {
                guard let account = Self.account(ofCampaign: campaignId) else {
                    throw body.error(.invalidField, "`campaign_id` must be `<account_id>-c<n>`, got `\(campaignId.prefix(64))`", "campaign_id")
                }
                body.object["account_id"] = .string(account)
                return .forCampaign(campaignId: campaignId, try decodeAccountCommand(type, &body))
            }
            return try decodeAccountCommand(type, &body)
        case "campaigns": return .campaigns(id: try body.requireId(), accountId: try body.accountId())
        case "events": return try body.events()
        case "clock.advance": return try body.clockAdvance()
        case "list": return try body.list()
        case "stats": return .stats(id: try body.requireId())
        case "erase": return try body.erase()
        case "preview": return try body.preview()
        case "migrate": return try body.migrate()
        case "playbooks": return .playbooks(id: try body.requireId())
        case "lead", "response":
            throw body.error(.unknownType, "`type` `\(type)` is an ingress request; send it to the ingress socket", "type")
        default:
            throw body.error(.unknownType,
                             "unknown command `\(type.prefix(64))` (control accepts pause, resume, cancel, status, events, clock.advance, list, stats, erase, explain, step, preview, campaigns, migrate, playbooks)", "type")
        }
    }

    /// `pause`, `resume`, `cancel`, `status`, `explain` and `step`: commands on one account's campaign.
    private func decodeAccountCommand(_ type: String, _ body: inout RequestBody) throws(AbmError) -> WireRequest {
        let id = try body.requireId()
        let account = try body.accountId()
        switch type {
        case "pause": return .pause(id: id, accountId: account, reason: try body.optionalString("reason", max: WireLimits.maxReasonBytes))
        case "resume": return .resume(id: id, accountId: account)
        case "cancel": return .cancel(id: id, accountId: account)
        case "status": return .status(id: id, accountId: account)
        case "explain": return .explain(id: id, accountId: account)
        default: return .step(id: id, accountId: account)
        }
    }

    /// The account of a campaign id `<account_id>-c<n>` (nil when it is not one).
    public static func account(ofCampaign campaignId: String) -> String? {
        guard let dash = campaignId.range(of: "-c", options: .backwards) else { return nil }
        let number = campaignId[dash.upperBound...]
        guard !number.isEmpty, number.allSatisfy(\.isASCII), number.allSatisfy(\.isNumber), dash.lowerBound > campaignId.startIndex
        else { return nil }
        return String(campaignId[..<dash.lowerBound])
    }

    /// The body of `[empty][body]`, parsed into an object.
    public func parseBody(_ frames: [[UInt8]]) throws(AbmError) -> RequestBody {
        guard let first = frames.first else {
            throw AbmError(code: .badFraming, message: "empty message: expected [empty delimiter][body]")
        }
        guard first.isEmpty else {
            throw AbmError(code: .badFraming,
                            message: "the first frame must be the empty delimiter (a DEALER client sends an empty frame before the body)")
        }
        guard frames.count == 2 else {
            throw AbmError(code: .badFraming,
                            message: frames.count == 1 ? "no body frame after the empty delimiter"
                                : "expected one body frame after the delimiter, got \(frames.count - 1)")
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(frames[1], limits: limits)
        } catch {
            throw AbmError(code: .invalidJSON, message: "body is not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw AbmError(code: .invalidJSON, message: "body must be a JSON object, got \(kindName(value))")
        }
        return RequestBody(object: object)
    }
}

/// A request body being read field by field; errors carry the request id once it is known.
public struct RequestBody: Sendable {
    public internal(set) var object: [String: JSONValue]
    /// The id, once it has been read as a usable string.
    public private(set) var id: String?

    init(object: [String: JSONValue]) {
        self.object = object
    }

    func error(_ code: ErrorCode, _ message: String, _ field: String?) -> AbmError {
        AbmError(code: code, message: message, field: field, requestId: id)
    }

    /// Reads `id` (when usable, so that even refusals can echo it) and returns `type`.
    mutating func header() throws(AbmError) -> String {
        if case .string(let s) = object["id"], !s.isEmpty, s.utf8.count <= WireLimits.maxIdBytes { id = s }
        guard let t = object["type"], !t.isNull else { throw error(.missingField, "`type` is required", "type") }
        guard case .string(let type) = t else { throw error(.invalidField, "`type` must be a string, got \(kindName(t))", "type") }
        return type
    }

    func requireId() throws(AbmError) -> String {
        if let id { return id }
        // Not usable: this reports why (absent or null, not a string, empty, too long).
        return try string(in: object, "id", path: "id", max: WireLimits.maxIdBytes)
    }

    func accountId() throws(AbmError) -> String {
        try string(in: object, "account_id", path: "account_id", max: WireLimits.maxAccountIdBytes)
    }

    func optionalString(_ key: String, max: Int) throws(AbmError) -> String? {
        try optionalString(in: object, key, path: key, max: max)
    }

    /// A required non-empty string of at most `max` UTF-8 bytes.
    func string(in object: [String: JSONValue], _ key: String, path: String, max: Int) throws(AbmError) -> String {
        guard let s = try optionalString(in: object, key, path: path, max: max) else {
            throw error(.missingField, "`\(path)` is required", path)
        }
        guard !s.isEmpty else { throw error(.invalidField, "`\(path)` must not be empty", path) }
        return s
    }

    /// An optional string (absent or null = nil) of at most `max` UTF-8 bytes.
    func optionalString(in object: [String: JSONValue], _ key: String, path: String, max: Int) throws(AbmError) -> String? {
        guard let v = object[key], !v.isNull else { return nil }
        guard case .string(let s) = v else {
            throw error(.invalidField, "`\(path)` must be a string, got \(kindName(v))", path)
        }
        guard s.utf8.count <= max else {
            throw error(.invalidField, "`\(path)` is longer than \(max) bytes", path)
        }
        return s
    }

    func lead() throws(AbmError) -> WireRequest {
        let id = try requireId()
        guard let lead = object["lead"], !lead.isNull else { throw error(.missingField, "`lead` is required", "lead") }
        guard case .object(var fields) = lead else {
            throw error(.invalidField, "`lead` must be an object, got \(kindName(lead))", "lead")
        }
        if let mapped = InboundLeadKeys.normalized(fields) { fields = mapped }
        let account = try string(in: fields, "account_id", path: "lead.account_id", max: WireLimits.maxAccountIdBytes)
        return .lead(id: id, accountId: account, lead: .object(fields))
    }

    func response() throws(AbmError) -> WireRequest {
        let id = try requireId()
        let account = try accountId()
        let email = try optionalString("contact_email", max: WireLimits.maxEmailBytes)
        let contactId = try optionalString("contact_id", max: WireLimits.maxContactIdBytes)
        if (email ?? "").isEmpty && (contactId ?? "").isEmpty {
            throw error(.missingField, "`contact_email` or `contact_id` is required", "contact_email")
        }
        let kindText = try string(in: object, "kind", path: "kind", max: WireLimits.maxKindBytes)
        guard let kind = ResponseKind(rawValue: kindText) else {
            throw error(.invalidField, "`kind` must be one of \(ResponseKind.list); got `\(kindText)`", "kind")
        }
        let input = ResponseInput(
            accountId: account,
            contactEmail: email.flatMap { $0.isEmpty ? nil : $0 },
            contactId: contactId.flatMap { $0.isEmpty ? nil : $0 },
            kind: kind,
            channel: try optionalString("channel", max: WireLimits.maxChannelBytes),
            text: try optionalString("text", max: 65_536),
            returnDate: try optionalString("return_date", max: WireLimits.maxReturnDateBytes))
        return .response(id: id, input)
    }

    func events() throws(AbmError) -> WireRequest {
        let id = try requireId()
        let after = try integer("after_seq", default: 0, range: 0...Int64.max)
        let limit = try integer("limit", default: Int64(WireLimits.defaultEventsLimit), range: 1...Int64(WireLimits.maxEventsLimit))
        return .events(id: id, afterSeq: after, limit: Int(limit))
    }

    func list() throws(AbmError) -> WireRequest {
        let id = try requireId()
        var query = CampaignFilter()
        if let word = try optionalString("status", max: 64) {
            guard let status = CampaignStatus(rawValue: word) else {
                throw error(.invalidField,
                            "`status` must be one of active, paused, completed, cancelled; got `\(word.prefix(64))`", "status")
            }
            query.status = status
        }
        if let v = object["parked"], !v.isNull {
            guard case .bool(let parked) = v else {
                throw error(.invalidField, "`parked` must be a boolean, got \(kindName(v))", "parked")
            }
            query.parked = parked
        }
        query.accountPrefix = try optionalString("account_prefix", max: WireLimits.maxAccountIdBytes)
        query.after = try optionalString("after", max: WireLimits.maxAccountIdBytes)
        query.limit = Int(try integer("limit", default: Int64(WireLimits.defaultListLimit),
                                      range: 1...Int64(WireLimits.maxListLimit)))
        return .list(id: id, query)
    }

    /// `preview`: `account_id`, or a `lead` (whose `account_id` it is for; the inbound keys mapped).
    func preview() throws(AbmError) -> WireRequest {
        let id = try requireId()
        if let lead = object["lead"], !lead.isNull {
            guard case .object(var fields) = lead else {
                throw error(.invalidField, "`lead` must be an object, got \(kindName(lead))", "lead")
            }
            if let mapped = InboundLeadKeys.normalized(fields) { fields = mapped }
            let account = try string(in: fields, "account_id", path: "lead.account_id", max: WireLimits.maxAccountIdBytes)
            return .preview(id: id, accountId: account, lead: .object(fields))
        }
        return .preview(id: id, accountId: try accountId(), lead: nil)
    }

    /// `migrate`: `playbook` and `to_version` (≥ 1), optionally one `account_id`.
    func migrate() throws(AbmError) -> WireRequest {
        let id = try requireId()
        guard let playbook = try optionalString("playbook", max: 64) else {
            throw error(.missingField, "`playbook` is required", "playbook")
        }
        guard object["to_version"] != nil, object["to_version"] != .null else {
            throw error(.missingField, "`to_version` is required", "to_version")
        }
        let version = try integer("to_version", default: 1, range: 1...Int64(Int32.max))
        let account = try optionalString("account_id", max: WireLimits.maxAccountIdBytes)
        return .migrate(id: id, playbook: playbook, toVersion: Int(version), accountId: account)
    }

    func erase() throws(AbmError) -> WireRequest {
        let id = try requireId()
        guard let raw = try optionalString("email", max: WireLimits.maxEmailBytes) else {
            throw error(.missingField, "`email` is required", "email")
        }
        let email = String(raw.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()).lowercased()
        guard email.contains("@"), !email.hasPrefix("@"), !email.hasSuffix("@") else {
            throw error(.invalidField, "`email` must be an email address, got `\(raw.prefix(64))`", "email")
        }
        return .erase(id: id, email: email)
    }

    func clockAdvance() throws(AbmError) -> WireRequest {
        let id = try requireId()
        guard let v = object["seconds"], !v.isNull else { throw error(.missingField, "`seconds` is required", "seconds") }
        let seconds: Double
        switch v {
        case .int(let i): seconds = Double(i)
        case .double(let d): seconds = d
        default: throw error(.invalidField, "`seconds` must be a number, got \(kindName(v))", "seconds")
        }
        guard seconds > 0, seconds <= WireLimits.maxAdvanceSeconds else {
            throw error(.invalidField, "`seconds` must be > 0 and at most \(Int(WireLimits.maxAdvanceSeconds))", "seconds")
        }
        return .clockAdvance(id: id, seconds: seconds)
    }

    /// An optional integer field in `range` (a double with no fraction, e.g. `100.0`, is accepted).
    func integer(_ key: String, default def: Int64, range: ClosedRange<Int64>) throws(AbmError) -> Int64 {
        guard let v = object[key], !v.isNull else { return def }
        let value: Int64
        switch v {
        case .int(let i): value = i
        case .double(let d) where d.rounded() == d && abs(d) < 9.0e15: value = Int64(d)
        default: throw error(.invalidField, "`\(key)` must be an integer, got \(kindName(v))", key)
        }
        guard range.contains(value) else {
            let upper = range.upperBound == .max ? "" : " and at most \(range.upperBound)"
            throw error(.invalidField, "`\(key)` must be at least \(range.lowerBound)\(upper), got \(value)", key)
        }
        return value
    }
}

func kindName(_ v: JSONValue) -> String {
    switch v {
    case .null: "null"
    case .bool: "a boolean"
    case .int, .double: "a number"
    case .string: "a string"
    case .array: "an array"
    case .object: "an object"
    }
}

