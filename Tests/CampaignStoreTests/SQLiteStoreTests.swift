import CampaignStore
import Foundation
import Testing

/// What only the durable engine promises: the file outlives the process, settings, schema versions.
@Suite("SQLiteStore")
struct SQLiteStoreTests {
    @Test("close and reopen the same file: everything is there and seq continues")
    func reopen() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = dir.file("store.sqlite")

        let first = try SQLiteStore(path: path)
        let written = try await first.commit([
            AccountWrite(accountId: "a", state: json("{\"s\":\"a\"}"), timer: .set(t(10)),
                         events: [event("a", body: "{\"k\":1}"), event("a", body: "{\"k\":2}")],
                         request: (RequestKey(space: .control, id: "c1"), json("{\"ok\":true}")),
                         suppressions: ["Z@z.io"]),
            AccountWrite(accountId: "b", state: json("{\"s\":\"b\"}"), timer: .set(t(5)), events: [event("b")]),
        ])
        _ = try await first.commit([AccountWrite(accountId: "b", state: json("{\"s\":\"b2\"}"), timer: .clear)])
        try await first.setMeta("clock", "42")
        try await first.markPublished(upTo: 2)
        try await first.close()

        let second = try SQLiteStore(path: path)
        #expect(try await second.loadAccount(accountId: "a")
                == StoredAccount(accountId: "a", shard: accountShard("a"), state: json("{\"s\":\"a\"}"), version: 1))
        #expect(try await second.loadAccount(accountId: "b")?.state == json("{\"s\":\"b2\"}"))
        #expect(try await second.loadAccount(accountId: "b")?.version == 2)
        #expect(try await second.accountCount() == 2)
        #expect(try await second.events(afterSeq: 0, limit: 10) == written.flatMap { $0 })
        #expect(try await second.timers(after: nil, limit: 10) == [DueTimer(accountId: "a", dueAt: t(10))])
        #expect(try await second.reply(for: RequestKey(space: .control, id: "c1")) == json("{\"ok\":true}"))
        #expect(try await second.suppressedEmails() == ["z@z.io"])
        #expect(try await second.meta("clock") == "42")
        #expect(try await second.publishedSeq() == 2)
        #expect(try await second.lastSeq() == 3)
        #expect(try await second.commit([write("c")])[0].map(\.seq) == [4])
        #expect(try await second.appliedMigrations() == ["v1", "v2-shard-leases", "v3-campaign-index", "v4-events-by-account", "v5-request-time"])
        try await second.close()
    }

    @Test("the database, its WAL and shared-memory files are 0600, also when they existed with wider modes")
    func filesAreOwnerOnly() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = dir.file("store.sqlite")
        func mode(_ file: String) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber)?.intValue ?? -1
        }
        let store = try SQLiteStore(path: path)
        _ = try await store.commit([AccountWrite(accountId: "a", state: json("{\"s\":\"a\"}"), timer: .clear,
                                                 events: [event("a")])])
        for file in [path, path + "-wal", path + "-shm"] { #expect(try mode(file) == 0o600, "\(file)") }
        try await store.close()
        // A file made by an older build or by hand with the usual 0644 is tightened on open.
        #expect(chmod(path, 0o644) == 0)
        let again = try SQLiteStore(path: path)
        _ = try await again.commit([AccountWrite(accountId: "b", state: json("{}"), timer: .clear)])
        for file in [path, path + "-wal", path + "-shm"] { #expect(try mode(file) == 0o600, "\(file)") }
        try await again.close()
    }

    @Test("the writer runs WAL with synchronous=FULL by default, NORMAL only on request")
    func durabilitySettings() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let full = try SQLiteStore(path: dir.file("full.sqlite"))
        #expect(try await full.writerPragma("journal_mode") == "wal")
        #expect(try await full.writerPragma("synchronous") == "2")
        #expect(try await full.writerPragma("busy_timeout") == "5000")
        #expect(try await full.appliedMigrations() == ["v1", "v2-shard-leases", "v3-campaign-index", "v4-events-by-account", "v5-request-time"])
        try await full.close()

        let normal = try SQLiteStore(path: dir.file("normal.sqlite"), options: .init(synchronous: .normal))
        #expect(try await normal.writerPragma("synchronous") == "1")
        try await normal.close()
    }

    @Test("committed pages reach the database file soon after the commit, before the writer's auto-checkpoint")
    func checkpointsBesideTheWriter() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = dir.file("store.sqlite")
        let store = try SQLiteStore(path: path)
        func fileSize() throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        }
        let before = try fileSize()
        // About 200 pages: well under the 1,000 at which the writer checkpoints by itself.
        let blob = String(repeating: "x", count: 3_000)
        for batch in 0..<5 {
            _ = try await store.commit((0..<50).map { write("a\(batch)-\($0)", state: "{\"s\":\"\(blob)\"}") })
        }
        // Only a checkpoint copies WAL frames into the database file; poll (bounded) until one has.
        let deadline = Date().addingTimeInterval(10)
        while try fileSize() < before + 500_000, Date() < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(try fileSize() >= before + 500_000)
        #expect(try await store.accountCount() == 250)
        try await store.close()
    }

    @Test("opening something that is not a database fails with store.open")
    func openFailure() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = dir.file("garbage.sqlite")
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        #expect(throws: StoreError.self) { _ = try SQLiteStore(path: path) }
        do {
            _ = try SQLiteStore(path: path)
        } catch let error as StoreError {
            #expect(error.code == "store.open")
        }
    }
}
