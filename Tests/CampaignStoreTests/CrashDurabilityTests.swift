import AbmTestSupport
import CampaignStore
import Foundation
import Testing

/// Kill -9 without a clean shutdown: every commit the probe acknowledged must be in the file.
/// (Power loss cannot be simulated here; `synchronous=FULL` is checked in `SQLiteStoreTests`.)
@Suite("SQLiteStore crash durability")
struct CrashDurabilityTests {
    struct Ack: Hashable {
        var seq: Int64
        var account: String
        var batch: Int
        var write: Int
    }

    @Test("after SIGKILL mid-stream, every acknowledged commit survives and seq stays gap-free")
    func killNine() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = dir.file("crash.sqlite")

        let probe = try ChildProcess(try Self.probeExecutable().path, [path])
        // Let it acknowledge a few hundred events, then kill it while it keeps committing.
        let output = await Self.readAll(try #require(probe.standardOutput), killing: probe, afterLines: 300)
        let ending = await probe.wait()
        let errors = String(decoding: probe.standardError?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
        #expect(ending == .signal(SIGKILL), "probe stderr: \(errors)")

        // Only complete lines count: the kill may cut the last write(2) short.
        let lines = output.split(separator: "\n", omittingEmptySubsequences: true)
        let acks = lines.dropLast(output.hasSuffix("\n") ? 0 : 1).compactMap { line -> Ack? in
            let f = line.split(separator: " ")
            guard f.count == 5, f[0] == "ack", let seq = Int64(f[1]), let i = Int(f[3]), let k = Int(f[4]) else { return nil }
            return Ack(seq: seq, account: String(f[2]), batch: i, write: k)
        }
        #expect(acks.count >= 300)

        let store = try SQLiteStore(path: path)
        let last = try await store.lastSeq()
        #expect(last >= acks.map(\.seq).max() ?? 0)
        let log = try await store.events(afterSeq: 0, limit: Int(last) + 10)
        #expect(log.map(\.seq) == Array(0..<last).map { $0 + 1 })
        let bySeq = Dictionary(uniqueKeysWithValues: log.map { ($0.seq, $0) })
        for ack in acks {
            guard let event = bySeq[ack.seq] else {
                Issue.record("acknowledged seq \(ack.seq) is missing (last seq \(last))")
                continue
            }
            #expect(event.accountId == ack.account)
            #expect(event.body == json("{\"seq\":\(ack.seq),\"i\":\(ack.batch),\"k\":\(ack.write)}"))
            #expect(try await store.reply(for: RequestKey(space: .ingress, id: "req-\(ack.batch)-\(ack.write)")) != nil)
        }
        // Each account's state is at least as new as its last acknowledged write.
        var lastBatchByAccount: [String: Int] = [:]
        for ack in acks { lastBatchByAccount[ack.account] = max(lastBatchByAccount[ack.account] ?? 0, ack.batch) }
        for (account, batch) in lastBatchByAccount {
            let state = try #require(try await store.loadState(accountId: account))
            let object = try JSONSerialization.jsonObject(with: state) as? [String: Any]
            #expect(((object?["i"] as? NSNumber)?.intValue ?? 0) >= batch, "\(account)")
        }
        #expect(try await store.appliedMigrations() == ["v1", "v2-shard-leases", "v3-campaign-index", "v4-events-by-account", "v5-request-time"])
        try await store.close()
    }

    /// The probe binary next to the test binary (Linux: /proc/self/exe), else in the package's .build/debug.
    static func probeExecutable() throws -> URL {
        var candidates: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("StoreCrashProbe"))
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug/StoreCrashProbe"))
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw StoreError(code: "test.probe_missing", message: "StoreCrashProbe not built; looked at \(candidates.map(\.path))")
        }
        return found
    }

    /// Reads the probe's stdout on a dispatch thread (blocking reads stay off the cooperative pool),
    /// sends SIGKILL once `afterLines` lines arrived, and returns everything read until EOF.
    static func readAll(_ handle: FileHandle, killing process: ChildProcess, afterLines: Int) async -> String {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var data = Data()
                var killed = false
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    data.append(chunk)
                    if !killed, data.reduce(0, { $0 + ($1 == 0x0A ? 1 : 0) }) >= afterLines {
                        process.send(SIGKILL)
                        killed = true
                    }
                }
                if !killed { process.send(SIGKILL) }
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }
        }
    }
}
