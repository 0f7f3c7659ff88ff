import AbmTestSupport
import AbmWire
import CampaignCore
import CampaignStore
@testable import CampaignGateway
import Foundation
import Testing
import ZeroMQ

/// Key files, allow-lists and the ZAP handler of a CURVE server, over tcp loopback (issue #12).
@Suite(.timeLimit(.minutes(1)))
struct CurveServerTests {
    /// A directory of key files for one server: its key pair and the three allow-lists.
    struct Keys {
        let directory: URL
        let server: CurveKeyPair
        let settings: CurveServerSettings

        init(producers: [CurveKey], operators: [CurveKey], subscribers: [CurveKey]) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("abm-curve-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            server = try CurveKeyPair.generate()
            settings = CurveServerSettings(secretKeyFile: directory.appendingPathComponent("server.key").path,
                                           producersFile: directory.appendingPathComponent("producers").path,
                                           operatorsFile: directory.appendingPathComponent("operators").path,
                                           subscribersFile: directory.appendingPathComponent("subscribers").path)
            try CurveKeyFile.render(server.secretKey, comment: "server secret").write(toFile: settings.secretKeyFile, atomically: true, encoding: .utf8)
            try write(settings.producersFile, producers)
            try write(settings.operatorsFile, operators)
            try write(settings.subscribersFile, subscribers)
        }

        func write(_ path: String, _ keys: [CurveKey]) throws {
            let text = "# allowed clients\n" + keys.map { "\($0.z85)  # client\n" }.joined()
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }

        /// Options of a CURVE client with `keys`.
        func client(_ keys: CurveKeyPair) -> [SocketOption] {
            [.curveServerKey(server.publicKey), .curvePublicKey(keys.publicKey), .curveSecretKey(keys.secretKey)]
        }
    }

    static func start(_ keys: Keys) async throws -> AbmServer {
        var options = ServerOptions(endpoints: .ephemeral, virtualClockStart: ServerFixture.t0)
        options.logger.logLevel = .critical
        options.curve = keys.settings
        return try await AbmServer.start(options: options)
    }

    /// Waits (bounded) until the ZAP handler has refused `count` handshakes.
    static func waitForRefusals(_ server: AbmServer, _ count: Int) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while (server.authenticationStatistics?.refused ?? 0) < count {
            guard ContinuousClock.now < deadline else { throw Timeout(what: "\(count) ZAP refusals") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func anAllowedKeyWorksOnAllThreeSockets() async throws {
        let producer = try CurveKeyPair.generate(), operatorKeys = try CurveKeyPair.generate()
        let subscriber = try CurveKeyPair.generate()
        let keys = try Keys(producers: [producer.publicKey], operators: [operatorKeys.publicKey], subscribers: [subscriber.publicKey])
        defer { keys.remove() }
        let server = try await Self.start(keys)
        let ingress = try TestPeer.dealer(server.endpoints.ingress, options: keys.client(producer))
        let control = try TestPeer.dealer(server.endpoints.control, options: keys.client(operatorKeys))
        let sub = try TestPeer.subscriber(server.endpoints.events, options: keys.client(subscriber))

        // The subscription travels over an authenticated connection too: warm up until an event arrives.
        var seen: JSONValue?
        for k in 0..<100 where seen == nil {
            let ack = try await ingress.call(lead(id: "curve-\(k)", account: "curve-\(k)"))
            #expect(ack["status"] == "accepted")
            if let m = await sub.mailbox.take(within: 0.05) { seen = try JSONParser.parse(m[1]) }
        }
        #expect(seen?["account_id"]?.stringValue?.hasPrefix("curve-") == true)
        let status = try await control.call(["type": "status", "id": "s-1", "account_id": "curve-0"])
        #expect(status["ok"] == true)
        #expect(server.authenticationStatistics?.admitted == 3)
        #expect(server.authenticationStatistics?.refused == 0)
        await ingress.close(); await control.close(); await sub.close()
        await server.stop()
    }

    @Test func aPlaintextClientIsRefused() async throws {
        let producer = try CurveKeyPair.generate()
        let keys = try Keys(producers: [producer.publicKey], operators: [], subscribers: [])
        defer { keys.remove() }
        let server = try await Self.start(keys)
        let plain = try TestPeer.dealer(server.endpoints.ingress)
        // Sent aside: once the failed handshake has dropped the DEALER's only pipe, its send waits for a
        // connection that never comes (this hung about one run in fifteen); `close` fails it below.
        let plainSend = Task { try? await plain.send(lead(id: "plain", account: "plain")) }
        // The handshake fails on the mechanism (NULL against CURVE): a CURVE client queued after it is
        // served, while the plaintext request never arrives.
        let good = try TestPeer.dealer(server.endpoints.ingress, options: keys.client(producer))
        #expect(try await good.call(lead(id: "good", account: "good"))["status"] == "accepted")
        #expect(await plain.mailbox.take(within: 0.5) == nil)
        #expect(server.statistics.requests == 1)
        await plain.close(); await good.close()
        await plainSend.value
        await server.stop()
    }

    @Test func anUnknownKeyIsRefusedAndAKeyOfAnotherSocketToo() async throws {
        let producer = try CurveKeyPair.generate(), stranger = try CurveKeyPair.generate()
        let keys = try Keys(producers: [producer.publicKey], operators: [], subscribers: [])
        defer { keys.remove() }
        let server = try await Self.start(keys)
        // Both sent aside: a refusal that comes before the send is queued drops the DEALER's only pipe,
        // and the send then waits for a connection that never comes (as in aPlaintextClientIsRefused).
        let intruder = try TestPeer.dealer(server.endpoints.ingress, options: keys.client(stranger))
        let intruderSend = Task { try? await intruder.send(lead(id: "intruder", account: "intruder")) }
        // A producer key is not an operator key: the lists are per socket.
        let wrongSocket = try TestPeer.dealer(server.endpoints.control, options: keys.client(producer))
        let wrongSocketSend = Task { try? await wrongSocket.send(["type": "status", "id": "s-1", "account_id": "x"]) }
        try await Self.waitForRefusals(server, 2)
        let good = try TestPeer.dealer(server.endpoints.ingress, options: keys.client(producer))
        #expect(try await good.call(lead(id: "good", account: "good"))["status"] == "accepted")
        #expect(await intruder.mailbox.take(within: 0.2) == nil)
        #expect(await wrongSocket.mailbox.take(within: 0.2) == nil)
        #expect(server.statistics.requests == 1)
        await intruder.close(); await wrongSocket.close(); await good.close()
        await intruderSend.value; await wrongSocketSend.value
        await server.stop()
    }

    @Test func aRemovedKeyIsRefusedAfterAReloadAndABadFileKeepsTheLists() async throws {
        let first = try CurveKeyPair.generate(), second = try CurveKeyPair.generate()
        let keys = try Keys(producers: [first.publicKey], operators: [], subscribers: [])
        defer { keys.remove() }
        let server = try await Self.start(keys)
        let a = try TestPeer.dealer(server.endpoints.ingress, options: keys.client(first))
        #expect(try await a.call(lead(id: "a-1", account: "a"))["status"] == "accepted")

        try keys.write(keys.settings.producersFile, [second.publicKey])
        let lists = try await server.reloadAllowLists()
        #expect(lists.producers == [second.publicKey])
        let again = try TestPeer.dealer(server.endpoints.ingress, options: keys.client(first))
        // Sent aside: if the refusal comes before the send is queued (seen under ThreadSanitizer, whose
        // slowdown lets libzmq's handshake win), the DEALER has no pipe left and the send waits until
        // `close` below fails it.
        let againSend = Task { try? await again.send(lead(id: "a-2", account: "a")) }
        try await Self.waitForRefusals(server, 1)
        let b = try TestPeer.dealer(server.endpoints.ingress, options: keys.client(second))
        #expect(try await b.call(lead(id: "b-1", account: "b"))["status"] == "accepted")
        #expect(await again.mailbox.take(within: 0.2) == nil)

        // A broken file: the reload fails naming file and line, and the lists in force stay.
        try "# ok\nnot-a-key\n".write(toFile: keys.settings.producersFile, atomically: true, encoding: .utf8)
        do {
            try await server.reloadAllowLists()
            Issue.record("a bad list was loaded")
        } catch {
            #expect(error.code == SecurityError.badKeyFile)
            #expect(error.file == keys.settings.producersFile && error.line == 2)
        }
        let b2 = try TestPeer.dealer(server.endpoints.ingress, options: keys.client(second))
        #expect(try await b2.call(lead(id: "b-2", account: "b"))["status"] == "accepted")
        #expect(server.authenticationStatistics?.reloads == 1)
        await a.close(); await again.close(); await b.close(); await b2.close()
        await againSend.value
        await server.stop()
    }

    /// ZAP sees handshakes only: without the rebind on reload, `a`, `c` and `s` keep working on their
    /// open connections after their keys are removed.
    @Test func aRemovedKeyLosesItsOpenConnectionsOnAllThreeSockets() async throws {
        let producer = try CurveKeyPair.generate(), operatorKeys = try CurveKeyPair.generate()
        let subscriber = try CurveKeyPair.generate(), keeper = try CurveKeyPair.generate()
        let keys = try Keys(producers: [producer.publicKey, keeper.publicKey], operators: [operatorKeys.publicKey],
                            subscribers: [subscriber.publicKey])
        defer { keys.remove() }
        let server = try await Self.start(keys)
        let a = try TestPeer.dealer(server.endpoints.ingress, options: keys.client(producer))
        let k = try TestPeer.dealer(server.endpoints.ingress, options: keys.client(keeper))
        let c = try TestPeer.dealer(server.endpoints.control, options: keys.client(operatorKeys))
        let s = try TestPeer.subscriber(server.endpoints.events, options: keys.client(subscriber))
        var subscribed = false
        for n in 0..<100 where !subscribed {
            #expect(try await a.call(lead(id: "a-\(n)", account: "a-\(n)"))["status"] == "accepted")
            subscribed = await s.mailbox.take(within: 0.05) != nil
        }
        #expect(subscribed)
        while await s.mailbox.take(within: 0.1) != nil {}
        #expect(try await k.call(lead(id: "k-0", account: "k"))["status"] == "accepted")
        #expect(try await c.call(["type": "status", "id": "s-0", "account_id": "k"])["ok"] == true)
        while await s.mailbox.take(within: 0.1) != nil {}

        try keys.write(keys.settings.producersFile, [keeper.publicKey])
        try keys.write(keys.settings.operatorsFile, [])
        try keys.write(keys.settings.subscribersFile, [])
        try await server.reloadAllowLists()

        // The kept key reconnects (a request caught in the cut is resent, as a client does on a timeout).
        var kept: JSONValue?
        for _ in 0..<50 where kept == nil {
            try await k.send(lead(id: "k-1", account: "k"))
            if let reply = await k.mailbox.take(within: 0.2) { kept = try JSONParser.parse(reply[1]) }
        }
        #expect(kept?["id"] == "k-1")
        // The removed keys get nothing on the connections they had: no ack, no reply, no event. (A DEALER
        // left without a connection holds its send until one exists: sent aside, failed by close below.)
        let lateA = Task { try? await a.send(lead(id: "a-late", account: "a-late")) }
        let lateC = Task { try? await c.send(["type": "status", "id": "s-late", "account_id": "k"]) }
        #expect(await a.mailbox.take(within: 0.5) == nil)
        #expect(await c.mailbox.take(within: 0.1) == nil)
        #expect(await s.mailbox.take(within: 0.1) == nil)
        try await Self.waitForRefusals(server, 3)
        let stored = try await server.store.reply(for: RequestKey(space: .ingress, id: "a-late"))
        #expect(stored == nil)
        await a.close(); await k.close(); await c.close(); await s.close()
        await lateA.value; await lateC.value
        await server.stop()
    }

    @Test func badKeyFilesNameTheFileAndLineAndStopStartUp() async throws {
        let pair = try CurveKeyPair.generate()
        #expect(try CurveKeyFile.parse("# c\n\n \(pair.publicKey.z85) # alice\r\n#\n", path: "f") == [pair.publicKey])
        #expect(throws: SecurityError(code: "bad_key_file", message: "text after the key that is not a # comment", file: "f", line: 1)) {
            try CurveKeyFile.parse("\(pair.publicKey.z85) alice\n", path: "f")
        }
        do {
            _ = try CurveKeyFile.parse("\(pair.publicKey.z85)\n\(pair.publicKey.z85.dropLast())\n", path: "list")
            Issue.record("a short key was accepted")
        } catch {
            #expect(error == SecurityError(code: "bad_key_file", message: error.message, file: "list", line: 2))
            #expect(error.description.hasPrefix("bad_key_file: list:2: "))
        }
        let keys = try Keys(producers: [], operators: [], subscribers: [])
        defer { keys.remove() }
        try "\(pair.publicKey.z85)\n\(pair.publicKey.z85)\n".write(toFile: keys.settings.secretKeyFile, atomically: true, encoding: .utf8)
        await #expect(throws: SecurityError(code: "bad_key_file", message: "must hold exactly one key, found 2",
                                            file: keys.settings.secretKeyFile)) {
            _ = try await Self.start(keys)
        }
        try CurveKeyFile.render(pair.secretKey, comment: "ok").write(toFile: keys.settings.secretKeyFile, atomically: true, encoding: .utf8)
        var missing = keys.settings
        missing.subscribersFile = keys.directory.appendingPathComponent("nope").path
        do {
            var options = ServerOptions(endpoints: .ephemeral)
            options.curve = missing
            _ = try await AbmServer.start(options: options)
            Issue.record("started with a missing list")
        } catch let error as SecurityError {
            #expect(error.code == "bad_key_file" && error.file == missing.subscribersFile)
        }
    }

    @Test func aPublicBindWithoutCurveNeedsInsecure() async throws {
        #expect(BindPolicy.isLocal("tcp://127.0.0.1:5570"))
        #expect(BindPolicy.isLocal("tcp://localhost:*"))
        #expect(BindPolicy.isLocal("tcp://[::1]:5570"))
        #expect(BindPolicy.isLocal("ipc:///run/abm/ingress"))
        #expect(!BindPolicy.isLocal("tcp://*:5570"))
        #expect(!BindPolicy.isLocal("tcp://0.0.0.0:5570"))
        #expect(!BindPolicy.isLocal("tcp://10.0.0.5:5570"))
        #expect(!BindPolicy.isLocal("tcp://eth0:5570"))
        #expect(!BindPolicy.isLocal("tcp://127.0.0.1.example.com:5570"))

        var options = ServerOptions(endpoints: .ephemeral)
        options.logger.logLevel = .critical
        options.endpoints.events = "tcp://0.0.0.0:*"
        do {
            _ = try await AbmServer.start(options: options)
            Issue.record("bound a public address without CURVE")
        } catch let error as SecurityError {
            #expect(error.code == SecurityError.insecureBind)
            #expect(error.message.contains("tcp://0.0.0.0:*"))
        }
        options.insecure = true
        let server = try await AbmServer.start(options: options)
        #expect(server.authenticationStatistics == nil)
        await server.stop()
    }

    @Test func theConfigFileTakesACurveObjectAndNamesBadKeys() throws {
        let file = try ServerConfigFile(json: [
            "curve": ["secret_key": "s.key", "allow_producers": "p", "allow_operators": "o", "allow_subscribers": "u"],
            "insecure": true,
        ])
        var options = ServerOptions()
        file.apply(to: &options)
        #expect(options.curve == CurveServerSettings(secretKeyFile: "s.key", producersFile: "p", operatorsFile: "o", subscribersFile: "u"))
        #expect(options.insecure)
        for (json, field) in [
            (["curve": ["secret_key": "s.key"]] as JSONValue, "curve.allow_producers"),
            (["curve": ["secret_key": "s", "allow_producers": "p", "allow_operators": "o", "allow_subscribers": "u", "x": "y"]], "curve.x"),
            (["curve": ["secret_key": 1, "allow_producers": "p", "allow_operators": "o", "allow_subscribers": "u"]], "curve.secret_key"),
            (["curve": "server.key"], "curve"),
            (["insecure": "yes"], "insecure"),
        ] {
            do {
                _ = try ServerConfigFile(json: json)
                Issue.record("accepted \(json)")
            } catch {
                #expect(error.code == ErrorCode.invalidConfig)
                #expect(error.field == field)
            }
        }
    }

    /// The Python client with keys: the library (`load_curve` from NAME.pub/NAME.key files) on all three
    /// sockets, and its CLI with `--server-key Z85 --key FILE`; without keys it gets no answer.
    @Test func thePythonClientConnectsWithKeys() async throws {
        let client = try CurveKeyPair.generate()
        let keys = try Keys(producers: [client.publicKey], operators: [client.publicKey], subscribers: [client.publicKey])
        defer { keys.remove() }
        let server = try await Self.start(keys)
        let serverPub = keys.directory.appendingPathComponent("server.pub").path
        let clientKey = keys.directory.appendingPathComponent("client.key").path
        try CurveKeyFile.render(keys.server.publicKey, comment: "server").write(toFile: serverPub, atomically: true, encoding: .utf8)
        try CurveKeyFile.render(client.secretKey, comment: "client").write(toFile: clientKey, atomically: true, encoding: .utf8)
        let script = """
        import json, os, subprocess, sys
        sys.path.insert(0, sys.argv[1])
        from abm_client import AbmClient, load_curve
        ingress, control, events, server_pub, client_key = sys.argv[2:7]
        curve = load_curve(server_pub, client_key)
        c = AbmClient(ingress=ingress, control=control, events=events, timeout=10, curve=curve)
        ack = c.send_lead({"account_id": "py", "email": "ada@py.example.com", "name": "Ada", "timezone": "UTC"})
        assert ack["status"] == "accepted", ack
        assert c.status("py")["account_id"] == "py"
        got = list(c.subscribe(after_seq=0, idle_timeout=0.3))
        assert got and got[0][1]["account_id"] == "py", got
        plain = AbmClient(ingress=ingress, control=control, events=events, timeout=0.5)
        try:
            plain.send_lead({"account_id": "plain", "email": "x@plain.example.com"})
            raise SystemExit("a plaintext client was answered")
        except TimeoutError:
            pass
        cli = [sys.executable, "-m", "abm_client", "--control", control, "--timeout", "10",
               "--server-key", curve["server_public"], "--key", client_key, "status", "py"]
        env = dict(os.environ, PYTHONPATH=sys.argv[1])
        out = subprocess.run(cli, capture_output=True, text=True, timeout=30, env=env)
        assert out.returncode == 0 and json.loads(out.stdout)["ok"], (out.stdout, out.stderr)
        bad = subprocess.run(cli[:-4] + ["--key", server_pub + ".missing", "status", "py"], capture_output=True, text=True,
                             env=env)
        assert bad.returncode == 2 and ".missing" in bad.stderr, (bad.returncode, bad.stderr)
        print("ok")
        """
        let file = keys.directory.appendingPathComponent("curve_client.py")
        try Data(script.utf8).write(to: file)
        let e = server.endpoints
        let (status, output) = try await runPythonScript(file, [Repo.protocols.appendingPathComponent("client").path,
                                                               e.ingress, e.control, e.events, serverPub, clientKey])
        #expect(status == 0, "\(output)")
        await server.stop()
    }
}
