import AbmTestSupport
import AbmWire
import CampaignCore
import CampaignStore
@testable import CampaignGateway
import Foundation
import Testing
import ZeroMQ

/// The server over real ZeroMQ (tcp loopback, ephemeral ports), in process, on a virtual clock.
@Suite(.timeLimit(.minutes(1)))
struct ServerTests {
    @Test func leadIsAckedAndItsEventsArePublished() async throws {
        let f = try await ServerFixture.start()
        let sub = try await f.connectedSubscriber()
        let ack = try await f.ingress.call(lead(id: "req-1", account: "acme"))
        #expect(ack["type"] == "ack")
        #expect(ack["id"] == "req-1")
        #expect(ack["status"] == "accepted")
        let campaignId = try #require(ack["campaign_id"]?.stringValue)
        #expect(ack["warnings"] == .array([]))

        var topics: [String] = []
        while !topics.contains("touchpoint.due/acme") {
            let m = try await sub.receiveMessage()
            topics.append(String(decoding: m.frames[0], as: UTF8.self))
            let body = try JSONParser.parse(m.frames[1])
            #expect(body["account_id"] == "acme")
            #expect(body["campaign_id"]?.stringValue == campaignId)
        }
        #expect(topics.first == "campaign.started/acme")
        await sub.close()
        await f.stop()
    }

    @Test func repeatedIdIsDuplicateWithTheSameCampaign() async throws {
        let f = try await ServerFixture.start()
        let first = try await f.ingress.call(lead(id: "dup-1", account: "globex"))
        let before = try await f.events()
        // Whatever the body: the id decides.
        let again = try await f.ingress.call(lead(id: "dup-1", account: "initech"))
        #expect(first["status"] == "accepted")
        #expect(again["status"] == "duplicate")
        #expect(again["campaign_id"] == first["campaign_id"])
        #expect(try await f.events() == before)
        await f.stop()
    }

    @Test func pipelinedBurstGetsEveryAck() async throws {
        let f = try await ServerFixture.start()
        let n = 2000
        let messages = (0..<n).map { k in
            ZMQMessage([[], JSONWriter.encode(lead(id: "burst-\(k)", account: "acct-\(k % 500)"))])
        }
        #expect(await f.ingress.socket.send(batch: messages).isEmpty)
        var seen: [String: String] = [:]
        for _ in 0..<n {
            let ack = try await f.ingress.receiveJSON()
            seen[ack["id"]!.stringValue!] = ack["status"]!.stringValue!
        }
        #expect(seen.count == n)
        // The first lead of each account starts its campaign; later ones merge into it (accepted too).
        #expect(seen.values.allSatisfy { $0 == "accepted" })
        await f.stop()
    }

    @Test func requestsForOneAccountApplyInArrivalOrder() async throws {
        let f = try await ServerFixture.start()
        // lead then response, pipelined: the response must find the campaign the lead started.
        var messages: [ZMQMessage] = []
        for k in 0..<200 {
            let account = "ord-\(k)"
            messages.append(ZMQMessage([[], JSONWriter.encode(lead(id: "l-\(k)", account: account))]))
            messages.append(ZMQMessage([[], JSONWriter.encode([
                "type": "response", "id": .string("r-\(k)"), "account_id": .string(account),
                "contact_email": .string("jane@\(account).example.com"), "kind": "out_of_office",
            ])]))
        }
        #expect(await f.ingress.socket.send(batch: messages).isEmpty)
        for _ in 0..<messages.count {
            let ack = try await f.ingress.receiveJSON()
            #expect(ack["status"] == "accepted", "\(ack)")
        }
        await f.stop()
    }

    @Test func oneAccountFloodIsAppliedAndAckedInOrder() async throws {
        let f = try await ServerFixture.start()
        let n = 300
        let messages = (0..<n).map { k in ZMQMessage([[], JSONWriter.encode(lead(id: "fl-\(k)", account: "flood"))]) }
        #expect(await f.ingress.socket.send(batch: messages).isEmpty)
        var ids: [String] = []
        for _ in 0..<n {
            let ack = try await f.ingress.receiveJSON()
            #expect(ack["status"] == "accepted")
            ids.append(ack["id"]?.stringValue ?? "")
        }
        // One account: one request at a time, in arrival order, so the acks come back in that order.
        #expect(ids == (0..<n).map { "fl-\($0)" })
        await f.stop()
    }

    @Test func malformedRequestsAreRejectedAndStoreNothing() async throws {
        let f = try await ServerFixture.start()
        _ = try await f.ingress.call(lead(id: "base", account: "base"))
        let eventsBefore = try await f.events()
        let statusBefore = try await f.control.call(["type": "status", "id": "s0", "account_id": "base"])

        let deep = String(repeating: "[", count: 100_000)
        var random = SplitMix64(seed: 7)
        let noise = (0..<300).map { _ in UInt8.random(in: 0...255, using: &random) }
        let cases: [(String, [[UInt8]], String)] = [
            ("not json", [[], Array("hello".utf8)], "invalid_json"),
            ("invalid utf-8", [[], [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D]], "invalid_json"),
            ("array", [[], Array(#"[{"type":"lead"}]"#.utf8)], "invalid_json"),
            ("deeply nested", [[], Array(#"{"type":"lead","id":"x","lead":"#.utf8) + Array(deep.utf8)], "invalid_json"),
            ("missing id", [[], Array(#"{"type":"lead","lead":{"account_id":"a"}}"#.utf8)], "missing_field"),
            ("missing lead", [[], Array(#"{"type":"lead","id":"m1"}"#.utf8)], "missing_field"),
            ("mistyped account", [[], Array(#"{"type":"lead","id":"m2","lead":{"account_id":7}}"#.utf8)], "invalid_field"),
            ("mistyped kind", [[], Array(#"{"type":"response","id":"m3","account_id":"base","contact_email":"x@y.z","kind":"maybe"}"#.utf8)], "invalid_field"),
            ("unknown type", [[], Array(#"{"type":"hello","id":"m4"}"#.utf8)], "unknown_type"),
            ("control on ingress", [[], Array(#"{"type":"pause","id":"m5","account_id":"base"}"#.utf8)], "unknown_type"),
            ("two body frames", [[], Array("{}".utf8), Array("{}".utf8)], "bad_framing"),
            ("no body", [[]], "bad_framing"),
            ("missing delimiter", [Array(#"{"type":"lead","id":"m6"}"#.utf8)], "bad_framing"),
            ("random bytes", [[], noise], "invalid_json"),
            ("empty body", [[], []], "invalid_json"),
        ]
        for (name, frames, code) in cases {
            try await f.ingress.sendFrames(frames)
            let ack = try await f.ingress.receiveJSON()
            #expect(ack["status"] == "rejected", "\(name)")
            #expect(ack["error"]?["code"]?.stringValue == code, "\(name): \(ack)")
            #expect(ack["campaign_id"] == .null, "\(name)")
        }
        // Control refuses alike, with ok:false.
        try await f.control.sendFrames([[], Array("nope".utf8)])
        let reply = try await f.control.receiveJSON()
        #expect(reply["ok"] == false)
        #expect(reply["error"]?["code"] == "invalid_json")

        // Over 1 MiB: libzmq drops the message and the connection; no ack. A new client is served.
        let big = TestPeer.self
        let oversized = try big.dealer(f.server.endpoints.ingress)
        let huge = Array(#"{"type":"lead","id":"huge","lead":{"account_id":"big","pad":""#.utf8)
            + [UInt8](repeating: 0x61, count: (1 << 20) + 10) + Array("\"}}".utf8)
        try await oversized.sendFrames([[], huge])
        let fresh = try TestPeer.dealer(f.server.endpoints.ingress)
        let ok = try await fresh.call(lead(id: "after", account: "after"))
        #expect(ok["status"] == "accepted")
        #expect(await oversized.mailbox.take(within: 0.2) == nil)
        await oversized.close()
        await fresh.close()

        let statusAfter = try await f.control.call(["type": "status", "id": "s1", "account_id": "base"])
        #expect(statusAfter["campaign"] == statusBefore["campaign"])
        let eventsAfter = try await f.events()
        // Only the `after` lead's events were added.
        #expect(Array(eventsAfter.prefix(eventsBefore.count)) == eventsBefore)
        #expect(eventsAfter.dropFirst(eventsBefore.count).allSatisfy { $0["account_id"] == "after" })
        #expect(f.server.statistics.malformed == cases.count + 1)
        await f.stop()
    }

    @Test func controlCommands() async throws {
        let f = try await ServerFixture.start()
        let ack = try await f.ingress.call(lead(id: "c-lead", account: "umbrella"))
        #expect(ack["status"] == "accepted")

        let paused = try await f.control.call(["type": "pause", "id": "p1", "account_id": "umbrella", "reason": "legal"])
        #expect(paused["ok"] == true)
        #expect(paused["campaign"]?["status"] == "paused")
        let pausedAgain = try await f.control.call(["type": "pause", "id": "p1", "account_id": "umbrella"])
        #expect(pausedAgain == paused)  // stored reply replayed

        // No touch while paused, whatever the clock does.
        let stepsPaused = paused["campaign"]?["steps"]
        let advanced = try await f.control.call(["type": "clock.advance", "id": "adv-1", "seconds": 864_000])
        #expect(advanced["ok"] == true)
        #expect(advanced["now"] == "2026-03-12T09:00:00.000Z")
        let replayed = try await f.control.call(["type": "clock.advance", "id": "adv-1", "seconds": 864_000])
        #expect(replayed == advanced)
        #expect(f.server.virtualClock?.now == WireTime.parse("2026-03-12T09:00:00Z"))
        let status = try await f.control.call(["type": "status", "id": "st", "account_id": "umbrella"])
        #expect(status["campaign"]?["steps"] == stepsPaused)

        let resumed = try await f.control.call(["type": "resume", "id": "r1", "account_id": "umbrella"])
        #expect(resumed["campaign"]?["status"] == "active")
        let cancelled = try await f.control.call(["type": "cancel", "id": "x1", "account_id": "umbrella"])
        #expect(cancelled["campaign"]?["status"] == "cancelled")
        let refused = try await f.control.call(["type": "pause", "id": "p2", "account_id": "umbrella"])
        #expect(refused["ok"] == false)
        #expect(refused["error"]?["code"] == "invalid_state")
        let unknown = try await f.control.call(["type": "status", "id": "st2", "account_id": "nobody"])
        #expect(unknown["error"]?["code"] == "not_found")
        let unknownPause = try await f.control.call(["type": "pause", "id": "p3", "account_id": "nobody"])
        #expect(unknownPause["error"]?["code"] == "not_found")

        let page = try await f.control.call(["type": "events", "id": "e1", "after_seq": 0, "limit": 2])
        let events = try #require(page["events"]?.arrayValue)
        #expect(events.map { $0["seq"] } == [1, 2])
        #expect((page["last_seq"]?.intValue ?? 0) > 2)
        let types = try await f.events().compactMap { $0["type"]?.stringValue }
        #expect(types.contains("campaign.paused") && types.contains("campaign.resumed") && types.contains("campaign.cancelled"))
        await f.stop()
    }

    @Test func clockAdvanceNeedsTheVirtualClock() async throws {
        let f = try await ServerFixture.start(virtualClock: nil)
        let r = try await f.control.call(["type": "clock.advance", "id": "a", "seconds": 60])
        #expect(r["ok"] == false)
        #expect(r["error"]?["code"] == "not_virtual_clock")
        #expect(r["id"] == "a")
        await f.stop()
    }

    /// A `clock.advance` interrupted by a crash (its target stored, the clock part of the way there) and resent
    /// with the same id goes to the same instant, not `seconds` past where the restart left the clock.
    @Test func aResentClockAdvanceGoesToTheSameInstant() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("abm-gw-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let f = try await ServerFixture.start(dataDirectory: dir)
        // As the crashed server left it: the target of id `a` stored, the clock half-way there.
        try await f.server.store.setMeta("clock.advance.target/a", "2026-03-02T10:00:00.000Z")
        _ = try await f.control.call(["type": "clock.advance", "id": "half", "seconds": 1800])
        let resent = try await f.control.call(["type": "clock.advance", "id": "a", "seconds": 3600])
        #expect(resent["now"] == "2026-03-02T10:00:00.000Z", "\(resent)")
        // Once answered, the same id replays its reply; a new id advances from the clock.
        #expect(try await f.control.call(["type": "clock.advance", "id": "a", "seconds": 3600])["now"] == "2026-03-02T10:00:00.000Z")
        #expect(try await f.control.call(["type": "clock.advance", "id": "b", "seconds": 60])["now"] == "2026-03-02T10:01:00.000Z")
        await f.stop()
    }

    /// Personal data is in the data directory: it is 0700 (also when it existed as 0755) and every file the
    /// server writes there (database, WAL, shared memory, lock) is 0600.
    @Test func theDataDirectoryIsOwnerOnly() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("abm-gw-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func mode(_ path: String) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
        }
        for existing in [false, true] {
            if existing { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir) }
            let f = try await ServerFixture.start(dataDirectory: dir)
            #expect(try await f.ingress.call(lead(id: "p-\(existing)", account: "p"))["status"] == "accepted")
            #expect(try mode(dir) == 0o700)
            let files = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(Set(files).isSuperset(of: [StoreLock.fileName, ServerOptions.databaseFileName,
                                               ServerOptions.databaseFileName + "-wal", ServerOptions.databaseFileName + "-shm"]))
            for file in files { #expect(try mode(dir + "/" + file) == 0o600, "\(file)") }
            await f.stop()
        }
    }

    @Test func restartOnTheSameDataDirectoryKeepsEverything() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("abm-gw-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let f = try await ServerFixture.start(dataDirectory: dir)
        let ack = try await f.ingress.call(lead(id: "keep-1", account: "stark"))
        _ = try await f.control.call(["type": "clock.advance", "id": "adv", "seconds": .int(86_400 * 5)])
        let events = try await f.events()
        await f.stop()

        let g = try await ServerFixture.start(dataDirectory: dir)
        let again = try await g.ingress.call(lead(id: "keep-1", account: "stark"))
        #expect(again["status"] == "duplicate")
        #expect(again["campaign_id"] == ack["campaign_id"])
        #expect(try await g.events() == events)
        // The clock resumed at the stored time, not at t0.
        #expect(g.server.virtualClock?.now == WireTime.parse("2026-03-07T09:00:00Z"))
        await g.stop()
    }

    @Test func stopDrainsRequestsInFlight() async throws {
        let f = try await ServerFixture.start()
        let n = 100
        let messages = (0..<n).map { k in ZMQMessage([[], JSONWriter.encode(lead(id: "d-\(k)", account: "d-\(k)"))]) }
        #expect(await f.ingress.socket.send(batch: messages).isEmpty)
        // Wait for the first ack (the server is reading), then stop while the rest are in flight.
        _ = try await f.ingress.receiveJSON()
        await f.server.stop()
        // Every request the server took got its ack before the sockets closed.
        var acked = 1
        while await f.ingress.mailbox.take(within: 0.5) != nil { acked += 1 }
        let stored = try await f.server.store.lastSeq()
        #expect(acked >= 1)
        // Each accepted lead stored events; none was stored without its ack being sent.
        let accounts = Set(try await f.server.store.events(afterSeq: 0, limit: 100_000).map(\.accountId))
        #expect(accounts.count == acked, "stored \(accounts.count) campaigns, acked \(acked), last seq \(stored)")
        await f.ingress.close()
        await f.control.close()
    }
}
