import AbmTestSupport
import AbmWire
import CampaignCore
@testable import CampaignGateway
import CampaignStore
import Foundation
import Testing

@Suite struct WireCodecTests {
    let decoder = WireDecoder()

    @Test func instantsHaveOneFixedFormat() throws {
        #expect(WireTime.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(WireTime.format(Date(timeIntervalSince1970: 1_772_460_000.9999)) == "2026-03-02T14:00:00.999Z")
        #expect(WireTime.format(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
        #expect(WireTime.format(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00.000Z")
        #expect(WireTime.parse("2026-03-02T14:00:00.000Z") == Date(timeIntervalSince1970: 1_772_460_000))
        #expect(WireTime.parse("2026-03-02T15:30:00+01:30") == Date(timeIntervalSince1970: 1_772_460_000))
        #expect(WireTime.parse("2026-03-02t14:00:00.5z") == Date(timeIntervalSince1970: 1_772_460_000.5))
        for bad in ["2026-03-02", "2026-02-29T00:00:00Z", "2026-03-02T24:00:00Z", "2026-03-02T14:00:00", "2026-03-02T14:00:00.Z", "x"] {
            #expect(WireTime.parse(bad) == nil, "\(bad)")
        }
        // Every millisecond instant of 1900…2200 round-trips through the format.
        var rng = SplitMix64(seed: 7)
        for _ in 0..<1000 {
            let ms = Int64.random(in: -2_208_988_800_000...7_258_118_400_000, using: &rng) // 1900…2200
            let d = Date(timeIntervalSince1970: Double(ms) / 1000)
            #expect(WireTime.parse(WireTime.format(d)).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } == ms)
        }
    }

    @Test func acksHaveTheContractShape() {
        #expect(String(decoding: Ack.accepted(id: "a1", campaignId: nil).encode(), as: UTF8.self) ==
            #"{"campaign_id":null,"id":"a1","status":"accepted","type":"ack","warnings":[]}"#)
        let stored = Ack.accepted(id: "a1", campaignId: "c1", warnings: ["w"]).encode()
        #expect(String(decoding: Ack.duplicate(ofStored: stored), as: UTF8.self) ==
            #"{"campaign_id":"c1","id":"a1","status":"duplicate","type":"ack","warnings":["w"]}"#)
        let rejected = Ack.rejected(AbmError(code: "invalid_json", message: "body is not valid JSON"))
        #expect(String(decoding: rejected.encode(), as: UTF8.self) ==
            #"{"campaign_id":null,"error":{"code":"invalid_json","message":"body is not valid JSON"},"id":null,"status":"rejected","type":"ack","warnings":[]}"#)
        // An error on a non-rejected ack is never written.
        #expect(!String(decoding: Ack(id: "x", status: .accepted, error: AbmError(code: "c", message: "m")).encode(), as: UTF8.self).contains("error"))
        #expect(replyFrames([1, 2]) == [[], [1, 2]])
    }

    @Test func eventBodiesKeepTheCommonKeysAuthoritative() throws {
        // Authoritative by construction: a typed payload cannot carry `type`, `seq` or `account_id`.
        let event = DomainEvent(at: Date(timeIntervalSince1970: 1_772_460_000), accountId: "a", campaignId: nil,
                                payload: .campaignPaused(.init(reason: "responded")))
        #expect(String(decoding: WireEvent.encodeBody(event), as: UTF8.self) ==
            #"{"account_id":"a","at":"2026-03-02T14:00:00.000Z","campaign_id":null,"reason":"responded","type":"campaign.paused"}"#)
        #expect(String(decoding: try numberedBody(12, WireEvent.encodeBody(event)), as: UTF8.self).hasPrefix(#"{"seq":12,"account_id":"a","#))
        #expect(try numberedBody(3, Array("{}".utf8)) == Array(#"{"seq":3}"#.utf8))
    }

    @Test func requestAccessorsDescribeTheRequest() throws {
        let pause = try decoder.decodeControl([[], Array(#"{"type":"pause","id":"p","account_id":"a"}"#.utf8)])
        #expect(pause == .pause(id: "p", accountId: "a", reason: nil))
        #expect(pause.space == .control && pause.repliesAreStored && pause.campaignCommand == .pause(reason: nil))
        let status = try decoder.decodeControl([[], Array(#"{"type":"status","id":"s","account_id":"a","extra":[1]}"#.utf8)])
        #expect(!status.repliesAreStored && status.accountId == "a")
        let lead = try decoder.decodeIngress([[], Array(#"{"type":"lead","id":"l","lead":{"account_id":"acme","email":null}}"#.utf8)])
        #expect(lead.space == .ingress && lead.accountId == "acme" && lead.type == "lead")
        // Nulls stand for absent optional fields; fractional-free doubles are accepted as integers.
        let events = try decoder.decodeControl([[], Array(#"{"type":"events","id":"e","after_seq":null,"limit":5.0}"#.utf8)])
        #expect(events == .events(id: "e", afterSeq: 0, limit: 5))
        let tick = try decoder.decodeControl([[], Array(#"{"type":"clock.advance","id":"t","seconds":0.5}"#.utf8)])
        #expect(tick == .clockAdvance(id: "t", seconds: 0.5))
    }

    @Test func theOriginalInboundKeysAreMapped() throws {
        let body = #"{"type":"lead","id":"i","lead":{"company_name":"Acme","contact_name":"Sarah Chen","contact_email":"sarah@Acme.Example","contact_title":"CTO","contact_phone":"+1 415 555 0100","inquiry_topic":"pipelines","qualification_tier":"HOT"}}"#
        guard case .lead(_, let account, let lead) = try decoder.decodeIngress([[], Array(body.utf8)]) else {
            Issue.record("not a lead")
            return
        }
        #expect(account == "acme.example")
        #expect(lead["account_id"] == "acme.example")
        #expect(lead["email"] == "sarah@Acme.Example" && lead["name"] == "Sarah Chen")
        #expect(lead["title"] == "CTO" && lead["phone"] == "+1 415 555 0100")
        // The lead's own keys win; an account_id given is kept.
        let both = #"{"type":"lead","id":"j","lead":{"account_id":"acme-corp","email":"a@acme.example","contact_email":"b@acme.example","contact_name":"Bo"}}"#
        guard case .lead(_, let account2, let lead2) = try decoder.decodeIngress([[], Array(both.utf8)]) else { return }
        #expect(account2 == "acme-corp" && lead2["email"] == "a@acme.example" && lead2["name"] == "Bo")
        // Neither an account_id nor an inbound address: still missing_field.
        #expect(throws: AbmError.self) {
            _ = try decoder.decodeIngress([[], Array(#"{"type":"lead","id":"k","lead":{"email":"a@acme.example"}}"#.utf8)])
        }
    }

    @Test func deeplyNestedBodiesAreInvalidJSON() {
        let nestedLead = Array(#"{"type":"lead","id":"d","lead":"#.utf8) + Array(String(repeating: #"{"a":"#, count: 100_000).utf8)
        for body in [[UInt8](repeating: 0x5B, count: 100_000), nestedLead] {
            do {
                _ = try decoder.decodeIngress([[], body])
                Issue.record("decoded")
            } catch {
                #expect(error.code == "invalid_json")
                #expect(error.message.contains("nested deeper than 32 levels"), "\(error)")
                #expect(error.requestId == nil)
            }
        }
    }

    /// Seeded fuzz: random bytes, mutated examples and random framing never crash the decoders and
    /// always end in a request or a `AbmError` with one of the stable codes.
    @Test(arguments: [UInt64(1), 2, 3, 4])
    func fuzzedInputAlwaysGivesAStableCode(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let corpus = try FileManager.default.contentsOfDirectory(atPath: Repo.examples.path)
            .filter { $0.contains(".request.") }.sorted().map { try Repo.example($0) }
        let wireCodes = Set([ErrorCode.badFraming, ErrorCode.invalidJSON, ErrorCode.missingField, ErrorCode.invalidField, ErrorCode.unknownType])
        var seen: [ErrorCode: Int] = [:]
        for _ in 0..<5_000 {
            var body: [UInt8]
            if Int.random(in: 0..<4, using: &rng) == 0 {
                body = (0..<Int.random(in: 0..<96, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                body = corpus.randomElement(using: &rng)!
                for _ in 0..<Int.random(in: 1...4, using: &rng) where !body.isEmpty {
                    let k = Int.random(in: 0..<body.count, using: &rng)
                    switch Int.random(in: 0..<5, using: &rng) {
                    case 0: body[k] = UInt8.random(in: 0...255, using: &rng)
                    case 1: body.remove(at: k)
                    case 2: body.insert(Array(#"{}[]",:\0-e.9"#.utf8).randomElement(using: &rng)!, at: k)
                    case 3: body = Array(body[..<k])
                    default: body.insert(contentsOf: body[k..<min(body.count, k + 16)], at: k)
                    }
                }
            }
            var frames: [[UInt8]] = [[], body]
            switch Int.random(in: 0..<20, using: &rng) {
            case 0: frames = [body]
            case 1: frames = [[], body, body]
            case 2: frames = [[0], body]
            case 3: frames = []
            default: break
            }
            for control in [false, true] {
                do {
                    _ = control ? try decoder.decodeControl(frames) : try decoder.decodeIngress(frames)
                    seen["ok", default: 0] += 1
                } catch {
                    #expect(wireCodes.contains(error.code), "\(error)")
                    #expect(!error.message.isEmpty)
                    seen[error.code, default: 0] += 1
                }
            }
        }
        // The mutations reach more than the parser.
        #expect(seen.count >= 5, "\(seen)")
    }

    /// Acks, replies and events the encoders produce validate against the JSON Schemas (checked by
    /// /usr/bin/python3 with python3-jsonschema, which `make deps` installs).
    @Test func encodedMessagesValidateAgainstTheSchemas() async throws {
        var samples: [(schema: String, instance: JSONValue)] = []
        func add(_ schema: String, _ bytes: [UInt8]) throws { samples.append((schema, try JSONParser.parse(bytes))) }
        try add("ack.schema.json", Ack.accepted(id: "a", campaignId: "c", warnings: ["w"]).encode())
        try add("ack.schema.json", Ack.accepted(id: "a", campaignId: nil).encode())
        try add("ack.schema.json", Ack.duplicate(ofStored: Ack.accepted(id: "a", campaignId: "c").encode()))
        // Every refusal of every invalid example, on both sockets, as an ack and as a reply.
        for e in try #require(try Repo.manifest["invalid"]?.arrayValue) {
            let body = try e["file"]?.stringValue.map { try Repo.example($0) } ?? []
            for control in [false, true] {
                do {
                    _ = control ? try decoder.decodeControl([[], body]) : try decoder.decodeIngress([[], body])
                } catch {
                    try add("ack.schema.json", Ack.rejected(error).encode())
                    try add("reply.error.schema.json", ControlReply.failure(error))
                }
            }
        }
        // The campaign object as the engine renders it (one touch sent, the next planned).
        let engine = CampaignEngine(config: .default)
        let now = Date(timeIntervalSince1970: 1_772_460_000.25)
        let lead: JSONValue = ["account_id": "a", "email": "p@a.example", "name": "Pat", "title": "CTO",
                               "phone": "+14155550100", "account_contacts": [["email": "q@a.example", "name": "Quinn"]]]
        let started = try engine.handle(AccountState(accountId: "a"), .lead(lead), now: now).get()
        let view = try #require(engine.status(started.state, now: now))
        for t in ["pause", "resume", "cancel", "status"] {
            try add("\(t).reply.schema.json", ControlReply.ok(id: "r", fields: ["campaign": view]))
        }
        try add("clock.advance.reply.schema.json", ControlReply.clock(id: "t", now: Date(timeIntervalSince1970: 1_772_460_000)))
        var bodies: [[UInt8]] = []
        for (k, file) in try FileManager.default.contentsOfDirectory(atPath: Repo.examples.path).filter({ $0.hasPrefix("event.") }).sorted().enumerated() {
            let event = try domainEvent(from: try Repo.json(Repo.examples.appendingPathComponent(file)))
            let body = try numberedBody(Int64(k + 1), WireEvent.encodeBody(event))
            bodies.append(body)
            try add("event.\(event.type).schema.json", body)
            try add("event.schema.json", body)
        }
        try add("events.reply.schema.json", ControlReply.events(id: "e", bodies: bodies, lastSeq: Int64(bodies.count)))
        try add("events.reply.schema.json", ControlReply.events(id: "e", bodies: [], lastSeq: 0))
        let stored = bodies.prefix(2).enumerated().map { k, b in
            StoredEvent(seq: Int64(k + 1), type: "t", accountId: "a", campaignId: nil, at: Date(), body: Data(b))
        }
        #expect(ControlReply.events(id: "e", stored: stored, lastSeq: 9) == ControlReply.events(id: "e", bodies: Array(bodies.prefix(2)), lastSeq: 9))
        #expect(samples.count > 100)
        let (status, output) = try await Repo.validateWithSchemas(samples)
        #expect(status == 0, "\(output)")
        #expect(output.contains("ok \(samples.count)"), "\(output)")

        // And the check is not vacuous: a wrong ack fails it.
        let (badStatus, badOutput) = try await Repo.validateWithSchemas([("ack.schema.json", ["type": "ack", "id": "x", "status": "ok", "campaign_id": nil, "warnings": []])])
        #expect(badStatus == 1 && badOutput.contains("status"), "\(badOutput)")
    }

    /// The Python side (protocols/client/tests/test_client.py: schemas, examples, the package's words, the
    /// pyzmq client against in-process fake servers) runs as part of `swift test`, with the system
    /// interpreter and the package's source; `make test` also runs its tests against a real server with
    /// the package installed.
    @Test func pythonProtocolTestsPass() async throws {
        let client = Repo.protocols.appendingPathComponent("client")
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = client.path
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        let (status, output) = try await Repo.python(["-m", "unittest", "discover", "-s", client.appendingPathComponent("tests").path,
                                                "-p", "test_client.py"], environment: environment)
        #expect(status == 0, "\(output)")
        #expect(output.contains("OK"), "\(output)")
    }
}
