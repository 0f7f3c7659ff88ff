import Testing
import ZeroMQ

@Suite struct SyncSocketTests {
    let context = try! ZMQContext()

    @Test func routerDealerRequestReplyWithIdentities() throws {
        let router = try ZMQSocket(context, type: .router, options: [.routerMandatory(true)])
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = try router.lastEndpoint
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
        #expect(!endpoint.hasSuffix(":*"))

        let a = try ZMQSocket(context, type: .dealer, options: [.routingID(bytes("client-a"))])
        let b = try ZMQSocket(context, type: .dealer, options: [.routingID(bytes("client-b"))])
        try a.connect(endpoint)
        try b.connect(endpoint)
        #expect(try a.routingID == bytes("client-a"))

        try a.send(ZMQMessage(strings: ["REQ", "from-a"]))
        try b.send(ZMQMessage(strings: ["REQ", "from-b"]))
        var seen: [String: String] = [:]
        for _ in 0..<2 {
            let m = try #require(try router.receive(timeoutMilliseconds: 30_000))
            #expect(m.count == 3)
            seen[m.string(at: 0)!] = m.string(at: 2)
            try router.send(ZMQMessage(routingID: m[0], [bytes("ACK"), m[2]]))
        }
        #expect(seen == ["client-a": "from-a", "client-b": "from-b"])
        #expect(try a.receive(timeoutMilliseconds: 30_000) == ZMQMessage(strings: ["ACK", "from-a"]))
        #expect(try b.receive(timeoutMilliseconds: 30_000) == ZMQMessage(strings: ["ACK", "from-b"]))
    }

    /// A CLI-style REQ client against a REP server; REQ's strict send/receive order is an error value.
    @Test func reqRepWithStateErrors() throws {
        let rep = try ZMQSocket(context, type: .rep)
        try rep.bind("inproc://req-rep")
        let req = try ZMQSocket(context, type: .req)
        try req.connect("inproc://req-rep")
        try req.send(ZMQMessage(strings: ["status", "cmp-1"]))
        do {
            try req.send(ZMQMessage(strings: ["again"]))
            Issue.record("second send on REQ succeeded")
        } catch {
            #expect(error.code == ZMQError.invalidState)
            #expect(error.name == "EFSM")
        }
        let request = try #require(try rep.receive(timeoutMilliseconds: 30_000))
        #expect(request == ZMQMessage(strings: ["status", "cmp-1"]))
        try rep.send(ZMQMessage(strings: ["running"]))
        #expect(try req.receive(timeoutMilliseconds: 30_000) == ZMQMessage(strings: ["running"]))
    }

    @Test func routerMandatoryReportsUnroutablePeer() throws {
        let router = try ZMQSocket(context, type: .router, options: [.routerMandatory(true)])
        try router.bind("inproc://mandatory")
        #expect(throws: ZMQError.self) { try router.send(ZMQMessage(strings: ["nobody", "x"])) }
        do {
            try router.send(ZMQMessage(strings: ["nobody", "x"]))
        } catch {
            #expect(error.code == ZMQError.hostUnreachable)
            #expect(error.name == "EHOSTUNREACH")
            #expect(error.operation == "send")
        }
    }

    @Test func pubSubFiltersByTopicPrefix() throws {
        let pub = try ZMQSocket(context, type: .pub)
        try pub.bind("tcp://127.0.0.1:*")
        let sub = try ZMQSocket(context, type: .sub, options: [.subscribe("cmp.4."), .subscribe("probe")])
        try sub.connect(try pub.lastEndpoint)
        try awaitSubscription(pub: pub, sub: sub, probe: ZMQMessage(strings: ["probe"]))

        for topic in ["cmp.4.a", "cmp.42.b", "other", "cmp.4.c", "cmp.4.end"] {
            try pub.send(ZMQMessage(strings: [topic, "body-" + topic]))
        }
        var got: [String] = []
        while got.last != "cmp.4.end" {
            let m = try #require(try sub.receive(timeoutMilliseconds: 30_000))
            got.append(m.string(at: 0)!)
            #expect(m.string(at: 1) == "body-" + m.string(at: 0)!)
        }
        #expect(got == ["cmp.4.a", "cmp.4.c", "cmp.4.end"])

        try sub.set(.unsubscribe("cmp.4."))
        try sub.set(.subscribe("zz"))
        try awaitSubscription(pub: pub, sub: sub, probe: ZMQMessage(strings: ["zz-probe"]))
        try pub.send(ZMQMessage(strings: ["cmp.4.x"]))
        try pub.send(ZMQMessage(strings: ["zz-last"]))
        #expect(try sub.receive(timeoutMilliseconds: 30_000)?.string(at: 0) == "zz-last")
    }

    @Test func pushPullMultipartOverInproc() throws {
        let pull = try ZMQSocket(context, type: .pull)
        try pull.bind("inproc://push-pull")
        let push = try ZMQSocket(context, type: .push)
        try push.connect("inproc://push-pull")
        let messages = (0..<100).map { i in ZMQMessage([[UInt8(i)], [], bytes("part-\(i)"), [UInt8](repeating: 7, count: i)]) }
        for m in messages { try push.send(m) }
        for m in messages { #expect(try pull.receive(timeoutMilliseconds: 30_000) == m) }
        #expect(try pull.tryReceive() == nil)
    }

    @Test func largeMessageRoundTrip() throws {
        let pull = try ZMQSocket(context, type: .pull)
        try pull.bind("tcp://127.0.0.1:*")
        let push = try ZMQSocket(context, type: .push)
        try push.connect(try pull.lastEndpoint)
        let big = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try push.send(ZMQMessage([bytes("head"), big]))
        let m = try #require(try pull.receive(timeoutMilliseconds: 10_000))
        #expect(m.count == 2)
        #expect(m[1].count == 4 << 20)
        #expect(m[1] == big)
    }

    @Test func maxMessageSizeAndFrameCap() throws {
        let pull = try ZMQSocket(context, type: .pull, options: [.maxMessageSize(1024)])
        pull.maxFramesPerMessage = 3
        try pull.bind("tcp://127.0.0.1:*")
        let push = try ZMQSocket(context, type: .push)
        try push.connect(try pull.lastEndpoint)
        try push.send(ZMQMessage([[1], [2], [3], [4]]))  // too many frames: discarded
        try push.send(ZMQMessage([[5], [6]]))
        #expect(try pull.receive(timeoutMilliseconds: 30_000) == ZMQMessage([[5], [6]]))
        #expect(pull.discardedMessages == 1)
    }

    @Test func errorsAreClearValues() throws {
        let s = try ZMQSocket(context, type: .pull)
        #expect { try s.bind("tcp://no-such-interface-xyz:1") } throws: { error in
            let e = error as! ZMQError
            return e.operation == "bind tcp://no-such-interface-xyz:1" && !e.message.isEmpty
        }
        #expect { try s.bind("bogus://x") } throws: { ($0 as! ZMQError).code == ZMQError.protocolNotSupported }
        #expect { try s.connect("tcp://") } throws: { ($0 as! ZMQError).code == ZMQError.invalidArgument }

        try s.bind("tcp://127.0.0.1:*")
        let endpoint = try s.lastEndpoint
        let other = try ZMQSocket(context, type: .pull)
        do {
            try other.bind(endpoint)
            Issue.record("second bind succeeded")
        } catch {
            #expect(error.code == ZMQError.addressInUse)
            #expect(error.name == "EADDRINUSE")
            #expect(error.message == "Address already in use")
            #expect(error.description.contains("bind \(endpoint)"))
        }
        #expect { try s.send(ZMQMessage(strings: ["x"])) } throws: { ($0 as! ZMQError).code == ZMQError.notSupported }
        #expect { try other.send(ZMQMessage([])) } throws: { ($0 as! ZMQError).code == ZMQError.invalidArgument }
        #expect { try s.set(.routingID([])) } throws: { ($0 as! ZMQError).operation == "set ROUTING_ID" }
    }

    @Test func serverOptionsApply() throws {
        let keys = try CurveKeyPair.generate()
        let s = try ZMQSocket(context, type: .router, linger: 100, options: [
            .sendHighWaterMark(100_000), .receiveHighWaterMark(50_000), .maxMessageSize(65_536),
            .routerMandatory(true), .curveServer(true), .curveSecretKey(keys.secretKey),
            .curvePublicKey(keys.publicKey), .heartbeatInterval(milliseconds: 5000),
            .heartbeatTimeout(milliseconds: 15_000), .heartbeatTTL(milliseconds: 20_000),
            .handshakeInterval(milliseconds: 5000), .zapDomain("leads"), .zapEnforceDomain(true), .immediate(false),
            .reconnectInterval(milliseconds: 100), .reconnectIntervalMax(milliseconds: 2000), .tcpKeepalive(1),
        ])
        let xpub = try ZMQSocket(context, type: .xpub, options: [.xpubVerbose(true), .xpubNoDrop(true)])
        try xpub.bind("inproc://xpub-options")
        try s.bind("tcp://127.0.0.1:*")
        let sub = try ZMQSocket(context, type: .sub, options: [.subscribe("a"), .unsubscribe("a"), .subscribe([])])
        try sub.set(.receiveTimeout(milliseconds: 1))
        #expect(throws: ZMQError.self) { _ = try sub.receive() }  // EAGAIN after RCVTIMEO
    }
}

@Suite struct TruncatedMessageTests {
    /// With `keepsTruncatedMessages` a message over the frame cap arrives cut and marked, on both receive
    /// paths (the synchronous one and the poll loop's batches), instead of vanishing.
    @Test func overTheFrameCapArrivesMarked() async throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context, type: .pull)
        pull.maxFramesPerMessage = 3
        pull.keepsTruncatedMessages = true
        try pull.bind("inproc://truncated")
        let push = try ZMQSocket(context, type: .push)
        try push.connect("inproc://truncated")
        try push.send(ZMQMessage([[1], [2], [3], [4], [5]]))
        try push.send(ZMQMessage([[1], [2], [3]]))
        let cut = try pull.receive()
        #expect(cut.frames == [[1], [2], [3]] && cut.isTruncated)
        #expect(try pull.receive().isTruncated == false)
        #expect(pull.discardedMessages == 1)

        let loop = try ZMQPollLoop(name: "test-trunc")
        let async = try loop.adopt(pull)
        try push.send(ZMQMessage([[9], [8], [7], [6]]))
        try push.send(ZMQMessage([[9]]))
        var it = async.messages.makeAsyncIterator()
        let first = try #require(try await it.next())
        #expect(first.frames == [[9], [8], [7]] && first.isTruncated)
        let second = try #require(try await it.next())
        #expect(second.frames == [[9]] && !second.isTruncated)
        await loop.shutdown()
    }
}
