import AbmWire
import CampaignCore


/// Which events a tail shows: any of the type prefixes (all when empty) and, optionally, one account.
public struct EventFilter: Sendable, Equatable {
    public var typePrefixes: [String]
    public var accountId: String?

    public init(typePrefixes: [String] = [], accountId: String? = nil) {
        self.typePrefixes = typePrefixes
        self.accountId = accountId
    }

    public func matches(_ event: JSONValue) -> Bool {
        let type = event["type"]?.stringValue ?? ""
        if !typePrefixes.isEmpty && !typePrefixes.contains(where: { type.hasPrefix($0) }) { return false }
        if let accountId, event["account_id"]?.stringValue != accountId { return false }
        return true
    }
}

/// One page of the event log (control `events`): the events and the highest seq assigned so far.
public struct EventPage: Sendable, Equatable {
    public var events: [JSONValue]
    public var lastSeq: Int64

    public init(events: [JSONValue], lastSeq: Int64) {
        self.events = events
        self.lastSeq = lastSeq
    }
}

/// Follows the event log without gaps or duplicates: replays from a position, then takes live events,
/// repairing every gap in `seq` from the log (protocol §11).
///
/// The SUB must subscribe to everything (empty prefix) before `catchUp` runs, so that nothing falls
/// between the replay and the live stream; filtering happens here, after sequencing.
public struct EventTail {
    public var filter: EventFilter
    public private(set) var sequencer: EventSequencer
    /// Reads one page of the log: events with `seq > after`, at most `limit`.
    let fetch: (_ after: Int64, _ limit: Int) throws(AbmError) -> EventPage
    let pageSize: Int

    /// - Parameter after: replay starts after this seq (nil: no replay, start with the first live event).
    public init(filter: EventFilter, after: Int64?, pageSize: Int = 1000,
                fetch: @escaping (_ after: Int64, _ limit: Int) throws(AbmError) -> EventPage) {
        self.filter = filter
        self.sequencer = EventSequencer(after: after)
        self.pageSize = pageSize
        self.fetch = fetch
    }

    /// Replays the stored events after the start position (when one was given) up to the end of the log.
    public mutating func catchUp(_ deliver: (JSONValue) throws -> Void) throws {
        guard let after = sequencer.last else { return }
        try replay(after: after, through: nil, deliver)
    }

    /// Handles one live event body.
    public mutating func live(_ event: JSONValue, _ deliver: (JSONValue) throws -> Void) throws {
        guard let seq = Self.seq(of: event) else {
            throw AbmError.badReply("an event without an integer seq: \(Requests.describe(event))")
        }
        switch sequencer.admit(seq) {
        case .duplicate:
            return
        case .deliver:
            break
        case .gap(let after, let through):
            try replay(after: after, through: through, deliver)
        }
        if filter.matches(event) { try deliver(event) }
    }

    /// Pages through the log after `after`, up to `through` (inclusive; nil = to the end).
    mutating func replay(after: Int64, through: Int64?, _ deliver: (JSONValue) throws -> Void) throws {
        var position = after
        // The live event that revealed a gap already moved the sequencer; replayed ones are checked
        // against this local position instead.
        while through.map({ position < $0 }) ?? true {
            let page = try fetch(position, pageSize)
            for event in page.events {
                guard let seq = Self.seq(of: event) else { continue }
                if let through, seq > through { return }
                guard seq > position else { continue }
                position = seq
                if through == nil { _ = sequencer.replayed(seq) }
                if filter.matches(event) { try deliver(event) }
            }
            if page.events.count < pageSize || position >= page.lastSeq { return }
        }
    }

    static func seq(of event: JSONValue) -> Int64? {
        switch event["seq"] {
        case .int(let n)?: n
        case .double(let d)? where d == d.rounded(): Int64(d)
        default: nil
        }
    }
}
