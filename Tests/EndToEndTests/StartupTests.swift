import AbmWire
import CampaignCore
import CampaignGateway
import Foundation
import Testing
import ZeroMQ

/// Start-up faults of `abm serve`: one writer per store, a port in use.
@Suite struct StartupTests {
    /// What a server that stopped by itself left: its exit status and output.
    struct Exited {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `abm serve` expecting it to exit by itself; fails the test (and kills it) after `within` seconds.
    static func serveExpectingExit(_ args: [String], within seconds: Double = 20) async throws -> Exited {
        let process = Process()
        process.executableURL = try ServerProcess.binary
        process.arguments = ["serve", "--log-level", "warning"] + args
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let pid = process.processIdentifier
        // Watchdog: a server that did not exit is killed, and the status says so.
        let watchdog = Task.detached {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            kill(pid, SIGKILL)
        }
        let status = try await onThread { process.waitUntilExit(); return process.terminationStatus }
        watchdog.cancel()
        let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationReason == .exit, "abm serve did not exit by itself within \(seconds) s")
        return Exited(status: status, stdout: o, stderr: e)
    }

    static let ephemeral = ["--ingress", "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*",
                            "--events", "tcp://127.0.0.1:*"]

    @Test func aSecondServerOnAStoreInUseExitsBeforeBindingAndTheFirstGoesOn() async throws {
        let dir = ServerProcess.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try await ServerProcess.start(dataDirectory: dir)
        let client = try Clients(first.endpoints)
        let ack = try await client.ingress.call(lead(id: "one", account: "one"))
        #expect(ack["status"] == "accepted")

        let second = try await Self.serveExpectingExit(Self.ephemeral + ["--data-dir", dir, "--virtual-clock", "2026-03-02T09:00:00Z"])
        #expect(second.status != 0)
        #expect(second.stderr.contains("in use"), "stderr: \(second.stderr)")
        #expect(second.stderr.contains("pid \(first.process.processIdentifier)"), "stderr: \(second.stderr)")
        #expect(!second.stdout.contains("ingress"), "the second server bound a socket: \(second.stdout)")

        // The first server is untouched: it still takes leads, and nothing of the second is in its log.
        let ack2 = try await client.ingress.call(lead(id: "two", account: "two"))
        #expect(ack2["status"] == "accepted")
        await client.close()
        #expect(await first.terminate() == 0)
    }

    @Test func theLockDoesNotOutliveAKilledServer() async throws {
        let dir = ServerProcess.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try await ServerProcess.start(dataDirectory: dir)
        await first.kill9()
        let second = try await ServerProcess.start(dataDirectory: dir)
        let client = try Clients(second.endpoints)
        #expect(try await client.ingress.call(lead(id: "after", account: "after"))["status"] == "accepted")
        await client.close()
        #expect(await second.terminate() == 0)
    }

    @Test func aPortInUseStopsStartUpBeforeAnyDataIsCreated() async throws {
        let dir = ServerProcess.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Hold a port with a socket of our own.
        let context = try ZMQContext()
        let holder = try ZMQSocket(context, type: .router, linger: 0)
        try holder.bind("tcp://127.0.0.1:*")
        let taken = try holder.lastEndpoint

        let run = try await Self.serveExpectingExit(["--ingress", taken, "--control", "tcp://127.0.0.1:*",
                                                     "--events", "tcp://127.0.0.1:*", "--data-dir", dir])
        #expect(run.status != 0)
        #expect(run.stderr.contains("Address already in use") || run.stderr.contains("in use"), "stderr: \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir), "a failed start left \(dir) behind")
        holder.close()
    }
}
