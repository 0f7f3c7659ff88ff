import AbmWire
import AbmClientKit
import CampaignCore
import Testing

/// A fake log: events 1…n, paged like control `events`.
private func event(_ seq: Int64, _ type: String = "touchpoint.due", account: String = "acme") -> JSONValue {
    ["seq": .int(seq), "type": .string(type), "at": "2026-03-02T14:00:00.000Z", "account_id": .string(account)]
}

private final class FakeLog {
    var events: [JSONValue]
    var fetches: [(Int64, Int)] = []
    init(_ events: [JSONValue]) { self.events = events }
    func fetch(_ after: Int64, _ limit: Int) -> EventPage {
        fetches.append((after, limit))
        let page = events.filter { ($0["seq"].flatMap { if case .int(let n) = $0 { n } else { nil } } ?? 0) > after }.prefix(limit)
        return EventPage(events: Array(page), lastSeq: Int64(events.count))
    }
}

private func seqs(_ events: [JSONValue]) -> [Int64] {
    events.compactMap { if case .int(let n)? = $0["seq"] { n } else { nil } }
}

@Suite struct EventTailTests {
    @Test func sequencerDecisions() {
        var s = EventSequencer()
        #expect(s.admit(5) == .deliver)
        #expect(s.admit(6) == .deliver)
        #expect(s.admit(6) == .duplicate)
        #expect(s.admit(3) == .duplicate)
        #expect(s.admit(9) == .gap(after: 6, through: 8))
        #expect(s.last == 9)
        var r = EventSequencer(after: 0)
        #expect(r.replayed(1) && r.replayed(2) && !r.replayed(2))
        #expect(r.admit(2) == .duplicate && r.admit(3) == .deliver)
    }

    @Test func gapsAreFilledFromTheLogInOrder() throws {
        let log = FakeLog((1...10).map { event($0) })
        var tail = EventTail(filter: EventFilter(), after: nil, pageSize: 2) { after, limit in log.fetch(after, limit) }
        var out: [JSONValue] = []
        for seq: Int64 in [3, 4, 8, 8, 5, 10] { try tail.live(event(seq)) { out.append($0) } }
        // 3 starts the position; 5…7 fetched (two pages) before 8; 9 fetched before 10; dupes dropped.
        #expect(seqs(out) == [3, 4, 5, 6, 7, 8, 9, 10])
        #expect(log.fetches.map(\.0) == [4, 6, 8])
    }

    @Test func catchUpReplaysThenLiveSkipsTheOverlap() throws {
        let log = FakeLog((1...5).map { event($0) })
        var tail = EventTail(filter: EventFilter(), after: 1, pageSize: 2) { after, limit in log.fetch(after, limit) }
        var out: [JSONValue] = []
        try tail.catchUp { out.append($0) }
        #expect(seqs(out) == [2, 3, 4, 5])
        // Live events already covered by the replay (subscribed before it) are dropped, then it goes on.
        log.events.append(event(6))
        for seq: Int64 in [4, 5, 6] { try tail.live(event(seq)) { out.append($0) } }
        #expect(seqs(out) == [2, 3, 4, 5, 6])
    }

    @Test func filterAppliesAfterSequencing() throws {
        let types = ["campaign.started", "touchpoint.due", "campaign.paused", "touchpoint.due"]
        let log = FakeLog(types.enumerated().map { event(Int64($0.offset + 1), $0.element, account: $0.offset == 3 ? "globex" : "acme") })
        var tail = EventTail(filter: EventFilter(typePrefixes: ["touchpoint."], accountId: "acme"), after: 0) { after, limit in
            log.fetch(after, limit)
        }
        var out: [JSONValue] = []
        try tail.catchUp { out.append($0) }
        #expect(seqs(out) == [2])
        // Filtered-out events still move the position: no refetch for them.
        log.events.append(event(5))
        try tail.live(event(5)) { out.append($0) }
        #expect(seqs(out) == [2, 5])
        #expect(log.fetches.count == 1)
    }

    @Test func eventLineIsReadable() {
        var e = event(42)
        if case .object(var o) = e {
            o["step"] = 1; o["channel"] = "email"; o["contact_email"] = "sarah@acme.example"; o["reason"] = "primary_focus"
            e = .object(o)
        }
        #expect(EventLine.render(e) == "#42 2026-03-02T14:00:00.000Z touchpoint.due     acme  step 1 email → sarah@acme.example [primary_focus]")
    }
}
