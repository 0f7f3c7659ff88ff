import Testing
import ZeroMQ

@Suite struct CurveTests {
    @Test func keyPairAndZ85() throws {
        #expect(zmqHas("curve"))
        let pair = try CurveKeyPair.generate()
        #expect(pair.publicKey.bytes.count == 32)
        #expect(pair.publicKey.z85.count == 40)
        #expect(try CurveKey(z85: pair.secretKey.z85) == pair.secretKey)
        #expect(try CurveKeyPair(secretKey: pair.secretKey).publicKey == pair.publicKey)
        // RFC 32 test vector.
        #expect(Z85.encode([0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]) == "HelloWorld")
        #expect(try Z85.decode("HelloWorld") == [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B])
        #expect(throws: ZMQError.self) { try CurveKey(bytes: [1, 2, 3]) }
        #expect(throws: ZMQError.self) { try Z85.decode("abc") }
    }

    @Test func curveEncryptedRequestReply() throws {
        let context = try ZMQContext()
        let server = try CurveKeyPair.generate()
        let client = try CurveKeyPair.generate()
        let router = try ZMQSocket(context, type: .router, options: [.curveServer(true), .curveSecretKey(server.secretKey)])
        try router.bind("tcp://127.0.0.1:*")
        let dealer = try ZMQSocket(context, type: .dealer, options: [
            .curveServerKey(server.publicKey), .curvePublicKey(client.publicKey), .curveSecretKey(client.secretKey),
        ])
        try dealer.connect(try router.lastEndpoint)
        try dealer.send(ZMQMessage(strings: ["secret hello"]))
        let m = try #require(try router.receive(timeoutMilliseconds: 30_000))
        #expect(m.string(at: 1) == "secret hello")
        try router.send(ZMQMessage(routingID: m[0], [bytes("ok")]))
        #expect(try dealer.receive(timeoutMilliseconds: 30_000) == ZMQMessage(strings: ["ok"]))
    }
}
