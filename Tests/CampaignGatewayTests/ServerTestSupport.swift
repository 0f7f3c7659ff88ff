import AbmTestSupport
import AbmWire
import CampaignCore
@testable import CampaignGateway
import Foundation
import Synchronization
import Testing
import ZeroMQ

/// A DEALER or SUB test client on its own poll loop; everything it receives lands in `mailbox`.
final class TestPeer: Sendable {
    let socket: AsyncZMQSocket
    let loop: ZMQPollLoop
    let mailbox = Mailbox()
    private let reader: Task<Void, Never>

    private init(socket: AsyncZMQSocket, loop: ZMQPollLoop) {
        self.socket = socket
        self.loop = loop
        let mailbox = self.mailbox
        reader = Task {
            do { for try await m in socket.messages { mailbox.put(m) } } catch {}
        }
    }

    static let context: ZMQContext = try! ZMQContext()

    static func dealer(_ endpoint: String, options: [SocketOption] = []) throws -> TestPeer {
        let s = try ZMQSocket(context, type: .dealer, options: [.sendHighWaterMark(0), .receiveHighWaterMark(0)] + options)
        try s.connect(endpoint)
        let loop = try ZMQPollLoop(name: "test-dealer")
        return TestPeer(socket: try loop.adopt(s, inboundCapacity: 8192), loop: loop)
    }

    static func subscriber(_ endpoint: String, prefix: String = "", options: [SocketOption] = []) throws -> TestPeer {
        let s = try ZMQSocket(context, type: .sub, options: [.receiveHighWaterMark(0), .subscribe(prefix)] + options)
        try s.connect(endpoint)
        let loop = try ZMQPollLoop(name: "test-sub")
        return TestPeer(socket: try loop.adopt(s, inboundCapacity: 8192), loop: loop)
    }

    func close() async {
        reader.cancel()
        await socket.close()
        await loop.shutdown()
    }

    /// Sends `[empty][body]`.
    func send(_ body: JSONValue) async throws {
        try await socket.send(ZMQMessage([[], JSONWriter.encode(body)]))
    }

    func sendFrames(_ frames: [[UInt8]]) async throws {
        try await socket.send(ZMQMessage(frames))
    }

    /// The next message's last frame parsed as JSON (a reply body or an event body).
    func receiveJSON(within seconds: Double = 10) async throws -> JSONValue {
        guard let m = await mailbox.take(within: seconds) else { throw Timeout(what: "a message") }
        return try JSONParser.parse(m.frames.last ?? [])
    }

    func receiveMessage(within seconds: Double = 10) async throws -> ZMQMessage {
        guard let m = await mailbox.take(within: seconds) else { throw Timeout(what: "a message") }
        return m
    }

    /// One request, one reply (no other request in flight on this peer).
    func call(_ body: JSONValue) async throws -> JSONValue {
        try await send(body)
        return try await receiveJSON()
    }
}

/// A server on ephemeral loopback ports with a virtual clock, plus connected clients.
struct ServerFixture {
    static let t0 = WireTime.parse("2026-03-02T09:00:00Z")!

    let server: AbmServer
    let ingress: TestPeer
    let control: TestPeer

    static func start(dataDirectory: String? = nil, virtualClock: Date? = t0,
                      campaign: JSONValue = .null,
                      configure: (inout ServerOptions) -> Void = { _ in }) async throws -> ServerFixture {
        var options = ServerOptions(endpoints: .ephemeral, dataDirectory: dataDirectory, virtualClockStart: virtualClock,
                                    campaign: try CampaignConfig(merging: campaign))
        options.logger.logLevel = .error
        configure(&options)
        let server = try await AbmServer.start(options: options)
        return ServerFixture(server: server, ingress: try .dealer(server.endpoints.ingress),
                             control: try .dealer(server.endpoints.control))
    }

    func stop() async {
        await ingress.close()
        await control.close()
        await server.stop()
    }

    /// A subscriber known to be connected: leads for warm-up accounts are sent until it sees an event
    /// (a PUB drops what it publishes before the subscription arrives). Returns the subscriber with its
    /// mailbox emptied, and how many warm-up leads it took.
    func connectedSubscriber() async throws -> TestPeer {
        let sub = try TestPeer.subscriber(server.endpoints.events)
        for k in 0..<100 {
            let ack = try await ingress.call(lead(id: "warmup-\(k)", account: "warmup-\(k)"))
            #expect(ack["status"] == "accepted")
            if await sub.mailbox.take(within: 0.05) != nil {
                // Drain the warm-up's own events (published together with the ack's commit).
                await server.runtime.settle()
                while await sub.mailbox.take(within: 0.05) != nil {}
                return sub
            }
        }
        throw Timeout(what: "the subscription")
    }

    func events(after: Int64 = 0, limit: Int = 1000) async throws -> [JSONValue] {
        let r = try await control.call(["type": "events", "id": .string("ev-\(UUID().uuidString)"),
                                        "after_seq": .int(after), "limit": .int(Int64(limit))])
        return r["events"]?.arrayValue ?? []
    }
}

func lead(id: String, account: String, email: String? = nil, colleagues: [JSONValue] = []) -> JSONValue {
    [
        "type": "lead", "id": .string(id),
        "lead": [
            "account_id": .string(account), "id": .string("\(account)-p"), "name": "Jane Doe",
            "email": .string(email ?? "jane@\(account).example.com"), "title": "VP Engineering", "timezone": "UTC",
            "account_contacts": .array(colleagues), "metadata": ["company_name": .string("Company \(account)")],
        ],
    ]
}

func colleague(_ account: String, _ n: Int, name: String = "Sam Smith") -> JSONValue {
    ["id": .string("\(account)-c\(n)"), "name": .string(name), "email": .string("c\(n)@\(account).example.com"),
     "title": "Engineering Manager", "timezone": "UTC"]
}

