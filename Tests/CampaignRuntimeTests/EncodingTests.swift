import AbmWire
import CampaignCore
import Foundation
import Testing

@testable import CampaignRuntime

@Suite struct EncodingTests {
    @Test func eventBodyIsSortedDeterministicJSON() throws {
        let event = DomainEvent(at: Date(timeIntervalSince1970: 1_772_460_000), accountId: "acme", campaignId: "c-1",
                                payload: .touchpointDue(.init(touchpointId: "c-1:1", step: 1, contactId: "p",
                                                              contactEmail: "p@x.example", channel: .email,
                                                              message: "Hi \"Sam\"\n", reason: .focusStep)))
        let body = String(decoding: JSONEventBodyEncoder().body(for: event), as: UTF8.self)
        #expect(body == #"{"account_id":"acme","at":"2026-03-02T14:00:00.000Z","campaign_id":"c-1","channel":"email","contact_email":"p@x.example","contact_id":"p","message":"Hi \"Sam\"\n","reason":"focus_step","step":1,"touchpoint_id":"c-1:1","type":"touchpoint.due"}"#)
        let parsed = try JSONDecoder().decode(JSONValue.self, from: Data(body.utf8))
        #expect(parsed["message"] == "Hi \"Sam\"\n")
    }

    @Test func stringsAreEscaped() throws {
        let raw = "a\\b\t\u{01}\r é \"q\" end"
        let data = JSONWriter.encode(.string(raw))
        #expect(String(decoding: data, as: UTF8.self) == #""a\\b\t\u0001\r é \"q\" end""#)
        #expect(try JSONDecoder().decode(String.self, from: Data(data)) == raw)
    }

    @Test func nullCampaignIdIsWritten() {
        let event = DomainEvent(at: Date(timeIntervalSince1970: 0), accountId: "a", campaignId: nil,
                                payload: .contactSuppressed(.init(contactId: nil, email: "x@y.example", reason: .unsubscribed)))
        let body = String(decoding: JSONEventBodyEncoder().body(for: event), as: UTF8.self)
        #expect(body.contains(#""campaign_id":null"#))
    }
}

@Suite struct CompactStateCodecTests {
    /// Real states: a campaign after a lead, some touches, a response and an out-of-office.
    func states() -> [AccountState] {
        let engine = CampaignEngine()
        var state = AccountState(accountId: "acme")
        var out = [state]
        var now = monday9
        func apply(_ input: CampaignInput) {
            if case .success(let t) = engine.handle(state, input, now: now) {
                state = t.state
                out.append(state)
            }
        }
        apply(.lead(lead("acme", colleagues: 3, extra: ["ünïcødé@acme.example"])))
        for _ in 0..<4 {
            guard let due = state.campaign?.nextDueAt else { break }
            now = max(now, due)
            apply(.timerFired(dueAt: due))
        }
        apply(.response(ResponseInput(accountId: "acme", contactEmail: "c1@acme.example", kind: .outOfOffice, returnDate: "2026-04-01")))
        apply(.command(.pause(reason: "check \"quotes\"")))
        return out
    }

    @Test func roundTripsRealStates() throws {
        let codec = CompactStateCodec()
        let all = states()
        #expect(all.count >= 6)
        for s in all {
            let data = try codec.encode(s)
            #expect(try codec.decode(data) == s)
            #expect(data.count < (try JSONStateCodec().encode(s)).count)
        }
    }

    @Test func readsJSONBlobsAndRejectsGarbage() throws {
        let s = states().last!
        let json = try JSONStateCodec().encode(s)
        #expect(try CompactStateCodec().decode(json) == s)
        #expect(throws: (any Error).self) { try CompactStateCodec().decode(Data([0xB1, 6, 3])) }
        #expect(throws: (any Error).self) { try CompactStateCodec().decode(Data("garbage".utf8)) }
        var truncated = try CompactStateCodec().encode(s)
        truncated.removeLast(5)
        #expect(throws: (any Error).self) { try CompactStateCodec().decode(truncated) }
    }

    /// Every optional field set, and outsiders (the real states leave some of them nil or empty).
    func fullState() -> AccountState {
        var s = states().last!
        var c = s.campaign!
        c.reason = "r"; c.topic = "t"; c.company = "co"; c.lastStepAt = monday9
        c.next = PlannedTouch(dueAt: monday9, contactId: "x", reason: .roundRobin, delay: .holiday); c.roundCursor = "cur"
        c.outsiders = ["a@x.example": .replied, "b@x.example": .bounced, "c@x.example": .unsubscribed]
        c.playbook = PlaybookRef(name: "renewal", version: 3); c.migratingTo = 4
        c.contacts[0].title = "CTO"; c.contacts[0].phone = "+1"; c.contacts[0].timezone = "UTC"
        c.contacts[0].country = "US"; c.contacts[0].linkedinURL = "li"; c.contacts[0].awayUntil = monday9
        c.contacts[0].firstTouchAt = monday9; c.contacts[0].lastTouchAt = monday9; c.contacts[0].score = -3
        s.campaign = c
        var beside = c
        beside.id = "acme-c9"
        beside.playbook = PlaybookRef(name: "upsell", version: 1)
        s.others = [beside]
        return s
    }

    @Test func handWrittenWriterMatchesCodableByteForByte() throws {
        let codec = CompactStateCodec()
        for s in states() + [fullState()] {
            let fast = try codec.encode(s)
            #expect(fast == (try codec.encodeGeneric(s)))
            #expect(try codec.decode(fast) == s)
        }
    }

    /// The hand-written writer lists every stored property: a new one must be added there (and here).
    @Test func handWrittenWriterKnowsEveryField() {
        let s = fullState()
        #expect(Mirror(reflecting: s).children.count == 4)
        #expect(Mirror(reflecting: s.campaign!).children.count == 19)
        #expect(Mirror(reflecting: s.campaign!.contacts[0]).children.count == 16)
    }
}

@Suite struct StoredReplyTests {
    @Test func theHandWrittenStoredAckDecodesAsTheCodableOne() throws {
        for (campaign, warnings) in [("acme-c1", []), ("a\"b\\c\u{1}", ["w1", "ünï \"q\""]), (nil, ["x"])] as [(String?, [String])] {
            let data = Ack.storedAccepted(campaignId: campaign, warnings: warnings)
            let decoded = try #require(ReplyCoding.decode(Ack.self, data))
            #expect(decoded == Ack(status: .accepted, campaignId: campaign, warnings: warnings))
            #expect(decoded == ReplyCoding.decode(Ack.self, ReplyCoding.encode(decoded)))
        }
    }
}
