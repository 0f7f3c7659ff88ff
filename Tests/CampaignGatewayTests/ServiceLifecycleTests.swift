import AbmWire
import CampaignCore
@testable import CampaignGateway
import Foundation
import Logging
import ServiceLifecycle
import Testing

/// `AbmServer.services` in a swift-service-lifecycle `ServiceGroup`: a graceful shutdown takes the steps of
/// `stop()` in order (gateway, timers, runtime, outbox, close); a cancelled group takes them in the same order.
@Suite(.timeLimit(.minutes(1)))
struct ServiceLifecycleTests {
    static func group(_ server: AbmServer) -> ServiceGroup {
        var logger = Logger(label: "test.group")
        logger.logLevel = .error
        return ServiceGroup(configuration: ServiceGroupConfiguration(services: server.services, logger: logger))
    }

    @Test func gracefulShutdownStopsTheServicesInReverseOrder() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("abm-sl-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let f = try await ServerFixture.start(dataDirectory: dir)
        let group = Self.group(f.server)
        let running = Task { try await group.run() }
        #expect(try await f.ingress.call(lead(id: "sl-1", account: "acme"))["status"] == "accepted")
        #expect(f.server.stopStepsStarted.isEmpty)
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(f.server.stopStepsStarted == [.gateway, .timers, .runtime, .outbox, .close])
        // Closed for good: the store refuses, and a second stop is a no-op.
        await #expect(throws: (any Error).self) { _ = try await f.server.store.lastSeq() }
        await f.server.stop()
        await f.ingress.close()
        await f.control.close()
    }

    @Test func aCancelledGroupStillStopsInOrder() async throws {
        let f = try await ServerFixture.start()
        let group = Self.group(f.server)
        let running = Task { try await group.run() }
        #expect(try await f.ingress.call(lead(id: "sl-2", account: "acme"))["status"] == "accepted")
        running.cancel()
        _ = try? await running.value
        #expect(f.server.stopStepsStarted == [.gateway, .timers, .runtime, .outbox, .close])
        await f.ingress.close()
        await f.control.close()
    }
}
