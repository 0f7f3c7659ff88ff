import AbmWire
import CampaignStore
import Foundation
import NIOConcurrencyHelpers

/// Request ids being handled right now, so that two concurrent requests with the same id do not both
/// apply: the second waits for the first and then replays its stored reply.
final class InFlightRequests: Sendable {
    enum Admission: Sendable {
        /// Nobody else handles this id: go ahead, then call `finish`.
        case proceed
        /// The same id finished meanwhile with this stored reply.
        case stored(Data)
        /// The same id finished without storing anything (rejected): try again.
        case again
    }

    fileprivate let waiting = NIOLockedValueBox([RequestKey: [CheckedContinuation<Admission, Never>]]())

    func admit(_ key: RequestKey) async -> Admission {
        await withCheckedContinuation { c in
            let proceed: Bool = waiting.withLockedValue { w in
                if w[key] != nil {
                    w[key]!.append(c)
                    return false
                }
                w[key] = []
                return true
            }
            if proceed { c.resume(returning: .proceed) }
        }
    }

    /// Ends the handling of `key`; `storedReply` is what was committed with it, nil when nothing was.
    func finish(_ key: RequestKey, storedReply: Data?) {
        let waiters = waiting.withLockedValue { $0.removeValue(forKey: key) } ?? []
        for c in waiters {
            c.resume(returning: storedReply.map(Admission.stored) ?? .again)
        }
    }
}

extension InFlightRequests {
    /// Claims `key` when nobody handles it, without waiting (a batch of requests); false when the same id
    /// is being handled (the caller takes the waiting path, `admit`).
    func tryAdmit(_ key: RequestKey) -> Bool {
        waiting.withLockedValue { w in
            guard w[key] == nil else { return false }
            w[key] = []
            return true
        }
    }
}
