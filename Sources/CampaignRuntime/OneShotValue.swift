import NIOConcurrencyHelpers

/// A value set once by one task and awaited by another (a batch's ack from a lane, a forwarded request's
/// reply): the first `fulfil` wins, later ones are ignored (a late reply after a timeout).
public final class OneShotValue<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiter: CheckedContinuation<Value, Never>?
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Sets the value unless one is set already; resumes the waiter.
    public func fulfil(_ value: Value) {
        let waiter = state.withLockedValue { s -> CheckedContinuation<Value, Never>? in
            guard s.value == nil else { return nil }
            s.value = value
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: value)
    }

    /// The value, once set. One waiter at a time.
    public var value: Value {
        get async {
            await withCheckedContinuation { c in
                let ready = state.withLockedValue { s -> Value? in
                    if let value = s.value { return value }
                    s.waiter = c
                    return nil
                }
                if let ready { c.resume(returning: ready) }
            }
        }
    }
}
