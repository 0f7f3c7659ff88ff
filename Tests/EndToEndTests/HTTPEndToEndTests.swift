import AbmWire
import CampaignCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `abm serve --http`: the URL line before `ready`, the endpoint answering, refusals at start.
@Suite struct HTTPEndToEndTests {
    static func get(_ url: String) async throws -> (Int, String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test func serveWithHTTPPrintsItsURLAndServesMetricsAndHealth() async throws {
        let dir = ServerProcess.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try await ServerProcess.start(dataDirectory: dir, extraArguments: ["--http", "127.0.0.1:0"])
        let url = try #require(server.httpURL)
        #expect(url.hasPrefix("http://127.0.0.1:") && url.hasSuffix("/"))
        let clients = try Clients(server.endpoints)
        #expect(try await clients.ingress.call(lead(id: "l1", account: "acme"))["status"] == "accepted")
        let health = try await Self.get(url + "healthz")
        #expect(health.0 == 200)
        let ready = try await Self.get(url + "readyz")
        #expect(ready.0 == 200 && ready.1 == "ready\n")
        let metrics = try await Self.get(url + "metrics")
        #expect(metrics.1.contains(#"abm_requests_total{type="lead",outcome="accepted"} 1"#), "\(metrics.1)")
        #expect(metrics.1.contains(#"abm_campaigns{status="active"} 1.0"#))
        await clients.close()
        #expect(await server.terminate() == 0)
    }

    @Test func withoutHTTPThereIsNoURLLine() async throws {
        let dir = ServerProcess.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try await ServerProcess.start(dataDirectory: dir)
        #expect(server.httpURL == nil)
        #expect(await server.terminate() == 0)
    }

    @Test func aNonLoopbackHTTPAddressNeedsInsecureAndABadOneIsNamed() async throws {
        let dir = ServerProcess.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let open = try await StartupTests.serveExpectingExit(StartupTests.ephemeral + ["--data-dir", dir, "--http", "0.0.0.0:0"])
        #expect(open.status != 0)
        #expect(open.stderr.contains("--http") && open.stderr.contains("--insecure"), "\(open.stderr)")
        let bad = try await StartupTests.serveExpectingExit(StartupTests.ephemeral + ["--data-dir", dir, "--http", "127.0.0.1:99999"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--http") && bad.stderr.contains("port"), "\(bad.stderr)")
    }

    @Test func anHTTPPortInUseStopsTheServerWithStatus2() async throws {
        let dir = ServerProcess.tempDirectory(), firstDir = ServerProcess.tempDirectory()
        defer { for d in [dir, firstDir] { try? FileManager.default.removeItem(atPath: d) } }
        let first = try await ServerProcess.start(dataDirectory: firstDir, extraArguments: ["--http", "127.0.0.1:0"])
        let port = try #require(first.httpURL.flatMap { URL(string: $0)?.port })
        let second = try await StartupTests.serveExpectingExit(StartupTests.ephemeral + ["--data-dir", dir, "--http", "127.0.0.1:\(port)"])
        #expect(second.status == 2)
        #expect(second.stderr.contains("cannot serve HTTP"), "\(second.stderr)")
        #expect(await first.terminate() == 0)
    }
}
