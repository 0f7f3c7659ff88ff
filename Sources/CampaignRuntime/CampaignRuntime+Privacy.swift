import AbmWire
import CampaignCore
import CampaignStore
import Foundation

/// What an erasure did (the `erase` reply).
public struct ErasureReport: Sendable, Equatable {
    /// Lower-case hex SHA-256 of the address: what the suppression list and the audit events keep.
    public var emailSHA256: String
    /// Accounts whose state or events named the person.
    public var accounts: Int
    /// Stored events rewritten.
    public var events: Int
    /// Stored request replies rewritten.
    public var replies: Int

    public init(emailSHA256: String, accounts: Int, events: Int, replies: Int) {
        self.emailSHA256 = emailSHA256
        self.accounts = accounts
        self.events = events
        self.replies = replies
    }
}

/// How long stored events and request ids are kept (`retention` in the server's configuration).
public struct RetentionPolicy: Sendable, Equatable {
    /// Events older than this (by their `at`, on the runtime's clock) are pruned; nil keeps them forever.
    /// Default nil: the events are the campaigns' history (reports, the dashboard's timeline).
    public var events: TimeInterval?
    /// Request ids (and their stored replies) older than this are pruned: a pruned id sent again is a new
    /// request. nil keeps them forever. Default 30 days.
    public var requestIds: TimeInterval?
    /// Wall-clock seconds between two pruning passes. Default 3,600.
    public var interval: TimeInterval

    public init(events: TimeInterval? = nil, requestIds: TimeInterval? = 30 * 86_400, interval: TimeInterval = 3_600) {
        self.events = events
        self.requestIds = requestIds
        self.interval = interval
    }

    /// Keep everything (tests, tools).
    public static let keepForever = RetentionPolicy(events: nil, requestIds: nil)
}

extension CampaignRuntime {
    /// Rows deleted per store call, so that a pass never holds the writer long.
    static let pruneChunk = 5_000

    // MARK: - Erasure

    /// Erases a person (`email`, any case) everywhere: each account whose state or events name them is
    /// erased through its actor (contact blanked and set `erased`, timer re-planned, `contact.erased`
    /// emitted, its events rewritten, all in one commit); then the stored replies naming the address are
    /// rewritten and its suppression entry kept only as a hash. Idempotent: running it again finishes an
    /// interrupted erasure and changes nothing after a complete one.
    /// - Parameter onlyOwnedAccounts: in a cluster, the accounts of shards other nodes own are left to them
    ///   (each node erases its own); otherwise one of them fails the erasure with `not_owner`.
    public func erase(email: String, onlyOwnedAccounts: Bool = false) async throws -> ErasureReport {
        let email = email.lowercased()
        guard enter() else { throw Self.notRunning }
        defer { leave() }
        let hash = EmailHash.sha256(email)
        // Suppressed first, in memory: a decision from now on (another account's lead naming the person)
        // sees it, and one already decided is refused at its commit (`GroupCommitter`). The store keeps it
        // with the first account's write, or with `finishErasure`.
        env.suppressions.insert(contentsOf: [Suppression.hashed(hash)])
        var report = ErasureReport(emailSHA256: hash, accounts: 0, events: 0, replies: 0)
        var done: Set<String> = []
        while true {
            // Accounts already erased no longer match; one that still does (a write refused meanwhile) is
            // not visited twice in a pass.
            let found = try await store.accounts(mentioning: email, limit: 1_000).filter { !done.contains($0) }
            guard !found.isEmpty else { break }
            for accountId in found {
                done.insert(accountId)
                guard owns(accountId) else {
                    if onlyOwnedAccounts { continue }
                    throw Self.notOwnerError(accountId)
                }
                let rewritten = try await coordinator.withActor(accountId) { actor in
                    try await actor.erase(email: email, emailSHA256: hash)
                }
                report.accounts += 1
                report.events += rewritten
            }
        }
        report.replies = try await store.finishErasure(email: email, emailSHA256: hash, replacement: Erased.text)
        env.suppressions.erase(email, emailSHA256: hash)
        logger.info("person erased", metadata: ["email_sha256": "\(hash)", "accounts": "\(report.accounts)",
                                                "events": "\(report.events)", "replies": "\(report.replies)"])
        return report
    }

    // MARK: - Retention

    /// One pruning pass with `policy` at the runtime clock's now; returns how many events and request
    /// ids were deleted.
    public func prune(_ policy: RetentionPolicy) async throws -> (events: Int, requestIds: Int) {
        let now = clock.now
        var events = 0, requests = 0
        if let age = policy.events {
            while true {
                let n = try await store.pruneEvents(before: now.addingTimeInterval(-age), limit: Self.pruneChunk)
                events += n
                if n < Self.pruneChunk { break }
            }
        }
        if let age = policy.requestIds {
            while true {
                let n = try await store.pruneRequests(before: now.addingTimeInterval(-age), limit: Self.pruneChunk)
                requests += n
                if n < Self.pruneChunk { break }
            }
        }
        if events + requests > 0 {
            logger.info("retention pruned", metadata: ["events": "\(events)", "request_ids": "\(requests)"])
        }
        return (events, requests)
    }

    /// The highest event seq removed by retention (0 when none).
    public func prunedSeq() async throws -> Int64 {
        try await store.prunedSeq()
    }

    /// The refusal of a replay from below what retention kept.
    static func eventsPrunedError(afterSeq: Int64, prunedSeq: Int64) -> AbmError {
        AbmError(code: ErrorCode.eventsPruned,
                 message: "events up to seq \(prunedSeq) were removed by retention; after_seq \(afterSeq) is below that: replay from after_seq \(prunedSeq) or later",
                 field: "after_seq")
    }
}
