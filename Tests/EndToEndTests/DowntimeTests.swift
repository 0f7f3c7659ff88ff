import AbmWire
import CampaignCore
import CampaignGateway
import Foundation
import Testing
import ZeroMQ

@Suite struct DowntimeTests {
    /// `abm serve` stopped for two months, then started again (`--virtual-clock` at the later date, as a
    /// real restart would find the wall clock): the missed touch goes out once, at the restart, with its
    /// planned time; the rest follow at their intervals from then — never two touches to one person closer
    /// than `response_timeout_hours` (48 h).
    @Test func aRestartTwoMonthsLaterSendsTheMissedTouchOnceAndSpacesTheRest() async throws {
        let dir = ServerProcess.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let before = try await ServerProcess.start(dataDirectory: dir, virtualClock: "2026-03-02T09:00:00Z")
        var c = try Clients(before.endpoints)
        #expect(try await c.ingress.call(lead(id: "l", account: "sleepy"))["status"] == "accepted")
        await c.close()
        #expect(await before.terminate() == 0)

        let restart = "2026-05-04T09:00:00.000Z"  // a Monday, nine weeks later
        let after = try await ServerProcess.start(dataDirectory: dir, virtualClock: restart)
        c = try Clients(after.endpoints)
        _ = try await c.advance(days: 60)
        let touches = try await c.replay().filter { $0["type"] == "touchpoint.due" && $0["account_id"] == "sleepy" }
        await c.close()
        #expect(await after.terminate() == 0)

        #expect(touches.count >= 3)
        let stamps = touches.compactMap { $0["at"]?.stringValue.flatMap(WireTime.parse) }
        #expect(stamps.count == touches.count)
        // The first touch after the restart: once, at the restart, carrying its planned time in March.
        let late = try #require(touches.first { $0["at"]?.stringValue == restart })
        #expect(touches.filter { $0["at"]?.stringValue == restart }.count == 1)
        let planned = try #require(late["planned_at"]?.stringValue.flatMap(WireTime.parse))
        #expect(planned < WireTime.parse("2026-03-31T00:00:00Z")!)
        // Per person, touches at least 48 h apart, whatever the downtime.
        var lastByPerson: [String: Date] = [:]
        for (t, at) in zip(touches, stamps) {
            let who = t["contact_email"]?.stringValue ?? "?"
            if let previous = lastByPerson[who] {
                #expect(at.timeIntervalSince(previous) >= 48 * 3600, "\(who): \(previous) then \(at)")
            }
            lastByPerson[who] = at
        }
    }
}

@Suite struct ClockCrashTests {
    /// `kill -9` in the middle of a long `clock.advance` (the clock is stored when an advance ends): started
    /// again with the same `--virtual-clock`, the server's clock is not behind the events already in the log,
    /// so nothing new is stamped before them.
    @Test func theVirtualClockNeverRunsBackwardsAfterAKillMidAdvance() async throws {
        let dir = ServerProcess.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let start = "2026-03-02T09:00:00Z"
        let server = try await ServerProcess.start(dataDirectory: dir, virtualClock: start)
        let c = try Clients(server.endpoints)
        let leads = (0..<1500).map { ZMQMessage([[], JSONWriter.encode(lead(id: "l\($0)", account: "acct\($0)"))]) }
        #expect(await c.ingress.socket.send(batch: leads).isEmpty)
        for _ in leads { _ = try await c.ingress.receiveJSON() }
        // The advance is not awaited (its own connection): the kill comes once it has committed events a week
        // or more ahead, long before it ends.
        let advancer = try Peer.dealer(server.endpoints.control)
        try await advancer.send(["type": "clock.advance", "id": "far", "seconds": .int(60 * 86_400)])
        let weekLater = WireTime.parse("2026-03-09T09:00:00Z")!
        var newest = WireTime.parse(start)!
        for _ in 0..<2000 where newest < weekLater {
            let r = try await c.control.call(["type": "events", "id": .string(UUID().uuidString), "after_seq": .int(0), "limit": 1])
            let last = r["last_seq"]?.int ?? 0
            let tail = try await c.control.call(["type": "events", "id": .string(UUID().uuidString),
                                                  "after_seq": .int(max(0, last - 1)), "limit": 1])
            if let at = tail["events"]?.arrayValue?.last?["at"]?.stringValue.flatMap(WireTime.parse) { newest = at }
        }
        await server.kill9()
        #expect(await advancer.mailbox.take(within: 0.2) == nil, "the advance ended before the kill")
        await advancer.close()
        await c.close()
        #expect(newest >= weekLater, "the advance never got a week ahead before the kill")

        let restarted = try await ServerProcess.start(dataDirectory: dir, virtualClock: start)
        let d = try Clients(restarted.endpoints)
        let before = try await d.replay()
        let stamps = before.compactMap { $0["at"]?.stringValue.flatMap(WireTime.parse) }
        let newestBefore = try #require(stamps.max())
        #expect(try await d.ingress.call(lead(id: "after", account: "after"))["status"] == "accepted")
        let after = try await d.replay(after: before.last?["seq"]?.int ?? 0)
        #expect(!after.isEmpty)
        for e in after {
            let at = try #require(e["at"]?.stringValue.flatMap(WireTime.parse))
            #expect(at >= newestBefore, "\(e["type"]?.stringValue ?? "?") at \(at), before \(newestBefore)")
        }
        await d.close()
        #expect(await restarted.terminate() == 0)
    }
}
