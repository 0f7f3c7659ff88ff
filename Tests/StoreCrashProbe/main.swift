import CampaignStore
import Foundation

// Crash-durability probe, run by CampaignStoreTests: commits batches to the SQLite store at argv[1]
// forever and prints `ack <seq> <account> <i>` for every event of a batch once its commit has
// returned. The test kills it with SIGKILL mid-stream and checks every acknowledged line is in the file.

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: StoreCrashProbe <db-path> [max-batches]\n".utf8))
    exit(2)
}
let path = arguments[1]
let maxBatches = arguments.count >= 3 ? Int(arguments[2]) ?? 1_000_000 : 1_000_000

do {
    let store = try SQLiteStore(path: path)
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    for i in 1...maxBatches {
        // 1–3 writes per batch, over 50 accounts, each with one event and a state carrying `i`.
        let writes = (0..<(1 + i % 3)).map { k -> AccountWrite in
            let account = "acct-\((i * 3 + k) % 50)"
            let body = Data("{\"i\":\(i),\"k\":\(k)}".utf8)
            return AccountWrite(
                accountId: account, state: Data("{\"i\":\(i)}".utf8),
                timer: .set(start.addingTimeInterval(Double(i))),
                events: [NewEvent(type: "probe", accountId: account, campaignId: "c", at: start, body: body)],
                request: (RequestKey(space: .ingress, id: "req-\(i)-\(k)"), Data("{\"ok\":true}".utf8)))
        }
        let stored = try await store.commit(writes)
        var lines = ""
        for (k, events) in stored.enumerated() {
            for event in events { lines += "ack \(event.seq) \(event.accountId) \(i) \(k)\n" }
        }
        // FileHandle writes straight to fd 1: no stdio buffer to lose on SIGKILL.
        FileHandle.standardOutput.write(Data(lines.utf8))
    }
    try await store.close()
} catch {
    FileHandle.standardError.write(Data("StoreCrashProbe: \(error)\n".utf8))
    exit(1)
}
