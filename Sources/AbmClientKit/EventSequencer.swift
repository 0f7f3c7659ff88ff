/// Gap-free, duplicate-free event delivery by `seq` (protocol §11): what to do with the next event.
///
/// Pure bookkeeping, no I/O, so the tail logic is testable: the caller fetches the gap with control
/// `events` (after `after`, up to `through`), delivers those, then the event in hand.
public struct EventSequencer: Sendable, Equatable {
    /// The highest seq processed so far; nil before the first event (no position yet).
    public private(set) var last: Int64?

    public init(after last: Int64? = nil) { self.last = last }

    public enum Decision: Sendable, Equatable {
        /// The next one in order (or the first one ever): deliver it.
        case deliver
        /// Already processed (a replay overlap or a republished event): drop it.
        case duplicate
        /// Events `after+1 … through` are missing: fetch and deliver them, then this one.
        case gap(after: Int64, through: Int64)
    }

    /// Decides about a live event with `seq` and moves the position past it (unless it is a duplicate).
    public mutating func admit(_ seq: Int64) -> Decision {
        guard let last else {
            self.last = seq
            return .deliver
        }
        if seq <= last { return .duplicate }
        self.last = seq
        return seq == last + 1 ? .deliver : .gap(after: last, through: seq - 1)
    }

    /// Records a replayed event; false when it was already processed (drop it).
    public mutating func replayed(_ seq: Int64) -> Bool {
        if let last, seq <= last { return false }
        last = seq
        return true
    }
}
