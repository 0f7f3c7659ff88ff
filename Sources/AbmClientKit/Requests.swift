import AbmWire
import CampaignCore

import Foundation

/// Builds request bodies (`protocols/abm-wire-v1.md` §6–7) from what a user gives on the command line.
///
/// The request id is the idempotency key: an explicit id (`--id`) wins, then an id already in a full
/// request the user supplied, else a fresh UUID (lower case).
public enum Requests {
    /// A fresh request id.
    public static func newID() -> String { UUID().uuidString.lowercased() }

    /// Parses user-supplied JSON (a file or stdin) strictly, as the server would.
    public static func parseUserJSON(_ bytes: [UInt8], source: String) throws(AbmError) -> JSONValue {
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw .badInput("\(source) is not valid JSON: \(error)")
        }
    }

    /// A `lead` request from either a lead object (`{"account_id":…, "email":…}`) or a full request
    /// (`{"type":"lead","id":…,"lead":{…}}`).
    public static func lead(fromUser value: JSONValue, id: String? = nil) throws(AbmError) -> JSONValue {
        guard case .object(var object) = value else { throw .badInput("a lead must be a JSON object") }
        let lead: [String: JSONValue]
        if let type = object["type"], type != .null {
            guard type == "lead" else {
                throw .badInput("a full request must have \"type\": \"lead\" (got \(describe(type)))", field: "type")
            }
            guard case .object(let inner)? = object["lead"] else {
                throw .badInput("the request's \"lead\" must be an object", field: "lead")
            }
            lead = inner
        } else {
            lead = object
            object = [:]
        }
        guard case .string(let account)? = lead["account_id"], !account.isEmpty else {
            throw .badInput("lead.account_id is required (a non-empty string)", field: "lead.account_id")
        }
        object["type"] = "lead"
        object["id"] = .string(resolveID(explicit: id, inBody: object["id"]))
        object["lead"] = .object(lead)
        return .object(object)
    }

    /// A `response` request from a response object (`{"account_id","contact_email","kind",…}`, `type`
    /// and `id` optional) as a user wrote it.
    public static func response(fromUser value: JSONValue, id: String? = nil) throws(AbmError) -> JSONValue {
        guard case .object(var object) = value else { throw .badInput("a response must be a JSON object") }
        if let type = object["type"], type != .null, type != "response" {
            throw .badInput("a response request must have \"type\": \"response\" (got \(describe(type)))", field: "type")
        }
        try checkResponse(object)
        object["type"] = "response"
        object["id"] = .string(resolveID(explicit: id, inBody: object["id"]))
        return .object(object)
    }

    /// A `response` request from flags.
    public static func response(accountId: String, contactEmail: String?, contactId: String? = nil, kind: ResponseKind,
                                channel: String? = nil, text: String? = nil, returnDate: String? = nil,
                                id: String? = nil) throws(AbmError) -> JSONValue {
        var object: [String: JSONValue] = ["account_id": .string(accountId), "kind": .string(kind.rawValue)]
        if let contactEmail { object["contact_email"] = .string(contactEmail) }
        if let contactId { object["contact_id"] = .string(contactId) }
        if let channel { object["channel"] = .string(channel) }
        if let text { object["text"] = .string(text) }
        if let returnDate { object["return_date"] = .string(returnDate) }
        return try response(fromUser: .object(object), id: id)
    }

    /// The checks a user benefits from before anything is sent; the server checks everything again.
    static func checkResponse(_ object: [String: JSONValue]) throws(AbmError) {
        guard case .string(let account)? = object["account_id"], !account.isEmpty else {
            throw .badInput("account_id is required (a non-empty string)", field: "account_id")
        }
        let email = object["contact_email"].flatMap { $0 == .null ? nil : $0 }
        let contact = object["contact_id"].flatMap { $0 == .null ? nil : $0 }
        if email == nil && contact == nil {
            throw .badInput("contact_email or contact_id is required", field: "contact_email")
        }
        guard case .string(let kindText)? = object["kind"] else {
            throw .badInput("kind is required, one of \(ResponseKind.list)", field: "kind")
        }
        guard let kind = ResponseKind(rawValue: kindText) else {
            throw .badInput("kind \"\(kindText)\" is not one of \(ResponseKind.list)", field: "kind")
        }
        if let date = object["return_date"], date != .null, kind != .outOfOffice {
            throw .badInput("return_date is only meaningful with kind out_of_office", field: "return_date")
        }
    }

    /// `pause` with an optional reason.
    public static func pause(accountId: String, reason: String?, id: String? = nil) -> JSONValue {
        var o = command("pause", accountId: accountId, id: id)
        if let reason { o["reason"] = .string(reason) }
        return .object(o)
    }

    /// `resume`; a `reason` is sent along (unknown fields are ignored by v1 servers).
    public static func resume(accountId: String, reason: String? = nil, id: String? = nil) -> JSONValue {
        var o = command("resume", accountId: accountId, id: id)
        if let reason { o["reason"] = .string(reason) }
        return .object(o)
    }

    /// `cancel`; a `reason` is sent along (unknown fields are ignored by v1 servers).
    public static func cancel(accountId: String, reason: String? = nil, id: String? = nil) -> JSONValue {
        var o = command("cancel", accountId: accountId, id: id)
        if let reason { o["reason"] = .string(reason) }
        return .object(o)
    }

    public static func status(accountId: String, id: String? = nil) -> JSONValue {
        .object(command("status", accountId: accountId, id: id))
    }

    /// Replay: stored events with `seq > afterSeq`, at most `limit` (1…1000).
    public static func events(afterSeq: Int64, limit: Int = 1000, id: String? = nil) -> JSONValue {
        .object(["type": "events", "id": .string(id ?? newID()), "after_seq": .int(afterSeq),
                 "limit": .int(Int64(min(max(limit, 1), 1000)))])
    }

    /// `list`: campaigns by account id. `status` is a status word, `parked` filters parked campaigns
    /// (true) or the others (false); `after` is the previous page's `next`.
    public static func list(status: String? = nil, parked: Bool? = nil, accountPrefix: String? = nil,
                            after: String? = nil, limit: Int? = nil, id: String? = nil) -> JSONValue {
        var o: [String: JSONValue] = ["type": "list", "id": .string(id ?? newID())]
        if let status { o["status"] = .string(status) }
        if let parked { o["parked"] = .bool(parked) }
        if let accountPrefix { o["account_prefix"] = .string(accountPrefix) }
        if let after { o["after"] = .string(after) }
        if let limit { o["limit"] = .int(Int64(limit)) }
        return .object(o)
    }

    /// `stats`: counts of campaigns, timers and the outbox.
    public static func stats(id: String? = nil) -> JSONValue {
        .object(["type": "stats", "id": .string(id ?? newID())])
    }

    /// An operator's override: the planned touch now (protocol §7.12).
    public static func step(accountId: String, id: String? = nil) -> JSONValue {
        .object(["type": "step", "id": .string(id ?? newID()), "account_id": .string(accountId)])
    }

    /// The next touch rendered, storing nothing (protocol §7.11): of the account's campaign, or of `lead`.
    public static func preview(accountId: String?, lead: JSONValue?, id: String? = nil) -> JSONValue {
        var o: [String: JSONValue] = ["type": "preview", "id": .string(id ?? newID())]
        if let accountId { o["account_id"] = .string(accountId) }
        if let lead { o["lead"] = lead }
        return .object(o)
    }

    /// An account's campaigns, earlier ones included (protocol §7.13).
    public static func campaigns(accountId: String, id: String? = nil) -> JSONValue {
        .object(["type": "campaigns", "id": .string(id ?? newID()), "account_id": .string(accountId)])
    }

    /// A campaign's decisions and why (protocol §7.10).
    public static func explain(accountId: String, id: String? = nil) -> JSONValue {
        .object(["type": "explain", "id": .string(id ?? newID()), "account_id": .string(accountId)])
    }

    /// Erases a person (protocol §7.9).
    public static func erase(email: String, id: String? = nil) -> JSONValue {
        .object(["type": "erase", "id": .string(id ?? newID()), "email": .string(email)])
    }

    /// Running campaigns of a playbook (or one account's) to take up a version at their next step (protocol §7.14).
    public static func migrate(playbook: String, toVersion: Int, accountId: String? = nil, id: String? = nil) -> JSONValue {
        var o: [String: JSONValue] = ["type": "migrate", "id": .string(id ?? newID()), "playbook": .string(playbook),
                                      "to_version": .int(Int64(toVersion))]
        if let accountId { o["account_id"] = .string(accountId) }
        return .object(o)
    }

    /// The playbooks and their versions (protocol §7.14).
    public static func playbooks(id: String? = nil) -> JSONValue {
        .object(["type": "playbooks", "id": .string(id ?? newID())])
    }

    /// Virtual clock only.
    public static func clockAdvance(seconds: Double, id: String? = nil) -> JSONValue {
        let value: JSONValue = seconds == seconds.rounded() && abs(seconds) < 1e15 ? .int(Int64(seconds)) : .double(seconds)
        return .object(["type": "clock.advance", "id": .string(id ?? newID()), "seconds": value])
    }

    static func command(_ type: String, accountId: String, id: String?) -> [String: JSONValue] {
        ["type": .string(type), "id": .string(id ?? newID()), "account_id": .string(accountId)]
    }

    static func resolveID(explicit: String?, inBody: JSONValue?) -> String {
        if let explicit { return explicit }
        if case .string(let s)? = inBody, !s.isEmpty { return s }
        return newID()
    }

    static func describe(_ value: JSONValue) -> String {
        String(decoding: JSONWriter.encode(value), as: UTF8.self)
    }

    /// The request's `id` (every request built here has one).
    public static func id(of request: JSONValue) -> String { request["id"]?.stringValue ?? "" }

    /// The body frame.
    public static func encode(_ request: JSONValue) -> [UInt8] { JSONWriter.encode(request) }
}
