import AbmWire
import DequeModule
import Foundation
import NIOConcurrencyHelpers

/// Per-account chains of requests that could not take the batch path because the account's turn was busy.
///
/// A chain runs its jobs one after another in arrival order. While an account has a chain, later batches
/// append to it instead of claiming the account's turn, so requests about one account are applied in the
/// order they arrived whichever path each takes.
final class AccountLanes: Sendable {
    typealias Job = @Sendable () async -> Void

    private let chains = NIOLockedValueBox([String: Deque<Job>]())

    /// Whether the account has a chain running (its next request must join it).
    func isBusy(_ accountId: String) -> Bool {
        chains.withLockedValue { $0[accountId] != nil }
    }

    /// Appends `job` to the account's chain, starting the chain when there was none.
    func submit(_ accountId: String, _ job: @escaping Job) {
        let start = chains.withLockedValue { c -> Bool in
            if c[accountId] != nil {
                c[accountId]!.append(job)
                return false
            }
            c[accountId] = []
            return true
        }
        if start { Task { await self.run(accountId, first: job) } }
    }

    private func run(_ accountId: String, first: @escaping Job) async {
        var job = first
        while true {
            await job()
            let next = chains.withLockedValue { c -> Job? in
                if let j = c[accountId]?.popFirst() { return j }
                c[accountId] = nil
                return nil
            }
            guard let next else { return }
            job = next
        }
    }
}
