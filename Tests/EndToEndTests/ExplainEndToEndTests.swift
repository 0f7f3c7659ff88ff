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
        let missing = try await CurveEndToEndTests.abm(["explain", "nobody"] + connection)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("not_found"))
        await clients.close()
        #expect(await server.terminate() == 0)
    }
}
