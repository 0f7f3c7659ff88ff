import CampaignCore
@testable import CampaignGateway
import Foundation
import Testing
import ZeroMQ

/// Issue #8, "correct when things go wrong": bad peers and bad input next to well-behaved ones.
@Suite(.timeLimit(.minutes(1)))
struct FaultTests {
    /// Messages over the frame cap used to be discarded by the ZeroMQ layer with no reply at all.
    @Test func tooManyFramesIsBadFraming() async throws {
        let f = try await ServerFixture.start()
        let stillServed: [JSONValue] = [lead(id: "after-frames", account: "after-frames"),
                                         ["type": "status", "id": "after-frames", "account_id": "after-frames"]]
        for (peer, request) in zip([f.ingress, f.control], stillServed) {
            for count in [17, 63, 64, 65, 100, 1000] {
                try await peer.sendFrames([[]] + (1..<count).map { _ in Array("{}".utf8) })
                let reply = try await peer.receiveJSON()
                #expect(reply["error"]?["code"] == "bad_framing", "\(count) frames: \(reply)")
                #expect(reply["id"] == .null)
            }
            // The connection is still served.
            let reply = try await peer.call(request)
            #expect(reply["status"] == "accepted" || reply["ok"] == true, "\(reply)")
        }
        #expect(f.server.statistics.malformed == 12)
        await f.stop()
    }
}
