import AbmTestSupport
import Foundation
import Testing
import ZeroMQ

/// Interop with pyzmq (Debian's python3-zmq, system interpreter) in both directions.
@Suite struct PythonInteropTests {
    static let python = "/usr/bin/python3"

    /// Python DEALER client → Swift ROUTER server (on a poll loop).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: python)))
    func pythonClientSwiftServer() async throws {
        try await withDeadline(60) {
            let context = try ZMQContext()
            let loop = try ZMQPollLoop()
            let r = try ZMQSocket(context, type: .router, options: [.routerMandatory(true)])
            try r.bind("tcp://127.0.0.1:*")
            let router = try loop.adopt(r)
            let script = """
            import sys, zmq
            ctx = zmq.Context()
            s = ctx.socket(zmq.DEALER)
            s.setsockopt(zmq.IDENTITY, b"py-client")
            s.setsockopt(zmq.RCVTIMEO, 30000)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(sys.argv[1])
            for i in range(20):
                s.send_multipart([b"LEADS/1", b"SUBMIT", str(i).encode(), b"\\x00\\xff" * 1000])
            for i in range(20):
                reply = s.recv_multipart()
                assert reply == [b"LEADS/1", b"ACK", str(i).encode()], reply
            print("ok", flush=True)
            """
            let process = try PythonProcess(script: script, arguments: [try #require(router.endpoint)])
            let server = Task {
                var n = 0
                for try await m in router.messages {
                    #expect(m.string(at: 0) == "py-client")
                    #expect(m.count == 5 && m[4].count == 2000)
                    try await router.send(ZMQMessage(routingID: m[0], [m[1], bytes("ACK"), m[3]]))
                    n += 1
                    if n == 20 { break }
                }
                return n
            }
            let (status, output) = await process.finish()
            #expect(status == 0, "python: \(output)")
            #expect(output.contains("ok"))
            #expect(try await server.value == 20)
            await loop.shutdown()
        }
    }

    /// Swift DEALER client (on a poll loop) → Python ROUTER server; the Python side prints its endpoint.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: python)))
    func swiftClientPythonServer() async throws {
        try await withDeadline(60) {
            let process = try PythonProcess(script: Self.echoServer(count: 10), arguments: [])
            let endpoint = try #require(await process.firstLine())
            #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))

            let context = try ZMQContext()
            let loop = try ZMQPollLoop()
            let d = try ZMQSocket(context, type: .dealer, options: [.routingID(bytes("swift-client"))])
            try d.connect(endpoint)
            let dealer = try loop.adopt(d)
            let requests = (0..<10).map { ZMQMessage([bytes("n\($0)"), [UInt8](repeating: UInt8($0), count: 4096)]) }
            #expect(await dealer.send(batch: requests).isEmpty)
            var iterator = dealer.messages.makeAsyncIterator()
            for request in requests {
                let reply = try #require(try await iterator.next())
                #expect(reply == ZMQMessage([bytes("echo")] + request.frames))
            }
            try await dealer.send(ZMQMessage([bytes("done")]))
            let (status, output) = await process.finish()
            #expect(status == 0, "python: \(output)")
            #expect(output.contains("served"))
            await loop.shutdown()
        }
    }

    /// The server's replies reach a client that reads them only after the server has sent them all.
    /// This forces the interleaving that hung `swiftClientPythonServer` (2 of ~900 runs under load):
    /// the script ended right after its last send and its queued replies died with the process.
    /// Replies far larger than the socket buffers (160 MB in all), and a client that holds one
    /// message, keep them queued in the Python process, so an early exit loses them.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: python)))
    func pythonServerKeepsRepliesUntilTheClientHasThem() async throws {
        try await withDeadline(30) {
            let replyBytes = 16 << 20
            let process = try PythonProcess(script: Self.echoServer(count: 10, replyBytes: replyBytes), arguments: [])
            let endpoint = try #require(await process.firstLine())

            let context = try ZMQContext()
            let loop = try ZMQPollLoop()
            let d = try ZMQSocket(context, type: .dealer, options: [.receiveHighWaterMark(1)])
            try d.connect(endpoint)
            let dealer = try loop.adopt(d, inboundCapacity: 1)
            #expect(await dealer.send(batch: (0..<10).map { ZMQMessage([bytes("n\($0)")]) }).isEmpty)
            #expect(await process.line { $0 == "served" } != nil)
            var iterator = dealer.messages.makeAsyncIterator()
            for _ in 0..<10 {
                let reply = try #require(try await iterator.next())
                #expect(reply.count == 2 && reply[1].count == replyBytes)
            }
            try await dealer.send(ZMQMessage([bytes("done")]))
            let (status, output) = await process.finish()
            #expect(status == 0, "python: \(output)")
            await loop.shutdown()
        }
    }

    /// A pyzmq ROUTER that echoes `count` requests as `[id, "echo", body…]` (or a body of `replyBytes`
    /// bytes). It prints its endpoint first and "served" after its last send, then waits for the
    /// client's "done" before it exits: pyzmq does not terminate the context at interpreter exit, so
    /// LINGER never applies and replies still queued in libzmq would die with the process.
    static func echoServer(count: Int, replyBytes: Int? = nil) -> String {
        let body = replyBytes.map { "[b\"x\" * \($0)]" } ?? "body"
        return """
            import zmq
            ctx = zmq.Context()
            s = ctx.socket(zmq.ROUTER)
            s.setsockopt(zmq.RCVTIMEO, 30000)
            s.bind("tcp://127.0.0.1:*")
            print(s.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)
            for i in range(\(count)):
                frames = s.recv_multipart()
                ident, body = frames[0], frames[1:]
                s.send_multipart([ident, b"echo"] + \(body))
            print("served", flush=True)
            frames = s.recv_multipart()
            assert frames[1:] == [b"done"], frames
            s.close(linger=0)
            ctx.term()
            """
    }
}

/// A `/usr/bin/python3 -c script args…` child whose stdout is read on a plain thread (never blocking
/// the cooperative pool). Killed on deinit so a failing test cannot leave it running.
final class PythonProcess: @unchecked Sendable {
    private struct LineWaiter {
        let matches: @Sendable (String) -> Bool
        let continuation: CheckedContinuation<String?, Never>
    }

    private let child: ChildProcess
    private let state = NSLock()
    private var buffer = ""
    private var outputEnded = false
    private var exitStatus: Int32?
    private var lineWaiters: [LineWaiter] = []
    private var finishWaiters: [CheckedContinuation<(Int32, String), Never>] = []

    init(script: String, arguments: [String]) throws {
        child = try ChildProcess(PythonInteropTests.python, ["-c", script] + arguments, standardError: .standardOutput)
        let ended = child
        Task { [weak self] in
            let status = ChildProcess.status(await ended.wait())
            self?.didExit(status)
        }
        guard let handle = child.standardOutput else { throw ChildProcessError("no pipe") }
        let reader = Thread { [weak self] in
            while true {
                let data = handle.availableData
                guard let self else { return }
                if data.isEmpty { self.append(nil); return }
                self.append(String(decoding: data, as: UTF8.self))
            }
        }
        reader.start()
    }

    deinit { child.send(SIGTERM) }

    /// Adds output (nil: end of output) and resumes the waiters it satisfies.
    private func append(_ text: String?) {
        state.lock()
        if let text { buffer += text } else { outputEnded = true }
        var resumed: [(CheckedContinuation<String?, Never>, String?)] = []
        let lines = buffer.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        lineWaiters.removeAll { waiter in
            if let line = lines.first(where: waiter.matches) {
                resumed.append((waiter.continuation, line))
                return true
            }
            if outputEnded { resumed.append((waiter.continuation, nil)); return true }
            return false
        }
        let finished = takeFinishWaiters()
        state.unlock()
        for (c, line) in resumed { c.resume(returning: line) }
        finished.resume()
    }

    private func didExit(_ status: Int32) {
        state.lock()
        exitStatus = status
        let finished = takeFinishWaiters()
        state.unlock()
        finished.resume()
    }

    /// With the lock held: the finish waiters, once the process has exited and its output ended.
    private func takeFinishWaiters() -> FinishWaiters {
        guard let status = exitStatus, outputEnded else { return FinishWaiters() }
        defer { finishWaiters = [] }
        return FinishWaiters(waiters: finishWaiters, result: (status, buffer))
    }

    private struct FinishWaiters {
        var waiters: [CheckedContinuation<(Int32, String), Never>] = []
        var result: (Int32, String) = (0, "")
        func resume() { for c in waiters { c.resume(returning: result) } }
    }

    /// The first line printed that satisfies `matches` (nil if the output ends without one).
    func line(where matches: @escaping @Sendable (String) -> Bool) async -> String? {
        await withCheckedContinuation { c in
            state.lock()
            let lines = buffer.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
            let ready: String?? = lines.first(where: matches).map { .some($0) } ?? (outputEnded ? .some(nil) : nil)
            if ready == nil { lineWaiters.append(LineWaiter(matches: matches, continuation: c)) }
            state.unlock()
            if let ready { c.resume(returning: ready) }
        }
    }

    /// The first line the script prints (nil if it exits first).
    func firstLine() async -> String? { await line { _ in true } }

    /// Waits for exit and for the end of its output (the exit can be seen before the reader thread has
    /// read the last output); returns the status and everything printed.
    func finish() async -> (Int32, String) {
        await withCheckedContinuation { c in
            state.lock()
            let done = exitStatus.flatMap { status in outputEnded ? (status, buffer) : nil }
            if done == nil { finishWaiters.append(c) }
            state.unlock()
            if let done { c.resume(returning: done) }
        }
    }
}
