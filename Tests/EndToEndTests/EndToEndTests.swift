import AbmWire
import CampaignCore
import CampaignGateway
import Foundation
import Testing
import ZeroMQ

/// `abm serve` as a separate process over tcp loopback: the product as other services see it.
@Suite(.timeLimit(.minutes(1)))
struct EndToEndTests {
    static let t0 = WireTime.parse("2026-03-02T09:00:00Z")!

    @Test func wholeCampaignUnderTheVirtualClock() async throws {
        let dir = ServerProcess.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let config = dir + "/abm.json"
        let intervals = [1, 2, 3, 4]
        try Data(#"{"campaign":{"max_touchpoints":5,"touchpoint_intervals_days":[1,2,3,4]},"runtime":{"max_resident_campaigns":1000}}"#.utf8)
            .write(to: URL(fileURLWithPath: config))
        let server = try await ServerProcess.start(dataDirectory: dir + "/data", config: config)
        let c = try Clients(server.endpoints)

        let ack = try await c.ingress.call(lead(id: "whole-1", account: "acme",
                                                colleagues: [colleague("acme", 1, name: "Sam Smith")]))
        #expect(ack["status"] == "accepted")
        let advanced = try await c.advance(days: 60)
        #expect(advanced["now"] == "2026-05-01T09:00:00.000Z")

        let events = try await c.replay()
        let touches = events.filter { $0["type"] == "touchpoint.due" }
        #expect(touches.compactMap { $0["step"]?.int } == [1, 2, 3, 4, 5])
        let times = touches.compactMap { $0["at"]?.stringValue }.compactMap(WireTime.parse)
        #expect(times.first == Self.t0)
        for k in 1..<times.count {
            let gapDays = times[k].timeIntervalSince(times[k - 1]) / 86_400
            // At least the configured interval; later only by the send window / response timeout.
            #expect(gapDays >= Double(intervals[k - 1]) && gapDays <= Double(intervals[k - 1]) + 5, "step \(k + 1): \(gapDays) days")
        }
        #expect(Set(touches.compactMap { $0["touchpoint_id"]?.stringValue }).count == 5)
        let last = try #require(events.last)
        #expect(last["type"] == "campaign.completed")
        #expect(events.map { $0["seq"]?.int } == (1...Int64(events.count)).map { $0 })
        let status = try await c.control.call(["type": "status", "id": "st", "account_id": "acme"])
        #expect(status["campaign"]?["status"] == "completed")
        #expect(status["campaign"]?["steps"] == 5)

        await c.close()
        #expect(await server.terminate() == 0)
    }

    @Test func colleagueReplyPausesTheCampaign() async throws {
        let dir = ServerProcess.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try await ServerProcess.start(dataDirectory: dir)
        let c = try Clients(server.endpoints)
        let ack = try await c.ingress.call(lead(id: "ap-1", account: "initech",
                                                colleagues: [colleague("initech", 1, name: "Bill Lumbergh")]))
        #expect(ack["status"] == "accepted")
        _ = try await c.advance(days: 4)
        let reply = try await c.ingress.call([
            "type": "response", "id": "ap-2", "account_id": "initech", "contact_email": "c1@initech.example.com",
            "kind": "reply", "text": "Let's talk",
        ])
        #expect(reply["status"] == "accepted")
        let atReply = try await c.replay()
        let lastSeqAtAck = try #require(atReply.last?["seq"]?.int)
        #expect(atReply.contains { $0["type"] == "response.received" })
        #expect(atReply.contains { $0["type"] == "campaign.paused" })

        _ = try await c.advance(days: 60)
        let after = try await c.replay(after: lastSeqAtAck)
        #expect(!after.contains { $0["type"] == "touchpoint.due" }, "\(after)")
        let status = try await c.control.call(["type": "status", "id": "st", "account_id": "initech"])
        #expect(status["campaign"]?["status"] == "paused")
        await c.close()
        #expect(await server.terminate() == 0)
    }

    @Test func killNineMidBurstLosesNothingAcknowledged() async throws {
        let dir = ServerProcess.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try await ServerProcess.start(dataDirectory: dir)
        let c = try Clients(server.endpoints)
        // Under the per-connection window (4,096); the kill comes after the first acks, while later batches of
        // the burst are still being decided and committed.
        let n = 4000
        let requests = (0..<n).map { lead(id: "k-\($0)", account: "k-\($0 % 1000)") }
        _ = await c.ingress.socket.send(batch: requests.map { ZMQMessage([[], JSONWriter.encode($0)]) })
        var acked: [String: JSONValue] = [:]
        while acked.count < 10 {
            let ack = try await c.ingress.receiveJSON()
            #expect(ack["status"] == "accepted")
            acked[ack["id"]!.stringValue!] = ack["campaign_id"]
        }
        await server.kill9()
        // Acks that were already on their way in.
        while let m = await c.ingress.mailbox.take(within: 0.2) {
            let ack = try JSONParser.parse(m.frames.last!)
            acked[ack["id"]!.stringValue!] = ack["campaign_id"]
        }
        await c.close()
        // The kill hit the burst in the middle (else this test would prove less than it claims).
        #expect(acked.count < n, "all \(n) acked before the kill")
        print("e2e kill -9: \(acked.count) of \(n) acked before the kill")

        let restarted = try await ServerProcess.start(dataDirectory: dir)
        let d = try Clients(restarted.endpoints)
        let log = try await d.replay()
        #expect(log.map { $0["seq"]?.int } == (1...Int64(log.count)).map { $0 }, "gap-free from 1")
        let started = Set(log.filter { $0["type"] == "campaign.started" }.compactMap { $0["account_id"]?.stringValue })
        let byId = Dictionary(uniqueKeysWithValues: requests.map { ($0["id"]!.stringValue!, $0) })
        for id in acked.keys {
            #expect(started.contains(byId[id]!["lead"]!["account_id"]!.stringValue!), "\(id) acked but not stored")
        }
        // Resending every acknowledged request: `duplicate` with the original campaign, nothing new stored.
        _ = await d.ingress.socket.send(batch: acked.keys.sorted().map { ZMQMessage([[], JSONWriter.encode(byId[$0]!)]) })
        for _ in 0..<acked.count {
            let ack = try await d.ingress.receiveJSON()
            #expect(ack["status"] == "duplicate", "\(ack)")
            #expect(ack["campaign_id"] == acked[ack["id"]!.stringValue!])
        }
        #expect(try await d.replay() == log)
        await d.close()
        #expect(await restarted.terminate() == 0)
    }

    @Test func liveSubscriberSeesExactlyWhatReplayReturns() async throws {
        let dir = ServerProcess.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try await ServerProcess.start(dataDirectory: dir)
        let c = try Clients(server.endpoints)
        let sub = try await c.connectedSubscriber(server.endpoints)
        let from = try #require(try await c.replay().last?["seq"]?.int)
        for k in 0..<20 {
            let ack = try await c.ingress.call(lead(id: "live-\(k)", account: "live-\(k % 7)",
                                                    colleagues: [colleague("live-\(k % 7)", k, name: "Pat Lee")]))
            #expect(ack["status"] == "accepted")
        }
        _ = try await c.advance(days: 20)
        let replayed = try await c.replay(after: from)
        #expect(replayed.count > 20)
        var live: [JSONValue] = []
        for _ in 0..<replayed.count {
            let m = try #require(await sub.mailbox.take(within: 10))
            let body = try JSONParser.parse(m.frames[1])
            #expect(String(decoding: m.frames[0], as: UTF8.self) == "\(body["type"]!.stringValue!)/\(body["account_id"]!.stringValue!)")
            live.append(body)
        }
        #expect(live == replayed)
        #expect(await sub.mailbox.take(within: 0.1) == nil)
        await sub.close()
        await c.close()
        #expect(await server.terminate() == 0)
    }
}
