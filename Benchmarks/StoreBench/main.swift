import CampaignStore
import Foundation

// StoreBench: commit throughput of the SQLite store by batch size.
// Each account write = one ~1 KB state blob + one ~400 B event + one timer set (3 rows).
// One committer, commits back to back, a fresh database file per configuration in a temp dir.
// `leads`: the shape of a new lead as `abm` stores it (measured on `abm bench`'s store): a new account with
// a 630 B state, one 450 B event, a timer and a 63 B request reply (4 rows), batches of 256 and 1,000.
//
//   swift run -c release StoreBench [seconds-per-config=3] [full|normal|both|leads=full] [dir]

let arguments = CommandLine.arguments
let seconds = arguments.count > 1 ? Double(arguments[1]) ?? 3 : 3
let leadShape = arguments.count > 2 && arguments[2] == "leads"
let modes: [SQLiteStore.Options.Synchronous] = {
    switch arguments.count > 2 ? arguments[2] : "full" {
    case "normal": return [.normal]
    case "both": return [.full, .normal]
    default: return [.full]
    }
}()
let baseDir = arguments.count > 3 ? URL(fileURLWithPath: arguments[3]) : FileManager.default.temporaryDirectory
let batchSizes = leadShape ? [256, 1000] : [1, 10, 100, 1000]
let leadState = Data((0..<630).map { _ in UInt8(ascii: "s") })
let leadEventTail = Data(",\"pad\":\"\(String(repeating: "p", count: 400))\"}".utf8)
let reply = Data(#"{"status":"accepted","campaignId":"acct-000000-c1","warnings":[]}"#.utf8)

let state = Data((0..<1024).map { _ in UInt8(ascii: "s") })
// Built once: the benchmark should measure the store, not string building.
let eventTail = Data(",\"pad\":\"\(String(repeating: "p", count: 360))\"}".utf8)
func eventBody(_ n: Int) -> Data {
    var body = Data("{\"type\":\"touch.sent\",\"n\":\(n)".utf8)
    body.append(eventTail)
    return body
}
let start = Date(timeIntervalSince1970: 1_800_000_000)

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

print("| synchronous | batch (writes/commit) | commits | commits/s | writes/s | rows/s | commit p50 ms | commit p99 ms |")
print("|---|---|---|---|---|---|---|---|")
for mode in modes {
    for batch in batchSizes {
        let dir = baseDir.appendingPathComponent("storebench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore(path: dir.appendingPathComponent("bench.sqlite").path,
                                    options: .init(synchronous: mode))
        let clock = ContinuousClock()
        var latencies: [Double] = []
        var commits = 0
        var n = 0
        let began = clock.now
        while clock.now - began < .seconds(seconds) {
            let writes = (0..<batch).map { _ -> AccountWrite in
                n += 1
                if leadShape {
                    let account = "acct-\(n)"
                    var body = Data("{\"type\":\"campaign.started\",\"n\":\(n)".utf8)
                    body.append(leadEventTail)
                    return AccountWrite(accountId: account, state: leadState, timer: .set(start.addingTimeInterval(Double(n))),
                                        events: [NewEvent(type: "campaign.started", accountId: account, campaignId: account + "-c1",
                                                          at: start, body: body)],
                                        request: (RequestKey(space: .ingress, id: "req-\(n)"), reply))
                }
                let account = "acct-\(n % 100_000)"
                return AccountWrite(accountId: account, state: state, timer: .set(start.addingTimeInterval(Double(n))),
                                    events: [NewEvent(type: "touch.sent", accountId: account, campaignId: "camp",
                                                      at: start, body: eventBody(n))])
            }
            let t0 = clock.now
            _ = try await store.commit(writes)
            let d = clock.now - t0
            latencies.append(Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15)
            commits += 1
        }
        let elapsed = clock.now - began
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        try await store.close()
        latencies.sort()
        let cps = Double(commits) / secs
        let figures = String(format: "%.0f | %.0f | %.0f | %.2f | %.2f", cps, cps * Double(batch), cps * Double(batch) * (leadShape ? 4 : 3),
                             percentile(latencies, 0.5), percentile(latencies, 0.99))
        print("| \(mode.rawValue) | \(batch) | \(commits) | \(figures) |")
    }
}
