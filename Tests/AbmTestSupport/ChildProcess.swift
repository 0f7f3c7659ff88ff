// Child processes for the tests (abm serve, abm commands, python3, psql, chromium), spawned with
// posix_spawn rather than Foundation's `Process`.
//
// Why by hand: on Linux, Swift 6.3.1's `Process.run()` reads `/proc/self/fd` with a 256-byte copy of each
// directory entry and crashes the whole test process now and then (swiftlang/swift-corelibs-foundation#5472,
// fixed upstream after 6.3.1). It was seen here as `Bad pointer dereference … in Process.run()`, more often
// as the suite opened more descriptors (a PostgreSQL pool per store test). swift-subprocess scopes a child
// to a closure, which does not fit a server process kept across a test and signalled from it.
import Foundation
import NIOConcurrencyHelpers

/// A child process: standard input from /dev/null, every descriptor above 2 closed in the child, reaped by
/// a thread of its own (so that waiting never blocks one of the cooperative pool's few threads).
public final class ChildProcess: Sendable {
    /// Where a standard stream of the child goes.
    public enum Destination: Sendable {
        /// A pipe whose read end is `standardOutput` / `standardError`.
        case pipe
        /// /dev/null.
        case discard
        /// A file, created or truncated.
        case file(String)
        /// The same place as standard output (for standard error only).
        case standardOutput
    }

    /// How the child ended.
    public enum Ending: Sendable, Equatable {
        case exit(Int32)
        case signal(Int32)
    }

    public let pid: pid_t
    /// The read end of the child's standard output when it is `.pipe`.
    public let standardOutput: FileHandle?
    /// The read end of the child's standard error when it is `.pipe`.
    public let standardError: FileHandle?
    private let ended = NIOLockedValueBox(Reaping())

    private struct Reaping {
        var ending: Ending?
        var waiters: [@Sendable () -> Void] = []
    }

    /// Starts `executable` with `arguments`.
    /// - Parameters:
    ///   - environment: the child's whole environment; nil: this process's.
    ///   - directory: the child's working directory; nil: this process's.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
                standardOutput: Destination = .pipe, standardError: Destination = .pipe) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        defer { childEnds.forEach { close($0) } }
        func route(_ destination: Destination, to fd: Int32) throws -> FileHandle? {
            switch destination {
            case .pipe:
                var ends: [Int32] = [0, 0]
                guard pipe(&ends) == 0 else { throw ChildProcessError("pipe: \(errno)") }
                for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
                parentEnds.append(ends[0])
                childEnds.append(ends[1])
                posix_spawn_file_actions_adddup2(&actions, ends[1], fd)
                return FileHandle(fileDescriptor: ends[0], closeOnDealloc: true)
            case .discard:
                posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            case .file(let path):
                posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            case .standardOutput:
                posix_spawn_file_actions_adddup2(&actions, 1, fd)
            }
            return nil
        }
        let out = try route(standardOutput, to: 1)
        let err = try route(standardError, to: 2)
        guard let closeFrom = Self.gnuSpawnAction("posix_spawn_file_actions_addclosefrom_np", as: CloseFrom.self),
              let changeDirectory = Self.gnuSpawnAction("posix_spawn_file_actions_addchdir_np", as: ChangeDirectory.self) else {
            parentEnds.forEach { close($0) }
            throw ChildProcessError("glibc ≥ 2.34 is needed (posix_spawn_file_actions_addclosefrom_np)")
        }
        _ = closeFrom(&actions, 3)
        if let directory { _ = changeDirectory(&actions, directory) }
        let argv = [executable] + arguments
        let environ = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let status = Self.withCStrings(argv) { cArgs in
            Self.withCStrings(environ) { cEnv in posix_spawn(&pid, executable, &actions, nil, cArgs, cEnv) }
        }
        guard status == 0 else {
            _ = out.map { try? $0.close() }
            _ = err.map { try? $0.close() }
            throw ChildProcessError("cannot run \(executable): \(String(cString: strerror(status)))")
        }
        self.pid = pid
        self.standardOutput = out
        self.standardError = err
        let box = ended
        let spawned = pid
        Thread {
            var raw: Int32 = 0
            while waitpid(spawned, &raw, 0) < 0 && errno == EINTR {}
            // WIFEXITED / WEXITSTATUS / WTERMSIG spelled out (the macros are not imported).
            let ending: Ending = raw & 0x7f == 0 ? .exit((raw >> 8) & 0xff) : .signal(raw & 0x7f)
            let waiters = box.withLockedValue { r -> [@Sendable () -> Void] in
                r.ending = ending
                defer { r.waiters = [] }
                return r.waiters
            }
            waiters.forEach { $0() }
        }.start()
    }

    /// How it ended; nil while it runs.
    public var ending: Ending? { ended.withLockedValue { $0.ending } }

    public var isRunning: Bool { ending == nil }

    /// Sends `signal` unless it already ended (its pid may then belong to another process).
    public func send(_ signal: Int32) {
        ended.withLockedValue { r in
            if r.ending == nil { kill(pid, signal) }
        }
    }

    /// Waits for the end.
    @discardableResult
    public func wait() async -> Ending {
        await withCheckedContinuation { (c: CheckedContinuation<Ending, Never>) in
            let box = ended
            let now = box.withLockedValue { r -> Ending? in
                if r.ending == nil { r.waiters.append { c.resume(returning: box.withLockedValue { $0.ending! }) } }
                return r.ending
            }
            if let now { c.resume(returning: now) }
        }
    }

    /// Waits for the end on the calling thread (for code that cannot await, such as an `atexit` handler).
    @discardableResult
    public func waitBlocking() -> Ending {
        let done = DispatchSemaphore(value: 0)
        let registered = ended.withLockedValue { r -> Bool in
            if r.ending == nil { r.waiters.append { done.signal() } }
            return r.ending == nil
        }
        if registered { done.wait() }
        return ending!
    }

    /// Waits for the end, or nil when it still runs after `seconds` (a watchdog, not pacing).
    public func wait(within seconds: Double) async -> Ending? {
        let deadline = ContinuousClock.now.advanced(by: .seconds(seconds))
        while isRunning {
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return ending
    }

    /// The exit status, or the signal's number when a signal ended it (as Foundation's `terminationStatus`).
    public static func status(_ ending: Ending) -> Int32 {
        switch ending {
        case .exit(let code): return code
        case .signal(let signal): return signal
        }
    }

    /// What a command that ends by itself printed, and how it ended.
    public struct Output: Sendable {
        public var ending: Ending
        public var stdout: String
        public var stderr: String
        /// The exit status (the signal's number when a signal ended it).
        public var status: Int32 { ChildProcess.status(ending) }
    }

    /// Runs a command to its end. Its output goes to files read after the exit, so that nothing blocks on a
    /// full pipe; with `mergingErrors`, standard error is in `stdout` too (and `stderr` is empty).
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           directory: String? = nil, mergingErrors: Bool = false) async throws -> Output {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("abm-child-\(UUID().uuidString)").path
        let outPath = base + ".out", errPath = base + ".err"
        defer {
            unlink(outPath)
            unlink(errPath)
        }
        let child = try ChildProcess(executable, arguments, environment: environment, directory: directory,
                                     standardOutput: .file(outPath), standardError: mergingErrors ? .standardOutput : .file(errPath))
        let ending = await child.wait()
        func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        return Output(ending: ending, stdout: read(outPath), stderr: mergingErrors ? "" : read(errPath))
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    /// glibc's GNU spawn actions, which Swift's Glibc module does not import (they sit behind _GNU_SOURCE).
    private static func gnuSpawnAction<F>(_ name: String, as: F.Type) -> F? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(symbol, to: F.self)
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        var pointers = strings.map { strdup($0) }
        pointers.append(nil)
        defer { pointers.forEach { free($0) } }
        return body(pointers)
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
