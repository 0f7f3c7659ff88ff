import AbmWire
import Foundation
import Testing

/// Playbooks against a real `abm serve`: versions recorded across a restart with a new `--config`,
/// `abm playbooks`, `abm migrate`, a lead naming its playbook, two playbooks on one account.
@Suite struct PlaybookEndToEndTests {
    func writeConfig(_ dir: String, renewalTouches: Int) throws -> String {
        let path = dir + "/config-\(renewalTouches).json"
        let json = #"{"campaign": {"max_touchpoints": 7}, "playbooks": {"renewal": {"max_touchpoints": \#(renewalTouches)}}}"#
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aRestartAddsAVersionAndMigrateMovesRunningCampaignsAtTheirNextStep() async throws {
        let dir = ServerProcess.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let data = dir + "/data"
        var server = try await ServerProcess.start(dataDirectory: data, config: try writeConfig(dir, renewalTouches: 5))
        var clients = try Clients(server.endpoints)
        var renewal = lead(id: "l1", account: "acme")
        renewal = ["type": "lead", "id": "l1", "lead": .object(renewal["lead"]!.objectValue!.merging(["playbook": "renewal"]) { _, b in b })]
        #expect(try await clients.ingress.call(renewal)["campaign_id"] == "acme-c1")
        await clients.close()
        #expect(await server.terminate() == 0)

        // Restarted with renewal at 2 touchpoints: version 2; acme keeps version 1 until migrated.
        server = try await ServerProcess.start(dataDirectory: data, config: try writeConfig(dir, renewalTouches: 2))
        clients = try Clients(server.endpoints)
        let connection = ["--control", server.endpoints.control, "--ingress", server.endpoints.ingress,
                          "--events", server.endpoints.events]
        let listed = try await CurveEndToEndTests.abm(["playbooks"] + connection)
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("renewal  latest v2  versions 1,2"), "\(listed.stdout)")
        let before = try await clients.control.call(["type": "status", "id": "s1", "account_id": "acme"])["campaign"]
        #expect(before?["playbook"] == ["name": "renewal", "version": 1, "migrating_to": .null])
        #expect(before?["max_touchpoints"] == 5)

        let migrated = try await CurveEndToEndTests.abm(["migrate", "--playbook", "renewal", "--to", "2"] + connection)
        #expect(migrated.status == 0, "\(migrated.stderr)")
        #expect(migrated.stdout.contains("1 running campaign(s) of renewal move to version 2"), "\(migrated.stdout)")
        let unknown = try await CurveEndToEndTests.abm(["migrate", "--playbook", "renewal", "--to", "9"] + connection)
        #expect(unknown.status == 1 && unknown.stderr.contains("to_version"), "\(unknown.stderr)")

        // A second playbook on the account: a default campaign beside renewal's.
        #expect(try await clients.ingress.call(lead(id: "l2", account: "acme"))["campaign_id"] == "acme-c2")
        #expect(try await clients.control.call(["type": "clock.advance", "id": "a", "seconds": 2_592_000])["ok"] == true)
        let status = try await clients.control.call(["type": "status", "id": "s2", "account_id": "acme"])["campaign"]
        // Version 2 stopped renewal at two touches; the migration is explained.
        #expect(status?["playbook"] == ["name": "renewal", "version": 2, "migrating_to": .null])
        #expect(status?["status"] == "completed" && status?["steps"] == 2)
        #expect(status?["others"]?.arrayValue?.first?["playbook"]?["name"] == "default")
        let explained = try await CurveEndToEndTests.abm(["explain", "acme"] + connection)
        #expect(explained.stdout.contains("migrated"), "\(explained.stdout)")
        // One person, two playbooks: never two touches within 48 hours.
        let touches = try await clients.replay().filter { $0["type"] == "touchpoint.due" }
            .compactMap { $0["at"]?.stringValue.flatMap(WireTime.parse) }
        for (a, b) in zip(touches, touches.dropFirst()) { #expect(b.timeIntervalSince(a) >= 48 * 3_600) }
        await clients.close()
        #expect(await server.terminate() == 0)
    }
}
