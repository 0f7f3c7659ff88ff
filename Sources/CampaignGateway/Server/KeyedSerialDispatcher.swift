import AbmWire
import NIOConcurrencyHelpers

/// Runs jobs concurrently across keys and one at a time, in submission order, within a key.
///
/// Why: the runtime's `submitLead`/`command` are async and await the store before they reach the
/// campaign actor, so two requests for one account started as separate tasks could overtake each
/// other. Chaining them per account keeps "arrived in order → applied in order" while requests for
/// different accounts proceed in parallel (and fill the runtime's group commits).
///
/// Also counts jobs in flight, so that `drain()` can wait for all of them (graceful stop).
final class KeyedSerialDispatcher: Sendable {
    typealias Job = @Sendable () async -> Void

    /// The jobs queued behind a running one; `head` instead of `removeFirst` keeps a long queue (one
    /// account flooded with requests) linear.
    private struct Queue {
        var jobs: [Job] = []
        var head = 0

        mutating func pop() -> Job? {
            guard head < jobs.count else { return nil }
            defer { head += 1 }
            return jobs[head]
        }
    }

    private struct State {
        /// Keys with a running job → the jobs queued behind it.
        var queues: [String: Queue] = [:]
        var inFlight = 0
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
        /// Readers waiting for fewer than `limit` jobs in flight (back-pressure).
        var roomWaiters: [(limit: Int, continuation: CheckedContinuation<Void, Never>)] = []

        /// Takes the room waiters that may go on now.
        mutating func takeRoomWaiters() -> [CheckedContinuation<Void, Never>] {
            guard !roomWaiters.isEmpty else { return [] }
            var ready: [CheckedContinuation<Void, Never>] = []
            roomWaiters.removeAll { w in
                guard inFlight < w.limit else { return false }
                ready.append(w.continuation)
                return true
            }
            return ready
        }
    }

    private let state = NIOLockedValueBox(State())

    /// Jobs submitted and not finished yet.
    var inFlight: Int { state.withLockedValue { $0.inFlight } }

    /// Runs `job` after every job submitted earlier with the same `key` has finished, then `then`.
    func submit(key: String, then: @escaping @Sendable () -> Void, _ job: @escaping Job) {
        submit(key: key) { await job(); then() }
    }

    /// Runs `job`, then `then`, concurrently with everything else.
    func submitUnordered(then: @escaping @Sendable () -> Void, _ job: @escaping Job) {
        submitUnordered { await job(); then() }
    }

    /// Runs `job` after every job submitted earlier with the same `key` has finished.
    func submit(key: String, _ job: @escaping Job) {
        let startNow = state.withLockedValue { s -> Bool in
            s.inFlight += 1
            if s.queues[key] != nil {
                s.queues[key]!.jobs.append(job)
                return false
            }
            s.queues[key] = Queue()
            return true
        }
        if startNow { Task { await self.run(key: key, first: job) } }
    }

    /// Runs `job` now, concurrently with everything else (requests about no account). `weight`: how many
    /// requests it answers (a batch counts each of its requests towards the in-flight bound).
    func submitUnordered(weight: Int = 1, _ job: @escaping Job) {
        state.withLockedValue { $0.inFlight += weight }
        Task {
            await job()
            self.finished(count: weight)
        }
    }

    /// Returns once fewer than `limit` jobs are in flight. The receive loops call it so that a flood
    /// of requests stops reading (libzmq's queues then push back on the senders) instead of queueing
    /// without bound.
    func waitForRoom(below limit: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { s -> Bool in
                if s.inFlight < limit { return true }
                s.roomWaiters.append((limit, c))
                return false
            }
            if now { c.resume() }
        }
    }

    /// Drops every job that has not started (a stop past its deadline); running jobs finish. Returns
    /// how many were dropped.
    @discardableResult
    func abandonQueued() -> Int {
        let (dropped, waiters) = state.withLockedValue { s -> (Int, [CheckedContinuation<Void, Never>]) in
            var dropped = 0
            for key in s.queues.keys {
                let q = s.queues[key]!
                dropped += q.jobs.count - q.head
                s.queues[key] = Queue()
            }
            s.inFlight -= dropped
            let room = s.takeRoomWaiters()
            guard s.inFlight == 0 else { return (dropped, room) }
            defer { s.drainWaiters = [] }
            return (dropped, room + s.drainWaiters)
        }
        for w in waiters { w.resume() }
        return dropped
    }

    /// Returns once no job is in flight.
    func drain() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = state.withLockedValue { s -> Bool in
                if s.inFlight == 0 { return true }
                s.drainWaiters.append(c)
                return false
            }
            if done { c.resume() }
        }
    }

    private func run(key: String, first: @escaping Job) async {
        var job = first
        while true {
            await job()
            let (next, room) = state.withLockedValue { s -> (Job?, [CheckedContinuation<Void, Never>]) in
                s.inFlight -= 1
                let room = s.takeRoomWaiters()
                guard let next = s.queues[key]!.pop() else {
                    s.queues[key] = nil
                    // A dictionary keeps its capacity when emptied: after a burst over 100k accounts give it back.
                    if s.queues.isEmpty { s.queues = [:] }
                    return (nil, room)
                }
                return (next, room)
            }
            for w in room { w.resume() }
            guard let next else { break }
            job = next
        }
        finished(count: 0)
    }

    private func finished(count: Int) {
        let waiters = state.withLockedValue { s -> [CheckedContinuation<Void, Never>] in
            s.inFlight -= count
            let room = s.takeRoomWaiters()
            guard s.inFlight == 0 else { return room }
            defer { s.drainWaiters = [] }
            return room + s.drainWaiters
        }
        for w in waiters { w.resume() }
    }
}
