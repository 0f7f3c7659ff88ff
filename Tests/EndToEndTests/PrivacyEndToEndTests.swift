import AbmWire
import Foundation
import Testing

/// `abm erase` and retention against a running server configured from a file.
@Suite struct PrivacyEndToEndTests {
    @Test func eraseFromTheCLIAndRetentionFromTheConfigFile() async throws {
        let dir = ServerProcess.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let config = dir + "/abm.json"
        try Data(#"{"http": "127.0.0.1:0", "retention": {"events_days": 1, "request_ids_days": 1, "interval_seconds": 1}}"#.utf8)
            .write(to: URL(fileURLWithPath: config))
        let server = try await ServerProcess.start(dataDirectory: dir + "/data", config: config)
        // The config file's `http` key serves the HTTP endpoint as --http does.
        #expect(server.httpURL?.hasPrefix("http://127.0.0.1:") == true)
        let clients = try Clients(server.endpoints)
        let colleague: JSONValue = ["email": "sam@acme.example.com", "name": "Sam Smith", "title": "CTO", "timezone": "UTC"]
        #expect(try await clients.ingress.call(lead(id: "l1", account: "acme", colleagues: [colleague]))["status"] == "accepted")
        #expect(try await clients.ingress.call(lead(id: "l2", account: "beta"))["status"] == "accepted")

        let connection = ["--control", server.endpoints.control, "--ingress", server.endpoints.ingress,
                          "--events", server.endpoints.events]
        let bad = try await CurveEndToEndTests.abm(["erase", "--email", "not-an-address", "--json"] + connection)
        #expect(bad.status == 1)
        #expect(try JSONParser.parse(Array(bad.stdout.utf8))["error"]?["field"] == "email")
        let erased = try await CurveEndToEndTests.abm(["erase", "--email", "Jane@ACME.example.com", "--json"] + connection)
        #expect(erased.status == 0, "\(erased.stderr)")
        let reply = try JSONParser.parse(Array(erased.stdout.utf8))
        #expect(reply["erased"]?["accounts"] == 1)
        #expect(reply["erased"]?["email_sha256"]?.stringValue?.count == 64)
        let text = try await CurveEndToEndTests.abm(["erase", "--email", "jane@acme.example.com"] + connection)
        #expect(text.status == 0)
        #expect(text.stdout.contains("accounts    0"), "\(text.stdout)")

        let replay = try await clients.control.call(["type": "events", "id": "e1", "after_seq": 0, "limit": 1000])
        let events = replay["events"]?.arrayValue ?? []
        let acme = events.filter { $0["account_id"] == "acme" }
        #expect(!acme.isEmpty)
        for e in acme {
            let body = String(decoding: JSONWriter.encode(e), as: UTF8.self)
            #expect(!body.contains("jane@acme.example.com") && !body.contains("Jane"), "\(body)")
        }
        #expect(acme.contains { $0["type"] == "contact.erased" && $0["email_sha256"] == reply["erased"]?["email_sha256"] })
        // beta's Jane is another person (another address): untouched.
        #expect(events.contains { $0["account_id"] == "beta" && String(decoding: JSONWriter.encode($0), as: UTF8.self).contains("jane@beta.example.com") })
        let status = try await clients.control.call(["type": "status", "id": "s1", "account_id": "acme"])
        #expect(status["campaign"]?["contacts"]?.arrayValue?.first?["state"] == "erased")

        // Three days on, the retention pass (every second of wall time) prunes day-old events and ids.
        #expect(try await clients.control.call(["type": "clock.advance", "id": "adv", "seconds": 259_200])["ok"] == true)
        var refusal: JSONValue = .null
        for attempt in 0..<100 {
            refusal = try await clients.control.call(["type": "events", "id": .string("e-\(attempt)"), "after_seq": 0, "limit": 10])
            if refusal["ok"] == false { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(refusal["error"]?["code"] == "events_pruned")
        #expect(refusal["error"]?["field"] == "after_seq")
        let stats = try await clients.control.call(["type": "stats", "id": "st"])
        guard case .int(let pruned)? = stats["outbox"]?["pruned_seq"], pruned > 0 else {
            Issue.record("stats.outbox.pruned_seq: \(String(describing: stats["outbox"]))")
            return
        }
        let tail = try await clients.control.call(["type": "events", "id": "e-tail", "after_seq": .int(pruned), "limit": 10])
        #expect(tail["ok"] == true)
        #expect(tail["events"]?.arrayValue?.first?["seq"] == .int(pruned + 1))
        // The lead's id was pruned with it: sent again, it is a new request (the running campaign takes it).
        #expect(try await clients.ingress.call(lead(id: "l2", account: "beta"))["status"] == "accepted")
        await clients.close()
        #expect(await server.terminate() == 0)
    }
}
