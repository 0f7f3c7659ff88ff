import Dispatch
import Foundation
import GRDB
import NIOConcurrencyHelpers

/// Copies committed WAL frames into the database file on a connection and thread of its own, so that the
/// writer's commits do not pay for it.
///
/// Why: with SQLite's auto-checkpoint alone, the commit that crosses 1,000 WAL pages copies them all and
/// fsyncs the database file before it returns, which made that commit 3–5× longer than the others and set
/// the p99 of a reply's pause (`Benchmarks/RESULTS-request-path.md`). Here a PASSIVE checkpoint runs a
/// moment after commits, beside the writer (SQLite lets one checkpointer run while the writer appends).
/// The writer keeps its auto-checkpoint as the backstop that restarts the WAL: by the time it triggers,
/// the frames are already copied, so it has little left to do, and when this checkpointer holds the lock
/// it skips at once instead of waiting.
final class WALCheckpointer: Sendable {
    private let connection: DatabaseQueue
    private let queue = DispatchQueue(label: "abm.store.checkpoint", qos: .utility)
    private let scheduled = NIOLockedValueBox(false)
    private let stopped = NIOLockedValueBox(false)
    private let delay: DispatchTimeInterval

    /// - Parameter delay: how long after a commit the checkpoint runs; commits meanwhile share it.
    init(path: String, delay: DispatchTimeInterval = .milliseconds(10)) throws {
        var config = Configuration()
        config.label = "abm.store.checkpointer"
        // Another connection's checkpoint or the writer never makes this one wait: PASSIVE takes no busy lock.
        config.busyMode = .immediateError
        connection = try DatabaseQueue(path: path, configuration: config)
        self.delay = delay
    }

    /// Called after each commit; schedules one checkpoint unless one is already scheduled.
    func committed() {
        let first = scheduled.withLockedValue { value in
            defer { value = true }
            return !value
        }
        guard first else { return }
        queue.asyncAfter(deadline: .now() + delay) { [self] in
            scheduled.withLockedValue { $0 = false }
            guard !stopped.withLockedValue({ $0 }) else { return }
            // A busy or failed checkpoint is harmless: the frames stay in the WAL for the next one, and the
            // writer's auto-checkpoint still runs.
            _ = try? connection.inDatabase { db in try db.checkpoint(.passive) }
        }
    }

    /// Waits for a scheduled checkpoint and closes the connection.
    func close() {
        stopped.withLockedValue { $0 = true }
        queue.sync {}
        try? connection.close()
    }
}
