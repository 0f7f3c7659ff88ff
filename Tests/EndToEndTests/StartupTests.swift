import AbmTestSupport
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
        let child = try ChildProcess(try ServerProcess.binary.path, ["serve", "--log-level", "warning"] + args)
        // Watchdog: a server that did not exit is killed, and the ending says so.
        guard let ending = await child.wait(within: seconds) else {
            child.send(SIGKILL)
            await child.wait()
            Issue.record("abm serve did not exit by itself within \(seconds) s")
            return Exited(status: -1, stdout: "", stderr: "")
        }
        let status = ChildProcess.status(ending)
        let o = String(decoding: child.standardOutput?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
        let e = String(decoding: child.standardError?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
        #expect(ending == .exit(status), "abm serve ended by a signal: \(ending)")
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
        #expect(second.stderr.contains("pid \(first.pid)"), "stderr: \(second.stderr)")
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
