import AbmWire
import Foundation
import Testing

/// `abm explain` against a running server.
@Suite struct ExplainEndToEndTests {
    @Test func explainOverTheCLI() async throws {
        let dir = ServerProcess.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try await ServerProcess.start(dataDirectory: dir)
        let clients = try Clients(server.endpoints)
        #expect(try await clients.ingress.call(lead(id: "l1", account: "acme"))["status"] == "accepted")
        #expect(try await clients.control.call(["type": "clock.advance", "id": "a", "seconds": 259_200])["ok"] == true)
        let connection = ["--control", server.endpoints.control, "--ingress", server.endpoints.ingress,
                          "--events", server.endpoints.events]
        let text = try await CurveEndToEndTests.abm(["explain", "acme"] + connection)
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "campaign acme-c1")
        #expect(lines.contains { $0.contains("started") })
        #expect(lines.contains { $0.contains("sent") && $0.contains("interval of 2 days") }, "\(text.stdout)")
        #expect(lines.last?.hasPrefix("next") == true)
        let json = try await CurveEndToEndTests.abm(["explain", "acme", "--json"] + connection)
        let reply = try JSONParser.parse(Array(json.stdout.utf8))
        #expect(reply["explanation"]?["next"]?["values"]?["delay"] == "interval")
        let preview = try await CurveEndToEndTests.abm(["preview", "acme"] + connection)
        #expect(preview.status == 0, "\(preview.stderr)")
        #expect(preview.stdout.contains("UTC = ") && preview.stdout.contains("Hi Jane"), "\(preview.stdout)")
        let step = try await CurveEndToEndTests.abm(["step", "acme", "--id", "op-step-1"] + connection)
        #expect(step.status == 0, "\(step.stderr)")
        let again = try await CurveEndToEndTests.abm(["step", "acme", "--id", "op-step-1", "--json"] + connection)
        #expect(try JSONParser.parse(Array(again.stdout.utf8))["campaign"]?["steps"] == 3)  // once, not twice
        let audited = try await CurveEndToEndTests.abm(["explain", "acme"] + connection)
        #expect(audited.stdout.contains("run now by an operator"), "\(audited.stdout)")
        // A second campaign: the first is listed, and addressing it by id is refused once it is not current.
        #expect(try await clients.control.call(["type": "cancel", "id": "c1", "campaign_id": "acme-c1"])["campaign"]?["status"] == "cancelled")
        #expect(try await clients.ingress.call(lead(id: "l2", account: "acme"))["campaign_id"] == "acme-c2")
        let old = try await clients.control.call(["type": "pause", "id": "p-old", "campaign_id": "acme-c1"])
        #expect(old["error"]?["code"] == "not_found" && old["error"]?["field"] == "campaign_id")
        #expect(try await clients.control.call(["type": "status", "id": "s2", "campaign_id": "acme-c2"])["campaign"]?["campaign_id"] == "acme-c2")
        let bad = try await clients.control.call(["type": "status", "id": "s3", "campaign_id": "acme"])
        #expect(bad["error"]?["field"] == "campaign_id")
        let listed = try await CurveEndToEndTests.abm(["campaigns", "acme", "--json"] + connection)
        let history = try JSONParser.parse(Array(listed.stdout.utf8))["campaigns"]?.arrayValue ?? []
        #expect(history.map { $0["campaign_id"] } == ["acme-c1", "acme-c2"], "\(listed.stdout)")
        #expect(history.map { $0["status"] } == ["cancelled", "active"])
        #expect(history.first?["steps"] == 3 && history.first?["ended_at"] != .null)
        let missing = try await CurveEndToEndTests.abm(["explain", "nobody"] + connection)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("not_found"))
        await clients.close()
        #expect(await server.terminate() == 0)
    }
}
