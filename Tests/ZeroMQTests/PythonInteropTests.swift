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
            let script = """
            import zmq
            ctx = zmq.Context()
            s = ctx.socket(zmq.ROUTER)
            s.setsockopt(zmq.RCVTIMEO, 30000)
            s.setsockopt(zmq.LINGER, 1000)
            s.bind("tcp://127.0.0.1:*")
            print(s.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)
            for i in range(10):
                frames = s.recv_multipart()
                ident, body = frames[0], frames[1:]
                s.send_multipart([ident, b"echo"] + body)
            print("served", flush=True)
            """
            let process = try PythonProcess(script: script, arguments: [])
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
            let (status, output) = await process.finish()
            #expect(status == 0, "python: \(output)")
            #expect(output.contains("served"))
            await loop.shutdown()
        }
    }
}

/// A `/usr/bin/python3 -c script args…` child whose stdout is read on a plain thread (never blocking
/// the cooperative pool). Killed on deinit so a failing test cannot leave it running.
final class PythonProcess: @unchecked Sendable {
    private let process = Process()
    private let stdout = Pipe()
    private let lines = Once<CheckedContinuation<String?, Never>>()
    private let exited = Once<CheckedContinuation<Int32, Never>>()
    private let state = NSLock()
    private var buffer = ""
    private var firstLineDelivered = false
    private var exitStatus: Int32?

    init(script: String, arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: PythonInteropTests.python)
        process.arguments = ["-c", script] + arguments
        process.standardOutput = stdout
        process.standardError = stdout
        process.terminationHandler = { [weak self] p in self?.didExit(p.terminationStatus) }
        try process.run()
        let handle = stdout.fileHandleForReading
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

    deinit { if process.isRunning { process.terminate() } }

    private func append(_ text: String?) {
        state.lock()
        if let text { buffer += text }
        var line: String?? = nil
        if !firstLineDelivered, let nl = buffer.firstIndex(of: "\n") {
            firstLineDelivered = true
            line = .some(String(buffer[..<nl]))
        } else if text == nil, !firstLineDelivered {
            firstLineDelivered = true
            line = .some(nil)
        }
        state.unlock()
        if let line { lines.take()?.resume(returning: line) }
    }

    private func didExit(_ status: Int32) {
        state.lock()
        exitStatus = status
        state.unlock()
        exited.take()?.resume(returning: status)
    }

    /// The first line the script prints (nil if it exits first).
    func firstLine() async -> String? {
        await withCheckedContinuation { c in
            state.lock()
            let ready: String?? = firstLineDelivered ? .some(buffer.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init)) : nil
            if ready == nil { lines.set(c) }
            state.unlock()
            if let ready { c.resume(returning: ready) }
        }
    }

    /// Waits for exit; returns the status and everything printed.
    func finish() async -> (Int32, String) {
        let status = await withCheckedContinuation { c in
            state.lock()
            let done = exitStatus
            if done == nil { exited.set(c) }
            state.unlock()
            if let done { c.resume(returning: done) }
        }
        return (status, state.withLock { buffer })
    }
}
