import AbmWire
import CampaignStore
import Foundation
import HeapModule
import NIOConcurrencyHelpers

/// The in-memory look-ahead over the durable timers table: every pending timer of this process, one
/// per account, in a min-heap ordered by the instant it should fire.
///
/// Lazy deletion: replacing or clearing an account's timer only updates `current`; heap entries whose
/// due time no longer matches `current[account]` are skipped when they surface. A retry after a failed
/// firing is a second heap entry with a later `fireAt` and the same `dueAt`.
///
/// The index also implements the scheduler's "timer gate": `arm()` records the instant the scheduler
/// sleeps until, and `set` reports when a new timer fires earlier, so the sleeper can be woken.
final class TimerIndex: Sendable {
    struct Entry: Comparable, Sendable {
        var fireAt: Date
        var dueAt: Date
        var accountId: String

        static func < (a: Entry, b: Entry) -> Bool {
            if a.fireAt != b.fireAt { return a.fireAt < b.fireAt }
            return a.accountId < b.accountId
        }
    }

    private struct State {
        var heap = Heap<Entry>()
        var current: [String: Date] = [:]
        /// The instant the scheduler sleeps until; nil while it is running (no wake needed).
        var armed: Date? = nil
        var sleeping = false
    }

    private let state = NIOLockedValueBox(State())

    /// Loads timers read from the store at start.
    func load(_ timers: [(accountId: String, dueAt: Date)]) {
        state.withLockedValue { s in
            for t in timers {
                s.current[t.accountId] = t.dueAt
            }
            s.heap.insert(contentsOf: timers.map { Entry(fireAt: $0.dueAt, dueAt: $0.dueAt, accountId: $0.accountId) })
        }
    }

    /// Sets (replaces) an account's timer. Returns true when the sleeping scheduler must be woken.
    @discardableResult
    func set(_ accountId: String, dueAt: Date) -> Bool {
        state.withLockedValue { s in
            s.current[accountId] = dueAt
            s.heap.insert(Entry(fireAt: dueAt, dueAt: dueAt, accountId: accountId))
            return Self.needsWake(&s, dueAt)
        }
    }

    /// Forgets the timers of every account in `shards` (taken over by another owner, or released).
    func dropShards(_ shards: Set<Int>) {
        guard !shards.isEmpty else { return }
        state.withLockedValue { s in
            s.current = s.current.filter { !shards.contains(accountShard($0.key)) }
        }
    }

    func clear(_ accountId: String) {
        state.withLockedValue { s in _ = s.current.removeValue(forKey: accountId) }
    }

    /// Schedules another attempt at firing the account's current timer (after a failure, or after an
    /// operator un-parks it), never before the timer is due: an un-parked campaign whose next touch is
    /// two days off waits those two days. Returns true when the sleeping scheduler must be woken.
    @discardableResult
    func retry(_ accountId: String, at earliest: Date) -> Bool {
        state.withLockedValue { s in
            guard let due = s.current[accountId] else { return false }
            let fireAt = max(earliest, due)
            s.heap.insert(Entry(fireAt: fireAt, dueAt: due, accountId: accountId))
            return Self.needsWake(&s, fireAt)
        }
    }

    /// Whether `dueAt` is still the account's pending timer.
    func isCurrent(_ accountId: String, dueAt: Date) -> Bool {
        state.withLockedValue { $0.current[accountId] == dueAt }
    }

    func dueAt(_ accountId: String) -> Date? {
        state.withLockedValue { $0.current[accountId] }
    }

    /// Removes and returns the next group of live entries whose `fireAt <= upTo`: those sharing the
    /// earliest `fireAt` when `sameInstant`, else all of them; at most `limit`.
    func popGroup(upTo: Date, sameInstant: Bool, limit: Int) -> [Entry] {
        state.withLockedValue { s in
            var out: [Entry] = []
            var seen = Set<String>()
            var instant: Date? = nil
            while out.count < limit, let top = s.heap.min, top.fireAt <= upTo {
                if sameInstant, let i = instant, top.fireAt != i { break }
                let e = s.heap.removeMin()
                guard s.current[e.accountId] == e.dueAt else { continue }
                // An account appears once per group (a timer set twice to the same instant leaves two entries).
                guard seen.insert(e.accountId).inserted else { continue }
                instant = e.fireAt
                out.append(e)
            }
            return out
        }
    }

    /// The next live `fireAt`, dropping stale entries on the way.
    func nextFireAt() -> Date? {
        state.withLockedValue { s in Self.peek(&s) }
    }

    /// Records that the scheduler sleeps until the next fire time (returned) until woken.
    func arm() -> Date? {
        state.withLockedValue { s in
            let next = Self.peek(&s)
            s.armed = next
            s.sleeping = true
            return next
        }
    }

    /// Records that the scheduler is awake (running; no wake needed).
    func disarm() {
        state.withLockedValue { s in
            s.sleeping = false
            s.armed = nil
        }
    }

    var count: Int { state.withLockedValue { $0.current.count } }

    /// Pending timers due at or before `now`. A scan (a few ms per million timers): for operators'
    /// counts, never on a request's path.
    func countDue(upTo now: Date) -> Int {
        state.withLockedValue { s in s.current.values.reduce(0) { $0 + ($1 <= now ? 1 : 0) } }
    }

    private static func peek(_ s: inout State) -> Date? {
        while let top = s.heap.min {
            if s.current[top.accountId] == top.dueAt { return top.fireAt }
            s.heap.removeMin()
        }
        return nil
    }

    private static func needsWake(_ s: inout State, _ fireAt: Date) -> Bool {
        guard s.sleeping else { return false }
        if let armed = s.armed, armed <= fireAt { return false }
        s.armed = fireAt
        return true
    }
}
