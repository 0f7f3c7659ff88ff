import AbmTestSupport
import AbmWire
import CampaignCore
import CampaignStore
@testable import CampaignGateway
import Foundation
import Synchronization
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

    /// A client that floods and never reads its acks used to stop every other client's acks: its
    /// unread replies filled its pipe and the reply sender waited for it, holding everyone's replies.
    /// Now its replies are dropped past the pipe's bound, its requests refused with `rate_limited`, and
    /// a well-behaved client next to it is answered as usual (each ack within a watchdog bound).
    @Test func floodingPeerThatDoesNotReadCannotStopOthers() async throws {
        let f = try await ServerFixture.start { options in
            // Small bounds so that the flooder reaches them in a fraction of a second.
            options.replyHighWaterMark = 100
            options.maxInFlightPerPeer = 64
        }
        let flooder = Flooder(endpoint: f.server.endpoints.ingress)
        // Until the flooder has been cut off (its replies dropped, its requests refused), then 100 more.
        var k = 0
        var after = 0
        var slowest = Duration.zero
        while after < 100 {
            let started = ContinuousClock.now
            let ack = try await f.ingress.call(lead(id: "calm-\(k)", account: "calm-\(k % 10)"))
            slowest = max(slowest, ContinuousClock.now - started)
            #expect(ack["status"] == "accepted" || ack["status"] == "duplicate", "\(ack)")
            k += 1
            let s = f.server.statistics
            if s.droppedReplies > 0 && s.rateLimited > 0 { after += 1 }
            try #require(k < 20_000, "the flooder was never cut off: \(s), \(flooder.sent) sent")
        }
        let s = f.server.statistics
        print("flood: \(flooder.sent) sent, \(s.rateLimited) rate-limited, \(s.droppedReplies) replies dropped; \(k) calm acks, slowest \(slowest)")
        await flooder.finish()
        // Control commands are served too.
        let status = try await f.control.call(["type": "status", "id": "st", "account_id": "calm-1"])
        #expect(status["ok"] == true)
        await f.stop()
    }
}

/// A DEALER that sends leads as fast as it can from a thread of its own and never reads a reply.
final class Flooder: Sendable {
    final class Counters: Sendable {
        let stop = Atomic(false)
        let sent = Atomic(0)
    }

    let counters = Counters()
    private let done: Task<Void, any Error>

    init(endpoint: String) {
        let counters = self.counters
        done = Task {
            try await onThread {
                // A tiny receive side, so that unread replies back up into the server quickly.
                let socket = try ZMQSocket(TestPeer.context, type: .dealer, options: [
                    .receiveHighWaterMark(1), .receiveBufferSize(4096), .sendTimeout(milliseconds: 50),
                ])
                try socket.connect(endpoint)
                var k = 0
                while !counters.stop.load(ordering: .relaxed) {
                    let body = JSONWriter.encode(lead(id: "flood-\(k)", account: "flood-\(k % 64)"))
                    // A full queue (the server stopped reading) times out; the loop then checks `stop`.
                    if (try? socket.send(ZMQMessage([[], body]))) != nil {
                        k += 1
                        counters.sent.add(1, ordering: .relaxed)
                    }
                }
            }
        }
    }

    var sent: Int { counters.sent.load(ordering: .relaxed) }

    /// A test that fails before `finish()` must not leave the thread flooding: it once kept a server busy
    /// for the rest of the run and starved every later test of CPU (they failed by timeout).
    deinit { counters.stop.store(true, ordering: .relaxed) }

    func finish() async {
        counters.stop.store(true, ordering: .relaxed)
        _ = try? await done.value
    }
}

extension FaultTests {
    /// One connection may not take the whole server's window: past `maxInFlightPerPeer` its requests are
    /// refused with `rate_limited` (with their id, nothing stored); another connection is served.
    @Test func requestsOverThePeerWindowAreRateLimited() async throws {
        let f = try await ServerFixture.start { $0.maxInFlightPerPeer = 8 }
        let n = 200
        // One account: the requests run one after another, so far more than 8 are in flight at once.
        let burst = (0..<n).map { ZMQMessage([[], JSONWriter.encode(lead(id: "w-\($0)", account: "one"))]) }
        #expect(await f.ingress.socket.send(batch: burst).isEmpty)
        let other = try TestPeer.dealer(f.server.endpoints.ingress)
        #expect(try await other.call(lead(id: "other", account: "other"))["status"] == "accepted")
        var limited: [String] = []
        for _ in 0..<n {
            let ack = try await f.ingress.receiveJSON()
            if ack["error"]?["code"] == "rate_limited" { limited.append(ack["id"]?.stringValue ?? "") }
        }
        #expect(!limited.isEmpty && limited.count <= n - 8, "\(limited.count) limited")
        #expect(f.server.statistics.rateLimited == limited.count)
        // A refused request stored nothing: resent, it is accepted (not `duplicate`).
        let again = try await f.ingress.call(lead(id: try #require(limited.first), account: "one"))
        #expect(again["status"] == "accepted", "\(again)")
        await other.close()
        await f.stop()
    }
}

extension FaultTests {
    /// The token bucket with a hand-driven clock: a second's worth (at least one largest message) at once,
    /// then only what time refills; each peer has its own.
    @Test func peerByteBudgetRefillsWithTime() {
        let clock = Atomic<UInt64>(0)
        let budget = PeerByteBudget(bytesPerSecond: 1000, largestMessage: 1000, now: { clock.load(ordering: .relaxed) })
        let a: [UInt8] = [1], b: [UInt8] = [2]
        #expect(budget.spend(a, 600))
        #expect(budget.spend(a, 400))
        #expect(!budget.spend(a, 1))
        #expect(budget.spend(b, 1000))
        clock.store(250_000_000, ordering: .relaxed)   // a quarter second: 250 bytes back
        #expect(!budget.spend(a, 251))
        #expect(budget.spend(a, 250))
        clock.store(10_000_000_000, ordering: .relaxed) // long idle: full again, never more
        #expect(!budget.spend(a, 1001))
        #expect(budget.spend(a, 1000))
    }

    /// A connection flooding large requests past `maxBytesPerSecondPerPeer` gets `rate_limited` (with
    /// the id, nothing stored), while another connection's requests are all served, none refused.
    @Test func aFloodOfBytesIsRateLimitedAndOthersAreServed() async throws {
        let f = try await ServerFixture.start { $0.maxBytesPerSecondPerPeer = 64 * 1024 }
        // ~1,100-byte leads on many accounts: the flooder sends ~220 KB at once, the bucket holds 1 MiB
        // (one largest message), refills 64 KiB/s.
        let padding = String(repeating: "x", count: 1000)
        func big(_ id: String, _ account: String) -> JSONValue {
            var l = lead(id: id, account: account)
            if case .object(var o) = l, case .object(var inner) = o["lead"] {
                inner["metadata"] = ["note": .string(padding)]
                o["lead"] = .object(inner)
                l = .object(o)
            }
            return l
        }
        let n = 1200
        let burst = (0..<n).map { ZMQMessage([[], JSONWriter.encode(big("f-\($0)", "f-\($0 % 50)"))]) }
        #expect(await f.ingress.socket.send(batch: burst).isEmpty)
        let calm = try TestPeer.dealer(f.server.endpoints.ingress)
        for k in 0..<20 {
            let ack = try await calm.call(big("c-\(k)", "calm"))
            #expect(ack["status"] == "accepted", "\(ack)")
        }
        var limited: [String] = []
        for _ in 0..<n {
            let ack = try await f.ingress.receiveJSON()
            if ack["error"]?["code"] == "rate_limited" { limited.append(ack["id"]?.stringValue ?? "") }
        }
        #expect(limited.count > 100, "\(limited.count) limited")
        #expect(f.server.statistics.rateLimited == limited.count)
        let id = try #require(limited.last)
        #expect(try await f.server.store.reply(for: RequestKey(space: .ingress, id: id)) == nil)
        await calm.close()
        await f.stop()
    }
}

extension FaultTests {
    /// An event over `maxLiveEventBytes` is stored, not published: the subscriber sees a gap in `seq`
    /// and replay returns the event.
    @Test func eventOverTheLiveSizeCapIsAGapThatReplayFills() async throws {
        let f = try await ServerFixture.start { $0.maxLiveEventBytes = 2048 }
        let sub = try await f.connectedSubscriber()
        let colleagues = (0..<40).map { colleague("big", $0, name: "Colleague Number \($0) With A Long Name") }
        #expect(try await f.ingress.call(lead(id: "big", account: "big", colleagues: colleagues))["status"] == "accepted")
        #expect(try await f.ingress.call(lead(id: "small", account: "small"))["status"] == "accepted")
        await f.server.runtime.settle()
        let stored = try await f.events().filter { $0["account_id"] == "big" || $0["account_id"] == "small" }
        let big = try #require(stored.first { $0["type"] == "campaign.started" && $0["account_id"] == "big" })
        #expect(JSONWriter.encode(big).count > 2048)
        var live: [JSONValue] = []
        while let m = await sub.mailbox.take(within: 0.5) { live.append(try JSONParser.parse(m.frames[1])) }
        let liveSeqs: Set<Int64> = Set(live.compactMap { $0["seq"]?.int64 })
        let storedSeqs: Set<Int64> = Set(stored.compactMap { $0["seq"]?.int64 })
        let bigSeq = try #require(big["seq"]?.int64)
        #expect(!liveSeqs.contains(bigSeq))
        #expect(live.contains { $0["account_id"] == "small" })
        #expect(liveSeqs.isSubset(of: storedSeqs))
        await sub.close()
        await f.stop()
    }
}

extension JSONValue {
    var int64: Int64? { if case .int(let i) = self { return i } else { return nil } }
}
