import AbmTestSupport
import AbmWire
import CampaignCore
import CampaignGateway
import Foundation
import Synchronization
import Testing

/// What an operator runs and reads: `--version`, the structured log (and that it holds no personal data at
/// info), systemd's readiness notification, `abm backup` while the server runs, `abm report` over the wire.
@Suite(.timeLimit(.minutes(2)))
struct OperationsTests {
    static func abm(_ args: [String]) async throws -> CurveEndToEndTests.Run {
        try await CurveEndToEndTests.abm(args)
    }

    static func scratch() throws -> String {
        let dir = ServerProcess.tempDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func versionFlagNamesTheReleaseProtocolAndSchema() async throws {
        let run = try await Self.abm(["--version"])
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix("abm \(AbmVersion.current) (protocol abm-wire-v1, store schema "))
        // keygen --json names the files and the public key.
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let keygen = try await Self.abm(["keygen", dir + "/k", "--json"])
        #expect(keygen.status == 0)
        let pair = try JSONParser.parse(Array(keygen.stdout.utf8))
        #expect(pair["public_key"]?.stringValue?.count == 40 && pair["secret_key_file"] == .string(dir + "/k.key"))
        // No server: health fails with the timeout's status, and with --json says so on stdout too.
        let health = try await Self.abm(["health", "--control", "tcp://127.0.0.1:9", "--timeout", "0.3", "--json"])
        #expect(health.status == 3)
        #expect(try JSONParser.parse(Array(health.stdout.utf8))["error"]?["code"] == "timeout")
    }

    // MARK: Logs

    /// A whole scenario at info: leads with names, emails and phones, a response with text, refusals whose
    /// input carries personal data, touches sent with their messages. The log must hold none of it, and
    /// one `request refused` line per refused request with its code.
    @Test func infoLogHasOneLinePerRefusalAndNoPersonalData() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = dir + "/abm.json"
        try Data(#"{"campaign":{"max_touchpoints":4}}"#.utf8).write(to: URL(fileURLWithPath: config))
        let logFile = dir + "/server.log"
        let server = try await ServerProcess.start(dataDirectory: dir + "/data", config: config, logLevel: "info",
                                                   logFile: logFile)
        let c = try Clients(server.endpoints)

        var personal: Set<String> = ["Priya Raman", "priya.raman@initech.example", "+14155550123", "Tomás Ortega",
                                     "tomas.ortega@initech.example", "+34911555012", "Jenny Q. Public",
                                     "call me on +14155550199", "ghost.person@nowhere.example", "leaky@secret.example"]
        let leadBody: JSONValue = [
            "type": "lead", "id": "ops-lead-1",
            "lead": [
                "account_id": "initech", "id": "p1", "name": "Priya Raman", "email": "priya.raman@initech.example",
                "phone": "+14155550123", "title": "VP Marketing", "timezone": "America/New_York",
                "account_contacts": [["id": "p2", "name": "Tomás Ortega", "email": "tomas.ortega@initech.example",
                                      "phone": "+34911555012", "title": "Head of Growth", "timezone": "Europe/Madrid"]],
            ],
        ]
        #expect(try await c.ingress.call(leadBody)["status"] == "accepted")
        _ = try await c.advance(days: 12)
        #expect(try await c.ingress.call([
            "type": "response", "id": "ops-resp-1", "account_id": "initech",
            "contact_email": "tomas.ortega@initech.example", "kind": "reply",
            "text": "Sure, call me on +14155550199 or ask Jenny Q. Public",
        ])["status"] == "accepted")

        // Refusals, each carrying personal data in what was sent.
        var refused: [(id: String, code: String)] = []
        func expectRefused(_ reply: JSONValue, _ id: String) {
            let code = reply["error"]?["code"]?.stringValue
            #expect(code != nil, "not refused: \(reply)")
            refused.append((id, code ?? "?"))
        }
        expectRefused(try await c.ingress.call([
            "type": "lead", "id": "bad-email",
            "lead": ["account_id": "hooli", "name": "Jenny Q. Public", "email": "Jenny Q. Public <no address>"],
        ]), "bad-email")
        expectRefused(try await c.ingress.call([
            "type": "response", "id": "ghost", "account_id": "nobody-corp",
            "contact_email": "ghost.person@nowhere.example", "kind": "reply",
        ]), "ghost")
        expectRefused(try await c.control.call(["type": "pause", "id": "no-campaign", "account_id": "nobody-corp"]), "no-campaign")
        expectRefused(try await c.control.call(["type": "resume", "id": "not-paused", "account_id": "initech-2"]), "not-paused")
        // Not JSON at all: refused with `invalid_json`, no id to name.
        try await c.ingress.socket.send(.init([[], Array(#"{"type":"lead","id":"raw","lead":{"email":"leaky@secret.example""#.utf8)]))
        let invalid = try await c.ingress.receiveJSON()
        #expect(invalid["error"]?["code"] == "invalid_json")

        // Every message body, subject and contact detail the campaign produced is personal too.
        for event in try await c.replay() {
            for key in ["message", "subject", "contact_email", "contact_name", "contact_phone", "email", "call_script"] {
                guard let text = event[key]?.stringValue else { continue }
                personal.insert(text)
                for line in text.split(separator: "\n") where line.count >= 12 { personal.insert(String(line)) }
            }
            for contact in event["contacts"]?.arrayValue ?? [] {
                for key in ["email", "name"] { if let text = contact[key]?.stringValue { personal.insert(text) } }
            }
        }
        #expect(personal.count > 15)
        await c.close()
        #expect(await server.terminate() == 0)

        let log = try String(contentsOfFile: logFile, encoding: .utf8)
        for text in personal where text.count >= 5 {
            #expect(!log.contains(text), "the log holds personal data: \(text)")
        }
        let lines = log.split(separator: "\n").map(String.init)
        let start = try #require(lines.first { $0.contains("msg=starting") })
        #expect(start.contains("version=\(AbmVersion.current)"))
        #expect(start.contains("store=sqlite:\(dir)/data/abm.sqlite"))
        #expect(start.contains("clock=virtual:2026-03-02T09:00:00.000Z"))
        #expect(start.contains("config=\(config)"))
        #expect(start.hasPrefix("ts=") && start.contains(" level=info logger=abm.server "))
        let refusals = lines.filter { $0.contains(#"msg="request refused""#) }
        #expect(refusals.count == refused.count + 1, "\(refusals)")
        for (id, code) in refused {
            #expect(refusals.contains { $0.contains("request_id=\(id) ") && $0.contains("code=\(code) ") }, "\(id) \(code)")
        }
        #expect(refusals.contains { $0.contains("code=invalid_json") && $0.contains("socket=ingress") })
        #expect(lines.contains { $0.contains("msg=stopped") })
    }

    @Test func jsonLogFormatWritesOneObjectALineAndDebugAddsRequestLines() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let logFile = dir + "/server.log"
        let server = try await ServerProcess.start(dataDirectory: dir + "/data", logLevel: "debug", logFile: logFile,
                                                   extraArguments: ["--log-format", "json"])
        let c = try Clients(server.endpoints)
        #expect(try await c.ingress.call(lead(id: "json-1", account: "acme"))["status"] == "accepted")
        #expect(try await c.control.call(["type": "status", "id": "s-unknown", "account_id": "nobody"])["ok"] == false)
        await c.close()
        #expect(await server.terminate() == 0)
        let lines = try String(contentsOfFile: logFile, encoding: .utf8).split(separator: "\n")
        #expect(lines.count > 5)
        var messages: [String] = []
        for line in lines {
            let object = try JSONParser.parse(Array(line.utf8))
            #expect(object["ts"]?.stringValue != nil && object["level"]?.stringValue != nil && object["logger"] != nil)
            messages.append(object["msg"]?.stringValue ?? "")
            if object["msg"] == "request refused" {
                #expect(object["code"] == "not_found" && object["request_id"] == "s-unknown")
                // At debug the refusal line also says why and about which account.
                #expect(object["account_id"] == "nobody" && object["detail"]?.stringValue?.isEmpty == false)
            }
        }
        #expect(messages.contains("starting") && messages.contains("request refused") && messages.contains("stopped"))
        // Debug adds the commits (counts and time, never their content).
        #expect(messages.contains("committed"))
        #expect(lines.contains { $0.contains(#""msg":"request""#) && $0.contains(#""request_id":"json-1""#) })
    }

    // MARK: systemd

    /// `Type=notify`: READY=1 on `$NOTIFY_SOCKET` once serving, STOPPING=1 when SIGTERM starts the drain.
    @Test func notifiesSystemdWhenReadyAndWhenStopping() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socketPath = "/tmp/abm-notify-\(UUID().uuidString.prefix(8)).sock"
        let listener = try DatagramListener(path: socketPath)
        defer { listener.close() }
        // With the HTTP front in the same service group: READY once it listens too.
        let server = try await ServerProcess.start(dataDirectory: dir + "/data",
                                                   environment: ["NOTIFY_SOCKET": socketPath],
                                                   extraArguments: ["--http", "127.0.0.1:0"])
        let ready = try await listener.receive(within: 10)
        #expect(ready.split(separator: "\n").contains("READY=1"), "\(ready)")
        #expect(ready.contains("MAINPID=\(server.pid)"))
        server.child.send(SIGTERM)
        let stopping = try await listener.receive(within: 10)
        #expect(stopping.split(separator: "\n").contains("STOPPING=1"), "\(stopping)")
        #expect(await server.exitStatus(within: 30) == 0)
    }

    /// deploy/abm.service is sandboxed: `systemd-analyze security` rates it 3.0 or better (README records
    /// the score), and it is `Type=notify` with `UMask=0077`.
    @Test func systemdUnitIsHardenedAndNotifies() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let unit = root.appendingPathComponent("deploy/abm.service").path
        let text = try String(contentsOfFile: unit, encoding: .utf8)
        #expect(text.contains("\nType=notify\n") && text.contains("\nUMask=0077\n"))
        // --threshold=30: exit status non-zero when the exposure is above 3.0.
        let run = try await ChildProcess.run("/usr/bin/systemd-analyze",
                                             ["security", "--offline=true", "--threshold=30", "--no-pager", unit],
                                             directory: FileManager.default.temporaryDirectory.path, mergingErrors: true)
        let output = run.stdout
        #expect(run.status == 0, "\(output.suffix(400))")
        let score = try #require(output.split(separator: "\n").last { $0.contains("Overall exposure level") })
        #expect(score.contains("1.2 OK"), "\(score)")
    }

    // MARK: Backup

    /// `abm backup` while leads keep coming in: the copy is one consistent instant (gap-free events up to
    /// its last seq, at least every event acked before it started), 0600, and a server started on it serves.
    @Test func backupWhileServingIsConsistentAndRestores() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try await ServerProcess.start(dataDirectory: dir + "/data")
        let c = try Clients(server.endpoints)
        for k in 0..<100 {
            #expect(try await c.ingress.call(lead(id: "b-\(k)", account: "acct-\(k)"))["status"] == "accepted")
        }
        let before = try #require(try await c.replay().last?["seq"]?.int)
        // Leads keep arriving during the backup (it starts once the load is under way).
        let sent = Atomic<Int>(100)
        let load = Task {
            while !Task.isCancelled && sent.load(ordering: .relaxed) < 5_000 {
                let k = sent.load(ordering: .relaxed)
                _ = try? await c.ingress.call(lead(id: "b-\(k)", account: "acct-\(k)"))
                sent.store(k + 1, ordering: .relaxed)
            }
        }
        let loadDeadline = ContinuousClock.now.advanced(by: .seconds(10))
        while sent.load(ordering: .relaxed) < 120 && ContinuousClock.now < loadDeadline { await Task.yield() }
        #expect(sent.load(ordering: .relaxed) >= 120)
        let out = dir + "/backup.sqlite"
        let run = try await Self.abm(["backup", out, "--data-dir", dir + "/data", "--json"])
        load.cancel()
        await load.value
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
        let summary = try JSONParser.parse(Array(run.stdout.utf8))
        let copied = try #require(summary["last_seq"]?.int)
        #expect(copied >= before)
        #expect(summary["schema"]?.stringValue?.isEmpty == false)
        let mode = try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(!FileManager.default.fileExists(atPath: out + ".partial"))
        // Never over an existing file.
        let again = try await Self.abm(["backup", out, "--data-dir", dir + "/data"])
        #expect(again.status == 2 && again.stderr.contains("store.backup_failed"))
        await c.close()
        #expect(await server.terminate() == 0)

        // Restore: the copy as abm.sqlite of a new data directory.
        try FileManager.default.createDirectory(atPath: dir + "/restored", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: out, toPath: dir + "/restored/abm.sqlite")
        let restored = try await ServerProcess.start(dataDirectory: dir + "/restored")
        let r = try Clients(restored.endpoints)
        let events = try await r.replay()
        #expect(events.compactMap { $0["seq"]?.int } == Array(1...copied))
        #expect(try await r.control.call(["type": "status", "id": "st", "account_id": "acct-99"])["ok"] == true)
        await r.close()
        #expect(await restored.terminate() == 0)
    }

    // MARK: Report

    @Test func reportOverTheWireShowsSummaryLocalTimesDatesAndMessages() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try await ServerProcess.start(dataDirectory: dir + "/data")
        let c = try Clients(server.endpoints)
        #expect(try await c.ingress.call([
            "type": "lead", "id": "r-1",
            "lead": ["account_id": "acme", "id": "p1", "name": "Sarah Chen", "email": "sarah@acme.example.com",
                     "title": "VP Marketing", "timezone": "America/New_York",
                     "account_contacts": [["id": "p2", "name": "Bob Lee", "email": "bob@acme.example.com",
                                           "title": "CTO", "timezone": "Asia/Tokyo"]]],
        ])["status"] == "accepted")
        #expect(try await c.ingress.call(lead(id: "r-2", account: "globex"))["status"] == "accepted")
        _ = try await c.advance(days: 20)
        let touches = try await c.replay().filter { $0["type"] == "touchpoint.due" && $0["account_id"] == "acme" }
        let first = try #require(touches.first)
        let e = server.endpoints

        let file = dir + "/acme.html"
        let run = try await Self.abm(["report", "acme", "-o", file, "--control", e.control, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try JSONParser.parse(Array(run.stdout.utf8))["accounts"] == 1)
        let html = try String(contentsOfFile: file, encoding: .utf8)
        // The summary table comes before the first chart.
        let summary = try #require(html.range(of: "<table class=\"summary\">"))
        #expect(summary.lowerBound < html.range(of: "<svg")!.lowerBound)
        #expect(!html.contains("globex"))
        // Each touch in UTC and in the contact's own zone (New York is UTC-5 in early March).
        let at = try #require(first["at"]?.stringValue.flatMap(WireTime.parse))
        let utc = DateFormatter(), local = DateFormatter()
        for (f, zone) in [(utc, "UTC"), (local, "America/New_York")] {
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: zone)
        }
        utc.dateFormat = "yyyy-MM-dd HH:mm"
        local.dateFormat = "EEE yyyy-MM-dd HH:mm zzz"
        #expect(html.contains("<td>\(utc.string(from: at))</td><td><span class=\"local\">\(local.string(from: at))</span>"))
        #expect(html.contains("America/New_York") && html.contains("Asia/Tokyo"))
        // Dates on the axis, the message bodies in full.
        #expect(html.contains(">Mar 3</text>") || html.contains(">Mar 4</text>"))
        let body = try #require(first["message"]?.stringValue)
        let escapedBody = body.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
        #expect(html.contains("<div class=\"msg\">\(escapedBody)</div>"))

        // A real browser parses the page as written: Chromium's DOM has the same summary table, markers and
        // message blocks (a tag left open or an SVG element out of place would move or drop them).
        let dom = try await Self.chromiumDOM(file)
        #expect(dom.components(separatedBy: "<circle").count == html.components(separatedBy: "<circle").count)
        #expect(dom.components(separatedBy: "class=\"msg\"").count == touches.count + 1)
        #expect(dom.range(of: "<table class=\"summary\">")!.lowerBound < dom.range(of: "<svg")!.lowerBound)

        let all = try await Self.abm(["report", "--all", "-o", dir + "/all.html", "--control", e.control])
        #expect(all.status == 0 && all.stdout.contains("2 accounts"))
        // `abm health`: the control socket answers and the store is read (the container's HEALTHCHECK).
        let health = try await Self.abm(["health", "--control", e.control, "--json"])
        #expect(health.status == 0, "\(health.stderr)")
        #expect(try JSONParser.parse(Array(health.stdout.utf8))["last_seq"]?.int ?? 0 > 0)
        let unknown = try await Self.abm(["report", "nobody", "-o", dir + "/x.html", "--control", e.control])
        #expect(unknown.status == 1 && unknown.stderr.contains("not_found"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.html"))
        await c.close()
        #expect(await server.terminate() == 0)
    }
}

extension OperationsTests {
    /// The DOM headless Chromium builds from an HTML file (Debian's `chromium`, installed by `make deps`).
    static func chromiumDOM(_ file: String) async throws -> String {
        try await ChildProcess.run("/usr/bin/chromium",
                                   ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://" + file]).stdout
    }
}

/// A unix datagram socket bound at `path`, standing in for systemd's notification socket.
final class DatagramListener: Sendable {
    let fd: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw Timeout(what: "a unix datagram socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { Glibc.close(fd); throw Timeout(what: "binding \(path)") }
    }

    /// The next datagram, waiting at most `seconds` (a bound, not pacing).
    func receive(within seconds: Double) async throws -> String {
        let fd = self.fd
        return try await onThread {
            var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard Glibc.poll(&poll, 1, Int32(seconds * 1000)) == 1 else { throw Timeout(what: "a notification") }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { throw Timeout(what: "a notification (recv failed)") }
            return String(decoding: buffer[0..<n], as: UTF8.self)
        }
    }

    func close() {
        Glibc.close(fd)
        unlink(path)
    }
}
