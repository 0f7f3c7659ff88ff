import AbmWire
import AbmClientKit
import CampaignCore
import Testing

@Suite struct RequestsTests {
    @Test func leadObjectIsWrappedWithAFreshUUID() throws {
        let request = try Requests.lead(fromUser: ["account_id": "acme", "email": "a@acme.example"])
        #expect(request["type"] == "lead")
        #expect(request["lead"]?["account_id"] == "acme")
        let id = try #require(request["id"]?.stringValue)
        #expect(id.count == 36 && id == id.lowercased())
        #expect(id != Requests.id(of: try Requests.lead(fromUser: ["account_id": "acme"])))
    }

    @Test func fullRequestKeepsItsIdUnlessOneIsGiven() throws {
        let full: JSONValue = ["type": "lead", "id": "crm-1", "lead": ["account_id": "acme"], "extra": 1]
        #expect(try Requests.lead(fromUser: full)["id"] == "crm-1")
        #expect(try Requests.lead(fromUser: full)["extra"] == 1)
        #expect(try Requests.lead(fromUser: full, id: "cli-9")["id"] == "cli-9")
    }

    @Test func leadInputErrorsNameTheField() {
        #expect(throws: AbmError.badInput("lead.account_id is required (a non-empty string)", field: "lead.account_id")) {
            try Requests.lead(fromUser: ["email": "a@acme.example"])
        }
        #expect(throws: AbmError.self) { try Requests.lead(fromUser: ["type": "response", "lead": ["account_id": "a"]]) }
        #expect(throws: AbmError.self) { try Requests.lead(fromUser: ["type": "lead", "lead": "acme"]) }
        #expect(throws: AbmError.self) { try Requests.lead(fromUser: [1, 2]) }
        #expect(throws: AbmError.self) { try Requests.parseUserJSON(Array(#"{"a":1,"a":2}"#.utf8), source: "x") }
    }

    @Test func responseFromFlags() throws {
        let r = try Requests.response(accountId: "acme", contactEmail: "s@acme.example", kind: .outOfOffice,
                                      text: "away", returnDate: "2026-03-16", id: "r-1")
        #expect(r == ["type": "response", "id": "r-1", "account_id": "acme", "contact_email": "s@acme.example",
                      "kind": "out_of_office", "text": "away", "return_date": "2026-03-16"])
    }

    @Test func responseChecks() {
        func code(_ body: () throws -> JSONValue) -> String? {
            do { _ = try body(); return nil } catch { return (error as? AbmError)?.field ?? "?" }
        }
        #expect(code { try Requests.response(accountId: "a", contactEmail: nil, kind: .reply) } == "contact_email")
        #expect(code { try Requests.response(fromUser: ["account_id": "a", "contact_email": "x@y.example", "kind": "maybe"]) } == "kind")
        #expect(code { try Requests.response(accountId: "", contactEmail: "x@y.example", kind: .reply) } == "account_id")
        #expect(code { try Requests.response(accountId: "a", contactEmail: "x@y.example", kind: .reply, returnDate: "2026-03-16") }
                == "return_date")
        #expect(code { try Requests.response(accountId: "a", contactEmail: nil, contactId: "c-1", kind: .bounce) } == nil)
    }

    @Test func controlCommands() {
        #expect(Requests.pause(accountId: "acme", reason: "legal", id: "p") ==
                ["type": "pause", "id": "p", "account_id": "acme", "reason": "legal"])
        #expect(Requests.pause(accountId: "acme", reason: nil, id: "p")["reason"] == nil)
        #expect(Requests.resume(accountId: "acme", id: "r") == ["type": "resume", "id": "r", "account_id": "acme"])
        #expect(Requests.events(afterSeq: 7, limit: 5000, id: "e") == ["type": "events", "id": "e", "after_seq": 7, "limit": 1000])
        #expect(Requests.clockAdvance(seconds: 86_400, id: "c")["seconds"] == 86_400)
        #expect(Requests.clockAdvance(seconds: 0.5, id: "c")["seconds"] == 0.5)
    }

    @Test func repliesMapToErrors() throws {
        try Replies.checkAck(["type": "ack", "id": "x", "status": "duplicate", "campaign_id": nil, "warnings": []])
        #expect(throws: AbmError.refused(code: "not_found", message: "no campaign", field: "account_id")) {
            try Replies.checkAck(["type": "ack", "id": "x", "status": "rejected",
                                  "error": ["code": "not_found", "message": "no campaign", "field": "account_id"]])
        }
        #expect(throws: AbmError.self) { try Replies.checkReply(["type": "reply", "id": "x", "ok": false, "error": ["code": "invalid_state", "message": "m"]]) }
        #expect(throws: AbmError.self) { try Replies.checkReply(["type": "ack"]) }
        do { try Replies.checkReply(["type": "reply", "ok": false, "error": ["code": "invalid_state", "message": "m"]]) }
        catch { #expect(error.exitCode == 1) }
    }
}
