import AbmTestSupport
import Testing
import ZeroMQ

/// The async receive path packs frames into per-batch slabs (small frames) or own arrays (large ones)
/// and rebuilds messages on the consumer: every shape must come out exactly as sent, in order.
@Suite struct AsyncReceiveBatchTests {
    /// Messages of every shape: one empty frame, ROUTER-like envelopes with empty delimiters, frames
    /// around the small-frame limit (1024 bytes), a large frame between small ones, many frames.
    static func shapes(_ n: Int) -> ZMQMessage {
        let tag = Array("m\(n)".utf8)
        switch n % 7 {
        case 0: return ZMQMessage([tag])
        case 1: return ZMQMessage([tag, [], Array(repeating: UInt8(n & 0xff), count: 100)])
        case 2: return ZMQMessage([tag, Array(repeating: 2, count: 1024)])
        case 3: return ZMQMessage([tag, Array(repeating: 3, count: 1025)])
        case 4: return ZMQMessage([tag, [], Array(repeating: 4, count: 70_000), [9]])
        case 5: return ZMQMessage([tag] + (0..<20).map { [UInt8(truncatingIfNeeded: $0)] })
        default: return ZMQMessage([tag, []])
        }
    }

    @Test func everyShapeArrivesIntactThroughMessagesAndBatches() async throws {
        try await withDeadline(90) {
            let context = try ZMQContext()
            let loop = try ZMQPollLoop(name: "test-shapes")
            let pl = try ZMQSocket(context, type: .pull)
            pl.maxFramesPerMessage = 30
            try pl.bind("tcp://127.0.0.1:*")
            let pull = try loop.adopt(pl, inboundCapacity: 16)
            let ps = try ZMQSocket(context, type: .push)
            try ps.connect(try #require(pull.endpoint))
            let push = try loop.adopt(ps)
            let total = 800
            // One message over the frame limit after every 100: discarded by the receiver, never seen.
            let tooLong = ZMQMessage((0..<31).map { _ in [UInt8(7)] })
            func send(_ range: Range<Int>) async {
                // Fewer than the high-water marks: libzmq accepts all at once, no concurrent consumer needed.
                for start in stride(from: range.lowerBound, to: range.upperBound, by: 100) {
                    let failures = await push.send(batch: (start..<start + 100).map(Self.shapes) + [tooLong])
                    #expect(failures.isEmpty)
                }
            }
            // First half one by one through `messages`, second half through `batches` (an iterator that
            // is dropped loses what it holds, so the halves are sent one after the other).
            await send(0..<total / 2)
            var n = 0
            for try await m in pull.messages {
                #expect(m == Self.shapes(n), "message \(n)")
                n += 1
                if n == total / 2 { break }
            }
            await send(total / 2..<total)
            var sizes: [Int] = []
            for try await batch in pull.batches {
                #expect(!batch.isEmpty)
                sizes.append(batch.count)
                for m in batch {
                    #expect(m == Self.shapes(n), "message \(n)")
                    n += 1
                }
                if n >= total { break }
            }
            #expect(n == total)
            #expect(sizes.allSatisfy { $0 <= 2 * 16 })
            await loop.shutdown()
        }
    }
}
