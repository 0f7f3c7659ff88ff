import AbmWire
import CampaignCore
import Foundation
import Testing

/// `EventBody` is hand-written with each type's keys in sorted order; these check it against the generic
/// `JSONWriter` (keys sorted by the writer) and the payload decoder, on every event of seeded simulations.
@Suite struct EventBodyTests {
    @Test func bodiesEqualTheGenericWritersAndDecodeBack() throws {
        var seen = Set<EventType>()
        for seed in UInt64(1)...12 {
            for e in SimulationTests.simulate(seed: seed, count: 40) {
                seen.insert(e.type)
                let body = EventBody.encode(e)
                let parsed = try JSONParser.parse(body)
                #expect(body == JSONWriter.encode(parsed), "\(String(decoding: body, as: UTF8.self))")
                var fields = try #require(parsed.objectValue)
                for k in ["type", "at", "account_id", "campaign_id"] { fields[k] = nil }
                let again = DomainEvent(at: e.at, accountId: e.accountId, campaignId: e.campaignId,
                                        payload: try EventPayload(type: e.type.rawValue, fields: fields))
                #expect(again == e)
                #expect(e.fields == fields)
            }
        }
        #expect(seen.count >= 9)
    }

    @Test func everyOptionalFieldIsWrittenInOrder() throws {
        let touch = EventPayload.TouchpointDue(
            touchpointId: "c:1", step: 1, contactId: "p", contactEmail: "p@x.example", contactName: "Pat", channel: .call,
            attempt: 2, subject: "S", message: "M\u{1}", callScript: "M\u{1}", contactPhone: "+1", contactLinkedinURL: "u",
            reference: .init(contactId: "q", name: "Q"), reason: .roundRobin, explanation: "e", templateFallback: true,
            plannedAt: Date(timeIntervalSince1970: 1.5))
        let payloads: [EventPayload] = [
            .touchpointDue(touch),
            .campaignStarted(.init(contacts: [.init(id: "a", email: "a@x", name: "A", title: "T", role: .primary, score: 3),
                                              .init(id: "b", email: "b@x")], topic: .some(nil), company: "C")),
            .campaignStarted(.init(contacts: [.init(id: "a", email: "a@x")])),
            .contactAdded(.init(contactId: "a", email: "a@x", name: "A", score: 1)),
            .responseReceived(.init(contactId: nil, kind: .outOfOffice, email: "e", channel: "sms",
                                    returnAt: Date(timeIntervalSince1970: 86_400))),
            .campaignPaused(.init(reason: nil)), .campaignResumed(.init(reason: "operator")),
            .campaignCancelled(.init(reason: "operator")), .campaignCompleted(.init(reason: .maxTouchpoints, steps: 7)),
            .contactSuppressed(.init(contactId: "a", email: "a@x", reason: .suppressed)),
            .conflictDetected(.init(conflict: .messageNotClean, contactId: "a", channel: .linkedin)),
        ]
        for p in payloads {
            let e = DomainEvent(at: Date(timeIntervalSince1970: 0), accountId: "acc\"", campaignId: "c", payload: p)
            let body = EventBody.encode(e)
            let parsed = try JSONParser.parse(body)
            #expect(body == JSONWriter.encode(parsed), "\(String(decoding: body, as: UTF8.self))")
            #expect(try EventPayload(type: p.type.rawValue, fields: e.fields) == p)
        }
    }
}
