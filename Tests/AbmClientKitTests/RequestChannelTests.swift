import AbmWire
import AbmClientKit
import CampaignCore
import CampaignGateway
import Foundation
import Testing
import ZeroMQ

/// A ROUTER on loopback that answers each request with a stale reply (another id) first, then its own.
private func startRouter(context: ZMQContext, replies: Int) throws -> (endpoint: String, thread: Thread) {
    let ready = DispatchSemaphore(value: 0)
    let endpointBox = EndpointBox()
    let thread = Thread {
        do {
            let router = try ZMQSocket(context, type: .router)
            try router.bind("tcp://127.0.0.1:*")
            endpointBox.value = try router.lastEndpoint
            ready.signal()
            for _ in 0..<replies {
                let m = try router.receive()
                let request = try JSONParser.parse(m[2])
                let id = request["id"]?.stringValue ?? ""
                try router.send(ZMQMessage([m[0], [], Array(#"{"type":"ack","id":"stale","status":"accepted"}"#.utf8)]))
                let ack: JSONValue = ["type": "ack", "id": .string(id), "status": "accepted", "campaign_id": "cmp-1",
                                      "warnings": .array([.string("framing \(m.count) \(m[1].isEmpty)")])]
                try router.send(ZMQMessage([m[0], [], JSONWriter.encode(ack)]))
            }
        } catch {
            endpointBox.value = "error \(error)"
            ready.signal()
        }
    }
    thread.start()
    ready.wait()
    return (endpointBox.value, thread)
}

private final class EndpointBox: @unchecked Sendable { var value = "" }

@Suite struct RequestChannelTests {
    @Test("a request that cannot even be queued (no usable connection) times out instead of blocking",
          .timeLimit(.minutes(1)))
    func sendIsBoundedByTheTimeout() throws {
        let context = try ZMQContext()
        // Nothing listens here (a port that was bound then released), and a queue of one: the first request
        // fills it, so the second one's send cannot complete.
        let probe = try ZMQSocket(context, type: .router)
        try probe.bind("tcp://127.0.0.1:*")
        let endpoint = try probe.lastEndpoint
        try probe.unbind(endpoint)
        let channel = try RequestChannel(context: context, endpoint: endpoint, highWaterMark: 1)
        try channel.send(Requests.encode(["type": "status", "id": "first", "account_id": "acme"]))
        let started = ContinuousClock.now
        #expect(throws: AbmError.self) {
            _ = try channel.request(["type": "status", "id": "second", "account_id": "acme"], timeoutMilliseconds: 300)
        }
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test func requestSendsDelimiterAndMatchesReplyById() throws {
        let context = try ZMQContext()
        let (endpoint, _) = try startRouter(context: context, replies: 1)
        #expect(endpoint.hasPrefix("tcp://"))
        let client = try AbmClient(endpoints: AbmEndpoints(ingress: endpoint), timeoutMilliseconds: 5000, context: context)
        let ack = try client.lead(["account_id": "acme", "email": "a@acme.example"], id: "lead-1")
        #expect(ack["id"] == "lead-1")
        #expect(ack["campaign_id"] == "cmp-1")
        #expect(ack["warnings"] == ["framing 3 true"])
    }

    @Test func noServerIsATimeoutWithItsExitCode() throws {
        let client = try AbmClient(endpoints: AbmEndpoints(control: "tcp://127.0.0.1:1"), timeoutMilliseconds: 100)
        do {
            _ = try client.command(Requests.status(accountId: "acme"))
            Issue.record("expected a timeout")
        } catch {
            #expect(error.code == "timeout")
            #expect(error.exitCode == 3)
        }
    }
}
