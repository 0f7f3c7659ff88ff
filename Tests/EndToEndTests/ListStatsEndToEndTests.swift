import AbmWire
import CampaignCore
import Foundation
import Testing

/// `list` and `stats` against a running server, on the wire and through `abm list` / `abm stats`.
@Suite struct ListStatsEndToEndTests {
    @Test func listAndStatsOverTheWireAndTheCLI() async throws {
        let dir = ServerProcess.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try await ServerProcess.start(dataDirectory: dir)
        let clients = try Clients(server.endpoints)
        for account in ["acme-1", "acme-2", "beta"] {
            let ack = try await clients.ingress.call(lead(id: "l-\(account)", account: account))
            #expect(ack["status"] == "accepted")
        }
        let paused = try await clients.control.call(["type": "pause", "id": "p1", "account_id": "acme-2"])
        #expect(paused["ok"] == true)

        let page = try await clients.control.call(["type": "list", "id": "ls1", "account_prefix": "acme", "limit": 1])
        #expect(page["ok"] == true)
        #expect(page["campaigns"]?.arrayValue?.map { $0["account_id"] } == ["acme-1"])
        #expect(page["next"] == "acme-1")
        let bad = try await clients.control.call(["type": "list", "id": "ls2", "status": "running"])
        #expect(bad["ok"] == false)
        #expect(bad["error"]?["code"] == "invalid_field")
        #expect(bad["error"]?["field"] == "status")
        let stats = try await clients.control.call(["type": "stats", "id": "st1"])
        #expect(stats["campaigns"]?["active"] == 2)
        #expect(stats["campaigns"]?["paused"] == 1)
        #expect(stats["campaigns"]?["total"] == 3)
        #expect(stats["timers"]?["pending"] == 2)

        let connection = ["--control", server.endpoints.control, "--ingress", server.endpoints.ingress,
                          "--events", server.endpoints.events]
        let listed = try await CurveEndToEndTests.abm(["list", "--status", "paused", "--json"] + connection)
        #expect(listed.status == 0, "\(listed.stderr)")
        let json = try JSONParser.parse(Array(listed.stdout.utf8))
        #expect(json["campaigns"]?.arrayValue?.map { $0["account_id"] } == ["acme-2"])
        let text = try await CurveEndToEndTests.abm(["list", "--limit", "2"] + connection)
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("ACCOUNT") == true)
        #expect(lines.count == 4, "\(lines)")
        #expect(lines[2].hasPrefix("acme-2") && lines[2].contains("paused"))
        #expect(lines[3] == "more: --after acme-2")
        let all = try await CurveEndToEndTests.abm(["list", "--all", "--limit", "2"] + connection)
        #expect(all.stdout.split(separator: "\n").count == 4, "\(all.stdout)")
        let parked = try await CurveEndToEndTests.abm(["list", "--parked", "--json"] + connection)
        #expect(try JSONParser.parse(Array(parked.stdout.utf8))["campaigns"] == .array([]))
        let statsText = try await CurveEndToEndTests.abm(["stats"] + connection)
        #expect(statsText.status == 0)
        #expect(statsText.stdout.contains("campaigns   3 total: 2 active, 1 paused, 0 completed, 0 cancelled"), "\(statsText.stdout)")
        let statsJSON = try await CurveEndToEndTests.abm(["stats", "--json"] + connection)
        #expect(try JSONParser.parse(Array(statsJSON.stdout.utf8))["parked"] == 0)
        let badStatus = try await CurveEndToEndTests.abm(["list", "--status", "running"] + connection)
        #expect(badStatus.status != 0)
        #expect(badStatus.stderr.contains("--status"))
        await clients.close()
        #expect(await server.terminate() == 0)
    }
}
