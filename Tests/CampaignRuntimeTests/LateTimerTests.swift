import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import Testing

@testable import CampaignRuntime

/// Issue #8, fault 1, end to end: a runtime restarted two months later must not send every missed touch at once.
@Suite struct LateTimerTests {
    @Test func aRestartTwoMonthsLaterSendsOneTouchAndShiftsTheRest() async throws {
        let path = temporaryDatabasePath()
        let (a, _, _) = try await startRuntime(try SQLiteStore(path: path))
        // One contact, so that every touch goes to the same person.
        #expect(await a.submitLead(requestId: "l1", lead: lead("solo", colleagues: 0)).status == .accepted)
        await a.settle()
        let before = try await allEvents(a)
        #expect(before.filter { $0.type == "touchpoint.due" }.count == 1)
        await a.shutdown()

        // Friday 2026-05-01 09:00Z, inside the UTC window; six touches were due meanwhile.
        let restart = monday9.addingTimeInterval(60 * day)
        let (b, _, _) = try await startRuntime(try SQLiteStore(path: path), at: restart)
        await b.settle()
        let afterRestart = try await allEvents(b).dropFirst(before.count).filter { $0.type == "touchpoint.due" }
        #expect(afterRestart.count == 1)
        let late = try #require(afterRestart.first)
        #expect(late.at == restart)
        let planned = try #require(late.json["planned_at"]?.stringValue.flatMap(WireTime.parse))
        #expect(planned < restart && planned > monday9)

        _ = try await b.advanceClock(seconds: 120 * day)
        let touches = try await allEvents(b).filter { $0.type == "touchpoint.due" }
        #expect(touches.count == 7)
        for (x, y) in zip(touches, touches.dropFirst()) {
            #expect(y.at.timeIntervalSince(x.at) >= 48 * 3_600, "touches at \(x.at) and \(y.at)")
        }
        await b.shutdown()
    }
}
