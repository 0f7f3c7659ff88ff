import AbmTestSupport
import AbmWire
import CampaignCore
import CampaignGateway
import Foundation
import Synchronization
import Testing
import ZeroMQ

/// `abm serve` as a separate process, on ephemeral loopback ports.
final class ServerProcess: Sendable {
    let child: ChildProcess
    let endpoints: AbmEndpoints
    let dataDirectory: String
    /// The HTTP endpoint's base URL (`http http://…/` line) when started with `--http`.
    let httpURL: String?
    /// The internal ROUTER (`peer tcp://…` line) when started with `--peer`.
    let peerEndpoint: String?

    /// The `abm` binary built next to the test bundle (`swift build --build-tests` builds it too).
    static var binary: URL {
        get throws {
            let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("abm")
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            for candidate in [besideTests, root.appendingPathComponent(".build/debug/abm")]
            where FileManager.default.isExecutableFile(atPath: candidate.path) {
                return candidate
            }
            throw Timeout(what: "the abm binary (build it with `swift build`)")
        }
    }

    static func tempDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("abm-e2e-\(UUID().uuidString)").path
    }

    /// Starts `abm serve` and returns once it printed its endpoints and `ready` (bounded).
    /// - Parameters:
    ///   - logFile: where its standard error (the log) goes; by default a pipe, which `standardErrorText()`
    ///     reads after exit (fine at `warning`; a chatty level needs a file, or the pipe fills up).
    ///   - environment: added to the test's own environment (e.g. `NOTIFY_SOCKET`).
    ///   - store: a `--store` URL (PostgreSQL) used instead of `--data-dir dataDirectory`.
    static func start(dataDirectory: String, store: String? = nil, virtualClock: String? = "2026-03-02T09:00:00Z",
                      config: String? = nil, logLevel: String = "warning", logFile: String? = nil,
                      environment: [String: String] = [:], extraArguments: [String] = []) async throws -> ServerProcess {
        var args = ["serve", "--ingress", "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*",
                    "--events", "tcp://127.0.0.1:*", "--log-level", logLevel]
        args += store.map { ["--store", $0] } ?? ["--data-dir", dataDirectory]
        if let virtualClock { args += ["--virtual-clock", virtualClock] }
        if let config { args += ["--config", config] }
        args += extraArguments
        let merged = environment.isEmpty ? nil : ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let child = try ChildProcess(try binary.path, args, environment: merged, standardOutput: .pipe,
                                     standardError: logFile.map { .file($0) } ?? .pipe)
        let out = try #require(child.standardOutput)
        // Read stdout on a thread of its own until `ready` (or EOF: the process died).
        let lines = try await onThread { () -> [String] in
            var collected: [String] = []
            var buffer = Data()
            while true {
                let chunk = out.availableData
                if chunk.isEmpty { return collected }
                buffer.append(chunk)
                while let nl = buffer.firstIndex(of: 0x0A) {
                    let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...nl)
                    collected.append(line)
                    if line == "ready" { return collected }
                }
            }
        }
        var endpoints: [String: String] = [:]
        for line in lines {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            if parts.count == 2 { endpoints[parts[0]] = parts[1] }
        }
        guard lines.last == "ready", let i = endpoints["ingress"], let c = endpoints["control"], let e = endpoints["events"] else {
            child.send(SIGTERM)
            let errText = logFile.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }
                ?? String(decoding: child.standardError?.availableData ?? Data(), as: UTF8.self)
            throw Timeout(what: "`ready` from abm serve; got \(lines), stderr: \(errText)")
        }
        return ServerProcess(child: child, endpoints: AbmEndpoints(ingress: i, control: c, events: e),
                             dataDirectory: dataDirectory, httpURL: endpoints["http"], peerEndpoint: endpoints["peer"])
    }

    private init(child: ChildProcess, endpoints: AbmEndpoints, dataDirectory: String, httpURL: String?, peerEndpoint: String?) {
        self.httpURL = httpURL
        self.peerEndpoint = peerEndpoint
        self.child = child
        self.endpoints = endpoints
        self.dataDirectory = dataDirectory
    }

    var pid: pid_t { child.pid }

    /// SIGTERM, then the exit status (the server drains first).
    func terminate() async -> Int32 {
        child.send(SIGTERM)
        return ChildProcess.status(await child.wait())
    }

    /// The exit status, or nil if the process is still running after `seconds` (a watchdog, not pacing).
    func exitStatus(within seconds: Double) async -> Int32? {
        await child.wait(within: seconds).map(ChildProcess.status)
    }

    /// What the server wrote on standard error so far (its log, at `--log-level warning`). Call it after
    /// the process exited: it reads to the end of the pipe.
    func standardErrorText() -> String {
        String(decoding: child.standardError?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
    }

    /// The server's resident memory (`VmRSS` of /proc/<pid>/status), in KiB.
    func residentKiB() throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { throw Timeout(what: "VmRSS in /proc/\(pid)/status") }
        return kib
    }

    /// SIGKILL: no drain, no cleanup.
    func kill9() async {
        child.send(SIGKILL)
        await child.wait()
    }
}

/// A DEALER or SUB client on its own poll loop.
final class Peer: Sendable {
    let socket: AsyncZMQSocket
    let loop: ZMQPollLoop
    let mailbox = Mailbox()
    private let reader: Task<Void, Never>

    private init(socket: AsyncZMQSocket, loop: ZMQPollLoop) {
        self.socket = socket
        self.loop = loop
        let mailbox = self.mailbox
        reader = Task { do { for try await m in socket.messages { mailbox.put(m) } } catch {} }
    }

    static let context: ZMQContext = try! ZMQContext()

    static func dealer(_ endpoint: String) throws -> Peer {
        let s = try ZMQSocket(context, type: .dealer, options: [.sendHighWaterMark(0), .receiveHighWaterMark(0)])
        try s.connect(endpoint)
        let loop = try ZMQPollLoop(name: "e2e-dealer")
        return Peer(socket: try loop.adopt(s, inboundCapacity: 8192), loop: loop)
    }

    static func subscriber(_ endpoint: String) throws -> Peer {
        let s = try ZMQSocket(context, type: .sub, options: [.receiveHighWaterMark(0), .subscribe("")])
        try s.connect(endpoint)
        let loop = try ZMQPollLoop(name: "e2e-sub")
        return Peer(socket: try loop.adopt(s, inboundCapacity: 8192), loop: loop)
    }

    func close() async {
        reader.cancel()
        await socket.close()
        await loop.shutdown()
    }

    func send(_ body: JSONValue) async throws {
        try await socket.send(ZMQMessage([[], JSONWriter.encode(body)]))
    }

    func receiveJSON(within seconds: Double = 15) async throws -> JSONValue {
        guard let m = await mailbox.take(within: seconds) else { throw Timeout(what: "a message") }
        return try JSONParser.parse(m.frames.last ?? [])
    }

    func call(_ body: JSONValue, within seconds: Double = 15) async throws -> JSONValue {
        try await send(body)
        return try await receiveJSON(within: seconds)
    }
}

/// Clients of one running server.
struct Clients {
    let ingress: Peer
    let control: Peer

    init(_ endpoints: AbmEndpoints) throws {
        ingress = try .dealer(endpoints.ingress)
        control = try .dealer(endpoints.control)
    }

    func close() async {
        await ingress.close()
        await control.close()
    }

    /// The whole event log (replay, page by page), as the raw JSON objects.
    func replay(after: Int64 = 0) async throws -> [JSONValue] {
        var out: [JSONValue] = []
        var after = after
        while true {
            let r = try await control.call(["type": "events", "id": .string("ev-\(UUID().uuidString)"),
                                            "after_seq": .int(after), "limit": 1000])
            let page = try #require(r["events"]?.arrayValue)
            out += page
            guard page.count == 1000, let last = page.last?["seq"], case .int(let s) = last else { return out }
            after = s
        }
    }

    func advance(days: Int, id: String = UUID().uuidString) async throws -> JSONValue {
        try await control.call(["type": "clock.advance", "id": .string(id), "seconds": .int(Int64(days) * 86_400)])
    }

    /// A subscriber known to receive: warm-up leads until it sees an event, then its mailbox is drained
    /// up to the warm-up's last event (found by replay).
    func connectedSubscriber(_ endpoints: AbmEndpoints) async throws -> Peer {
        let sub = try Peer.subscriber(endpoints.events)
        for k in 0..<100 {
            let ack = try await ingress.call(lead(id: "warmup-\(k)-\(UUID().uuidString)", account: "warmup-\(k)"))
            #expect(ack["status"] == "accepted" || ack["status"] == "duplicate")
            if let first = await sub.mailbox.take(within: 0.05) {
                let lastSeq = try await replay().last?["seq"]
                var seen = try JSONParser.parse(first.frames[1])["seq"]
                while seen != lastSeq {
                    guard let m = await sub.mailbox.take(within: 5) else { throw Timeout(what: "warm-up events") }
                    seen = try JSONParser.parse(m.frames[1])["seq"]
                }
                return sub
            }
        }
        throw Timeout(what: "the subscription")
    }
}

func lead(id: String, account: String, colleagues: [JSONValue] = []) -> JSONValue {
    [
        "type": "lead", "id": .string(id),
        "lead": [
            "account_id": .string(account), "id": .string("\(account)-p"), "name": "Jane Doe",
            "email": .string("jane@\(account).example.com"), "title": "VP Engineering", "timezone": "UTC",
            "account_contacts": .array(colleagues), "metadata": ["company_name": .string("Company \(account)")],
        ],
    ]
}

func colleague(_ account: String, _ n: Int, name: String) -> JSONValue {
    ["id": .string("\(account)-c\(n)"), "name": .string(name), "email": .string("c\(n)@\(account).example.com"),
     "title": "Engineering Manager", "timezone": "UTC"]
}

extension JSONValue {
    var int: Int64? { if case .int(let i) = self { return i } else { return nil } }
}

