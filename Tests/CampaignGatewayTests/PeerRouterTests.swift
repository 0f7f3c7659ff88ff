import AbmTestSupport
import AbmWire
@testable import CampaignGateway
import Foundation
import Testing
import ZeroMQ

/// The internal ROUTER of a cluster node (`ServerOptions.peerEndpoint`), driven directly with the envelope another
/// node's forwarder sends: `[empty][header][body]` in, `[empty][header][reply]` out.
@Suite(.timeLimit(.minutes(1)))
struct PeerRouterTests {
    static func lead(_ i: Int) -> [UInt8] {
        JSONWriter.encode(["type": "lead", "id": .string("p-\(i)"), "lead": [
            "account_id": .string("acct-\(i)"), "email": .string("pat@acct-\(i).example"), "name": "Pat Lee", "timezone": "UTC",
        ]])
    }

    static func start(drainTimeout: Duration = .seconds(30)) async throws -> AbmServer {
        var options = ServerOptions(endpoints: .ephemeral, virtualClockStart: ServerFixture.t0)
        options.peerEndpoint = "tcp://127.0.0.1:*"
        options.drainTimeout = drainTimeout
        options.logger.logLevel = .critical
        return try await AbmServer.start(options: options)
    }

    @Test func forwardedRequestsAreAnsweredWithTheirHeaderAndMalformedOnesAreDropped() async throws {
        let server = try await Self.start()
        let peer = try TestPeer.dealer(try #require(server.peerEndpoint))
        try await peer.sendFrames([[], Array("i42".utf8), Self.lead(1)])
        let ack = try await peer.receiveMessage()
        #expect(ack.count == 3 && ack[0].isEmpty && ack[1] == Array("i42".utf8))
        let ackBody = try JSONParser.parse(ack[2])
        #expect(ackBody["status"] == "accepted")
        try await peer.sendFrames([[], Array("c43".utf8), JSONWriter.encode(["type": "status", "id": "s", "account_id": "acct-1"])])
        let status = try await peer.receiveMessage()
        let statusBody = try JSONParser.parse(status[2])
        #expect(status[1] == Array("c43".utf8) && statusBody["ok"] == true)
        // Not an envelope: dropped (a forwarder never sends it), counted as malformed; the next one is answered.
        try await peer.sendFrames([[], Self.lead(2)])
        try await peer.sendFrames([[], Array("x1".utf8), Self.lead(3)])
        try await peer.sendFrames([[], Array("i44".utf8), Self.lead(4)])
        let next = try await peer.receiveMessage()
        #expect(next[1] == Array("i44".utf8))
        #expect(server.statistics.malformed == 2)
        await peer.close()
        await server.stop()
    }

    /// Once a node's drain has started, what its peers forward is refused at once (`shutting_down`, resend the
    /// same id): they neither wait for the forward timeout nor add work that keeps the drain from ending.
    @Test func aDrainingNodeRefusesForwardsAtOnce() async throws {
        let server = try await Self.start()
        let peer = try TestPeer.dealer(try #require(server.peerEndpoint))
        try await peer.sendFrames([[], Array("i1".utf8), Self.lead(1)])
        let before = try JSONParser.parse(try await peer.receiveMessage().frames[2])
        #expect(before["status"] == "accepted")
        // The stop's first step only: the gateway drains; the runtime and the sockets are still up.
        await server.drainGateway()
        for i in 2...4 {
            try await peer.sendFrames([[], Array("i\(i)".utf8), Self.lead(i)])
            let reply = try await peer.receiveMessage()
            let body = try JSONParser.parse(reply[2])
            #expect(reply[1] == Array("i\(i)".utf8))
            #expect(body["id"] == .string("p-\(i)") && body["status"] == "rejected" && body["error"]?["code"] == "internal", "\(body)")
            #expect(body["error"]?["message"]?.stringValue?.hasPrefix("shutting_down") == true, "\(body)")
        }
        try await peer.sendFrames([[], Array("c5".utf8), JSONWriter.encode(["type": "status", "id": "s5", "account_id": "acct-1"])])
        let control = try JSONParser.parse(try await peer.receiveMessage().frames[2])
        #expect(control["ok"] == false && control["id"] == "s5", "\(control)")
        await peer.close()
        await server.stop()
    }
}
