import AbmTestSupport
import Testing
import ZeroMQ

/// CURVE + a ZAP handler (RFC 27) written with this layer: an allowlist of client keys, the User-Id
/// reaching each message, unknown keys refused.
@Suite struct ZAPTests {
    @Test func curveWithZapAllowlist() async throws {
        try await withDeadline {
            let context = try ZMQContext()
            let loop = try ZMQPollLoop()
            let server = try CurveKeyPair.generate()
            let allowed = try CurveKeyPair.generate()
            let unknown = try CurveKeyPair.generate()

            // The handler must be bound in the same context before clients connect.
            let z = try ZMQSocket(context, type: .router)
            try z.bind("inproc://zeromq.zap.01")
            let zap = try loop.adopt(z)
            let decisions = Task { () -> [String] in
                var log: [String] = []
                for try await request in zap.messages {
                    // [peer, "", "1.0", request_id, domain, address, identity, mechanism, client key]
                    let key = try CurveKey(bytes: request[8])
                    let ok = key == allowed.publicKey && request.string(at: 4) == "leads"
                    log.append(ok ? "allow" : "deny")
                    try await zap.send(ZMQMessage([request[0], [], bytes("1.0"), request[3],
                                                   bytes(ok ? "200" : "400"), bytes(ok ? "OK" : "unknown key"),
                                                   bytes(ok ? "producer-1" : ""), []]))
                    if log.count == 2 { break }
                }
                return log
            }

            let r = try ZMQSocket(context, type: .router, options: [
                .curveServer(true), .curveSecretKey(server.secretKey), .zapDomain("leads"), .zapEnforceDomain(true),
            ])
            r.readsUserID = true
            try r.bind("tcp://127.0.0.1:*")
            let router = try loop.adopt(r)
            let endpoint = try #require(router.endpoint)

            func client(_ keys: CurveKeyPair) throws -> AsyncZMQSocket {
                let d = try ZMQSocket(context, type: .dealer, options: [
                    .curveServerKey(server.publicKey), .curvePublicKey(keys.publicKey), .curveSecretKey(keys.secretKey),
                ])
                try d.connect(endpoint)
                return try loop.adopt(d)
            }
            let intruder = try client(unknown)
            try await intruder.send(ZMQMessage(strings: ["from intruder"]))
            let producer = try client(allowed)
            try await producer.send(ZMQMessage(strings: ["from producer"]))

            var iterator = router.messages.makeAsyncIterator()
            let first = try #require(try await iterator.next())
            #expect(first.string(at: 1) == "from producer")
            #expect(first.userID == "producer-1")
            #expect(try await decisions.value.sorted() == ["allow", "deny"])
            await loop.shutdown()
        }
    }
}
