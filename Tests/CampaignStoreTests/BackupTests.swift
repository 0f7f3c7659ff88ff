import CampaignStore
import Foundation
import Synchronization
import Testing

/// `SQLiteBackup`: an online copy taken while commits go on is one consistent instant of the store.
@Suite("SQLite online backup")
struct BackupTests {
    @Test("a backup taken during commits holds a gap-free prefix of the log, each batch whole, and opens as a store")
    func consistentWhileWriting() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = try SQLiteStore(path: dir.file("abm.sqlite"))
        for k in 0..<50 { _ = try await store.commit([write("a\(k)"), write("b\(k)")]) }
        let before = try await store.lastSeq()
        // Two accounts per commit, two events each: a copy taken in the middle of a batch would show it.
        let writer = Task {
            var k = 50
            while !Task.isCancelled && k < 5_000 {
                _ = try await store.commit([
                    AccountWrite(accountId: "a\(k)", state: json("{}"), events: [event("a\(k)"), event("a\(k)")]),
                    AccountWrite(accountId: "b\(k)", state: json("{}"), events: [event("b\(k)"), event("b\(k)")]),
                ])
                k += 1
            }
            return k
        }
        let copy = dir.file("copy.sqlite")
        let summary = try await Task.detached { try SQLiteBackup.run(source: dir.file("abm.sqlite"), destination: copy) }.value
        writer.cancel()
        _ = try await writer.value
        #expect(summary.lastSeq >= before)
        #expect(summary.schema == SQLiteStore.schemaVersion)
        #expect(summary.bytes > 0)
        #expect(try FileManager.default.attributesOfItem(atPath: copy)[.posixPermissions] as? Int == 0o600)
        #expect(!FileManager.default.fileExists(atPath: copy + ".partial"))
        try await store.close()

        let restored = try SQLiteStore(path: copy)
        var events: [StoredEvent] = []
        while true {
            let page = try await restored.events(afterSeq: events.last?.seq ?? 0, limit: 1000)
            if page.isEmpty { break }
            events += page
        }
        #expect(events.map(\.seq) == Array(1...summary.lastSeq))
        #expect(try await restored.accountCount() == summary.accounts)
        // Batches after the first 50 write 4 events: a copy cut inside one would leave a partial batch.
        #expect((summary.lastSeq - before) % 4 == 0)
        try await restored.close()
    }

    @Test("refuses a missing store and an existing destination, leaving nothing behind")
    func refusals() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        #expect(throws: StoreError.self) { try SQLiteBackup.run(source: dir.file("none.sqlite"), destination: dir.file("b")) }
        let store = try SQLiteStore(path: dir.file("abm.sqlite"))
        _ = try await store.commit([write("a")])
        try await store.close()
        try Data("keep".utf8).write(to: URL(fileURLWithPath: dir.file("taken")))
        do {
            _ = try SQLiteBackup.run(source: dir.file("abm.sqlite"), destination: dir.file("taken"))
            Issue.record("overwrote an existing file")
        } catch let error as StoreError {
            #expect(error.code == "store.backup_failed" && error.message.contains("exists"))
        }
        #expect(try String(contentsOfFile: dir.file("taken"), encoding: .utf8) == "keep")
        #expect(!FileManager.default.fileExists(atPath: dir.file("b")))
    }
}
