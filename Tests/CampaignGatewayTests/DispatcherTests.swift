import AbmWire
import NIOConcurrencyHelpers
import Testing
@testable import CampaignGateway

/// A gate the jobs wait on, opened by the test (no sleeps).
private final class Gate: Sendable {
    private let state = NIOLockedValueBox<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let open = state.withLockedValue { s -> Bool in
                if s.open { return true }
                s.waiters.append(c)
                return false
            }
            if open { c.resume() }
        }
    }
    func open() {
        let waiters = state.withLockedValue { s -> [CheckedContinuation<Void, Never>] in
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }
}

@Suite struct DispatcherTests {
    @Test func waitForRoomHoldsTheReaderUntilJobsFinish() async {
        let dispatcher = KeyedSerialDispatcher()
        let gate = Gate()
        let order = NIOLockedValueBox<[Int]>([])
        for n in 0..<6 {
            dispatcher.submit(key: n % 2 == 0 ? "a" : "b") {
                await gate.wait()
                order.withLockedValue { $0.append(n) }
            }
        }
        #expect(dispatcher.inFlight == 6)
        let reader = Task { await dispatcher.waitForRoom(below: 3) }
        // Room is only made by finishing jobs: open the gate, then the reader must get through.
        gate.open()
        await reader.value
        #expect(dispatcher.inFlight < 3)
        await dispatcher.drain()
        #expect(dispatcher.inFlight == 0)
        let done = order.withLockedValue { $0 }
        // Per key, submission order holds.
        #expect(done.filter { $0 % 2 == 0 } == [0, 2, 4])
        #expect(done.filter { $0 % 2 == 1 } == [1, 3, 5])
    }

    @Test func waitForRoomReturnsAtOnceWhenThereIsRoom() async {
        let dispatcher = KeyedSerialDispatcher()
        await dispatcher.waitForRoom(below: 1)
        #expect(dispatcher.inFlight == 0)
    }
}
