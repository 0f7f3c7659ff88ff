import CampaignPostgres
import CampaignStore
import Foundation
import PostgresTestSupport
import Testing

/// One storage engine under test. The conformance suite runs once per entry of `StoreEngine.all`.
struct StoreEngine: Sendable, CustomTestStringConvertible {
    let name: String
    /// Opens a fresh, empty store and returns it with a function that deletes what it created.
    let open: @Sendable () async throws -> (store: any CampaignStorage, cleanup: @Sendable () -> Void)

    var testDescription: String { name }

    static let inMemory = StoreEngine(name: "in-memory") {
        (InMemoryStore(), {})
    }

    static let sqlite = StoreEngine(name: "sqlite") {
        let dir = try TempDir()
        return (try SQLiteStore(path: dir.file("store.sqlite")), { dir.remove() })
    }

    /// A fresh database on the test process's throwaway PostgreSQL (Tests/PostgresTestSupport), never skipped.
    static let postgres = StoreEngine(name: "postgresql") {
        let database = try await TestPostgres.database("conformance")
        return (try await PostgresStore(configuration: try PostgresStoreConfiguration(url: database.url)), {})
    }

    static let all: [StoreEngine] = [.inMemory, .sqlite, .postgres]
}

/// Opens a fresh store, runs `body`, then closes the store and deletes its files, even when `body` throws.
func withStore<T>(_ engine: StoreEngine, _ body: (any CampaignStorage) async throws -> T) async throws -> T {
    let (store, cleanup) = try await engine.open()
    defer { cleanup() }
    do {
        let result = try await body(store)
        try await store.close()
        return result
    } catch {
        try? await store.close()
        throw error
    }
}

/// A uniquely named directory under the system temporary directory.
struct TempDir: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("abm-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

// MARK: - Fixtures

/// A whole-millisecond date, so values round-trip exactly through every engine.
func t(_ seconds: Double) -> Date { Date(timeIntervalSince1970: 1_800_000_000 + seconds) }

func json(_ text: String) -> Data { Data(text.utf8) }

func event(_ account: String, _ type: String = "touch", body: String = "{\"x\":1}", at: Date = t(0)) -> NewEvent {
    NewEvent(type: type, accountId: account, campaignId: "camp-1", at: at, body: json(body))
}

/// A simple write: a state blob and `events` events.
func write(_ account: String, state: String? = "{\"s\":1}", events: Int = 1, timer: TimerChange = .unchanged,
           request: String? = nil, suppress: [String] = [], expectedVersion: Int64? = nil) -> AccountWrite {
    AccountWrite(accountId: account, state: state.map(json), timer: timer,
                 events: (0..<events).map { event(account, body: "{\"n\":\($0)}") },
                 request: request.map { (RequestKey(space: .ingress, id: $0), json("{\"reply\":\"\($0)\"}")) },
                 suppressions: suppress, expectedVersion: expectedVersion)
}

/// Asserts `body` throws a `StoreError` with `code`.
func expectStoreError(_ code: String, sourceLocation: SourceLocation = #_sourceLocation,
                      _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected StoreError \(code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as StoreError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected StoreError \(code), got \(error)", sourceLocation: sourceLocation)
    }
}
