import AbmTestSupport
import Testing
import ZeroMQ

@Suite struct AsyncSocketTests {
    @Test func routerDealerOverPollLoops() async throws {
        try await withDeadline {
            let context = try ZMQContext()
            let server = try ZMQPollLoop(name: "test-server")
            let clients = try ZMQPollLoop(name: "test-clients")
            let r = try ZMQSocket(context, type: .router, options: [.routerMandatory(true)])
            try r.bind("tcp://127.0.0.1:*")
            let router = try server.adopt(r)
            let endpoint = try #require(router.endpoint)

            var dealers: [AsyncZMQSocket] = []
            for name in ["d1", "d2", "d3"] {
                let d = try ZMQSocket(context, type: .dealer, options: [.routingID(bytes(name))])
                try d.connect(endpoint)
                dealers.append(try clients.adopt(d))
            }
            // Server: echo every request back as ["ACK", body] to its sender.
            let echo = Task {
                var served = 0
                for try await m in router.messages {
                    try await router.send(ZMQMessage(routingID: m[0], [bytes("ACK")] + m.frames.dropFirst()))
                    served += 1
                }
                return served
            }
            for (i, d) in dealers.enumerated() {
                for n in 0..<10 { try await d.send(ZMQMessage(strings: ["req", "\(i)-\(n)"])) }
            }
            for (i, d) in dealers.enumerated() {
                var iterator = d.messages.makeAsyncIterator()
                for n in 0..<10 {
                    let reply = try #require(try await iterator.next())
                    #expect(reply == ZMQMessage(strings: ["ACK", "req", "\(i)-\(n)"]))
                }
            }
            // Unroutable peer with ROUTER_MANDATORY is an error value, not a silent drop.
            await #expect(throws: ZMQError.self) { try await router.send(ZMQMessage(strings: ["ghost", "x"])) }
            let failures = await router.send(batch: [
                ZMQMessage(strings: ["d1", "a"]), ZMQMessage(strings: ["ghost", "b"]), ZMQMessage(strings: ["d2", "c"]),
            ])
            #expect(failures.map(\.index) == [1])
            #expect(failures.first?.error.code == ZMQError.hostUnreachable)

            await router.close()
            #expect(try await echo.value == 30)
            // Use after close: a clear error.
            await #expect { try await router.send(ZMQMessage(strings: ["d1", "x"])) } throws: { error in
                (error as? ZMQError)?.code == ZMQError.closed
            }
            await #expect { _ = try await router.bind("tcp://127.0.0.1:*") } throws: { error in
                (error as? ZMQError)?.code == ZMQError.closed
            }
            await server.shutdown()
            await clients.shutdown()
        }
    }

    /// With ROUTER_MANDATORY a full peer queue is EAGAIN: the loop keeps that peer's replies queued, in
    /// order, and still delivers to the other peers (no head-of-line blocking, nothing dropped).
    @Test func routerKeepsServingOtherPeersWhileOneIsFull() async throws {
        try await withDeadline {
            let context = try ZMQContext()
            let loop = try ZMQPollLoop()
            let r = try ZMQSocket(context, type: .router, options: [.routerMandatory(true), .sendHighWaterMark(5)])
            try r.bind("inproc://fairness")
            let router = try loop.adopt(r)
            let slow = try ZMQSocket(context, type: .dealer, options: [.routingID(bytes("slow")), .receiveHighWaterMark(5)])
            try slow.connect("inproc://fairness")
            let fast = try ZMQSocket(context, type: .dealer, options: [.routingID(bytes("fast"))])
            try fast.connect("inproc://fairness")
            try slow.send(ZMQMessage(strings: ["hello"]))
            try fast.send(ZMQMessage(strings: ["hello"]))
            var iterator = router.messages.makeAsyncIterator()
            _ = try await iterator.next()
            _ = try await iterator.next()

            let count = 200
            let slowBatch = Task {
                await router.send(batch: (0..<count).map { ZMQMessage(routingID: bytes("slow"), [bytes("\($0)")]) })
            }
            // The batch is under way once the slow peer can read its first message. (Blocking calls on a
            // thread of their own: the batch's task needs the cooperative pool.)
            let slowPeer = HandedOver(slow), fastPeer = HandedOver(fast)
            #expect(try await onThread { try slowPeer.socket.poll(events: .pollIn, timeoutMilliseconds: 30_000) } == .pollIn)
            try await router.send(ZMQMessage(routingID: bytes("fast"), [bytes("ping")]))
            #expect(try await onThread { try fastPeer.socket.receive(timeoutMilliseconds: 30_000) } == ZMQMessage(strings: ["ping"]))
            let received = try await onThread {
                try (0..<count).map { _ in try slowPeer.socket.receive(timeoutMilliseconds: 30_000)?.string(at: 0) }
            }
            #expect(received == (0..<count).map { "\($0)" })
            #expect(await slowBatch.value.isEmpty)
            await loop.shutdown()
        }
    }

    @Test func pubSubAsyncWithRuntimeSubscribe() async throws {
        try await withDeadline {
            let context = try ZMQContext()
            let loop = try ZMQPollLoop()
            let p = try ZMQSocket(context, type: .pub)
            try p.bind("inproc://events")
            let pub = try loop.adopt(p)
            let s = try ZMQSocket(context, type: .sub)
            try s.connect("inproc://events")
            let sub = try loop.adopt(s)
            try await sub.set(.subscribe("cmp.1."))
            try await sub.set(.subscribe("end"))
            // inproc subscriptions are applied when set (connect before bind is not involved here),
            // so the publisher already knows them once `set` returned on the same loop thread.
            for topic in ["cmp.1.a", "cmp.2.a", "cmp.1.b", "cmp.10.a", "end"] {
                try await pub.send(ZMQMessage(strings: [topic, "{}"]))
            }
            var got: [String] = []
            for try await m in sub.messages {
                got.append(m.string(at: 0)!)
                if got.last == "end" { break }
            }
            #expect(got == ["cmp.1.a", "cmp.1.b", "end"])
            await loop.shutdown()
        }
    }

    /// XPUB sees subscriptions (for metrics or last-value-on-subscribe), then publishes to them.
    @Test func xpubSeesSubscriptions() async throws {
        try await withDeadline {
            let context = try ZMQContext()
            let loop = try ZMQPollLoop()
            let x = try ZMQSocket(context, type: .xpub, options: [.xpubVerbose(true)])
            try x.bind("tcp://127.0.0.1:*")
            let xpub = try loop.adopt(x)
            let sub = try ZMQSocket(context, type: .sub, options: [.subscribe("cmp.7.")])
            try sub.connect(try #require(xpub.endpoint))
            var iterator = xpub.messages.makeAsyncIterator()
            let subscription = try #require(try await iterator.next())
            #expect(subscription.frames == [[1] + bytes("cmp.7.")])
            // The subscription is known upstream now, so nothing is lost to the slow-joiner race.
            try await xpub.send(ZMQMessage(strings: ["cmp.7.started", "{}"]))
            let subscriber = HandedOver(sub)
            #expect(try await onThread { try subscriber.socket.receive(timeoutMilliseconds: 30_000) } == ZMQMessage(strings: ["cmp.7.started", "{}"]))
            await loop.shutdown()
        }
    }

    @Test func pushPullBatchedInOrder() async throws {
        try await withDeadline {
            let context = try ZMQContext()
            let loop = try ZMQPollLoop()
            let pl = try ZMQSocket(context, type: .pull)
            try pl.bind("tcp://127.0.0.1:*")
            let pull = try loop.adopt(pl, inboundCapacity: 64)
            let ps = try ZMQSocket(context, type: .push)
            try ps.connect(try #require(pull.endpoint))
            let push = try loop.adopt(ps)
            let total = 20_000
            let producer = Task {
                var n = 0
                while n < total {
                    let batch = (n..<min(n + 500, total)).map { ZMQMessage([withUnsafeBytes(of: UInt32($0)) { Array($0) }, [UInt8](repeating: 1, count: 100)]) }
                    let failures = await push.send(batch: batch)
                    #expect(failures.isEmpty)
                    n += batch.count
                }
            }
            var expected: UInt32 = 0
            for try await m in pull.messages {
                let n = m[0].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
                #expect(n == expected)
                expected += 1
                if expected == total { break }
            }
            await producer.value
            #expect(pull.peakBufferedCount <= 64)
            await loop.shutdown()
        }
    }

    @Test func slowConsumerHoldsProducerBack() async throws {
        try await withDeadline(60) {
            let context = try ZMQContext()
            let loop = try ZMQPollLoop()
            let capacity = 50
            let pl = try ZMQSocket(context, type: .pull, options: [.receiveHighWaterMark(10)])
            try pl.bind("inproc://backpressure")
            let pull = try loop.adopt(pl, inboundCapacity: capacity)
            // Non-blocking synchronous sender: counts what libzmq accepts until it reports EAGAIN.
            let push = try ZMQSocket(context, type: .push, options: [.sendHighWaterMark(10)])
            try push.connect("inproc://backpressure")
            func fill() throws -> Int {
                var sent = 0
                while true {
                    if try push.trySend(ZMQMessage([[UInt8](repeating: 9, count: 1000)])) { sent += 1; continue }
                    // Full: give the loop thread a bounded chance to move messages, then call it stalled.
                    if try push.poll(events: .pollOut, timeoutMilliseconds: 500).isEmpty { return sent }
                }
            }
            let firstFill = try fill()
            // Held back: no more than the two HWMs plus the bounded inbox (and the loop's one batch).
            #expect(firstFill >= capacity)
            #expect(firstFill <= capacity + 10 + 10 + 10)  // measured: exactly 70 = 50 + RCVHWM 10 + SNDHWM 10
            #expect(pull.peakBufferedCount <= capacity)
            #expect(pull.bufferedCount == capacity)

            // Consume everything queued; the loop resumes reading and the producer can go on.
            var iterator = pull.messages.makeAsyncIterator()
            for _ in 0..<firstFill { _ = try #require(try await iterator.next()) }
            let secondFill = try fill()
            #expect(secondFill >= capacity)
            #expect(pull.peakBufferedCount <= capacity)
            await loop.shutdown()
        }
    }

    /// Same over TCP with 64 KiB messages: the kernel's socket buffers add a bounded amount, the inbox
    /// never exceeds its capacity, and the sender is stopped by EAGAIN.
    @Test func slowConsumerOverTCPIsBounded() async throws {
        try await withDeadline(60) {
            let context = try ZMQContext()
            let loop = try ZMQPollLoop()
            let capacity = 50
            let pl = try ZMQSocket(context, type: .pull, options: [.receiveHighWaterMark(10)])
            try pl.bind("tcp://127.0.0.1:*")
            let pull = try loop.adopt(pl, inboundCapacity: capacity)
            let push = try ZMQSocket(context, type: .push, options: [.sendHighWaterMark(10)])
            try push.connect(try #require(pull.endpoint))
            let payload = [UInt8](repeating: 3, count: 64 << 10)
            var sent = 0
            while true {
                if try push.trySend(ZMQMessage([payload])) { sent += 1; continue }
                if try push.poll(events: .pollOut, timeoutMilliseconds: 500).isEmpty { break }
            }
            #expect(sent >= capacity)
            #expect(sent <= 1000)  // ≤ 64 MiB in flight whatever the consumer does (measured: 125)
            #expect(pull.peakBufferedCount <= capacity)
            var iterator = pull.messages.makeAsyncIterator()
            for _ in 0..<sent { #expect(try await iterator.next()?[0].count == 64 << 10) }
            await loop.shutdown()
        }
    }

    @Test func shutdownWithTrafficInFlightDoesNotHang() async throws {
        try await withDeadline {
            let context = try ZMQContext()
            let loop = try ZMQPollLoop()
            let r = try ZMQSocket(context, type: .router, linger: 0)
            try r.bind("tcp://127.0.0.1:*")
            let router = try loop.adopt(r, inboundCapacity: 16)
            let d = try ZMQSocket(context, type: .dealer, linger: 0, options: [.sendHighWaterMark(100)])
            try d.connect(try #require(router.endpoint))
            let dealer = try loop.adopt(d)
            // A producer that keeps sending; nobody reads the router, so sends pile up behind the HWM.
            let producer = Task {
                var accepted = 0
                while true {
                    let failures = await dealer.send(batch: Array(repeating: ZMQMessage([[UInt8](repeating: 0, count: 512)]), count: 100))
                    accepted += 100 - failures.count
                    if !failures.isEmpty {
                        #expect(failures.allSatisfy { $0.error.code == ZMQError.closed })
                        return accepted
                    }
                }
            }
            var iterator = router.messages.makeAsyncIterator()
            _ = try await iterator.next()  // traffic is flowing
            await loop.shutdown()
            let accepted = await producer.value
            #expect(accepted > 0)
            // After shutdown the consumer sees the end; new work is refused.
            while try await iterator.next() != nil {}
            await #expect(throws: ZMQError.self) { try await dealer.send(ZMQMessage(strings: ["late"])) }
            #expect(throws: ZMQError.self) { _ = try loop.adopt(try ZMQSocket(context, type: .pull)) }
        }
    }

    @Test func cancelledConsumerEndsIteration() async throws {
        try await withDeadline {
            let context = try ZMQContext()
            let loop = try ZMQPollLoop()
            let s = try ZMQSocket(context, type: .pull)
            try s.bind("inproc://idle")
            let pull = try loop.adopt(s)
            let consumer = Task {
                var count = 0
                for try await _ in pull.messages { count += 1 }
                return count
            }
            consumer.cancel()
            #expect(try await consumer.value == 0)
            await loop.shutdown()
        }
    }
}

/// A synchronous socket handed to another thread for a blocking call; the test uses it from one thread at a
/// time (it awaits each call), which is all a ZeroMQ socket asks.
final class HandedOver: @unchecked Sendable {
    let socket: ZMQSocket
    init(_ socket: consuming ZMQSocket) { self.socket = socket }
}
