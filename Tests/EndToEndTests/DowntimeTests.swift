import CampaignCore
import CampaignGateway
import Foundation
import Testing

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
