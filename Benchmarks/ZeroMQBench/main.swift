// ZeroMQBench: throughput of the Swift ZeroMQ layer vs plain libzmq (C), same pattern, same run.
//
// Pattern: PUSH -> PULL over tcp://127.0.0.1, one frame per message, timed from the first received
// message to the last (as libzmq's perf/local_thr). Variants:
//   C      Benchmarks/zmq-c/zmq_c_bench.c: blocking zmq_send / zmq_msg_recv on two threads.
//   sync   ZMQSocket (blocking send / receive) on two threads.
//   async  ZMQPollLoop + AsyncZMQSocket: a producer task `send(batch:)` 1000 at a time, a consumer task
//          `for try await` over `messages` (next(isolation:), bounded inbox of 1024).
//   async, await each: one `await send(_:)` per message (latency-bound; for reference only).
//
// usage: ZeroMQBench [--c-bench PATH] [--reps N] [--count100 N] [--count1k N] [--results FILE]
import Foundation
import ZeroMQ

struct Options {
    var cBench: String?
    var reps = 5
    var count100 = 1_000_000
    var count1k = 300_000
    var results: String?
    /// Run only these variants (comma-separated: c, sync, async, each); all by default.
    var only: Set<String> = ["c", "sync", "async", "each"]

    init(_ args: [String]) {
        var i = 1
        while i < args.count {
            let value = i + 1 < args.count ? args[i + 1] : ""
            switch args[i] {
            case "--c-bench": cBench = value
            case "--reps": reps = Int(value) ?? reps
            case "--count100": count100 = Int(value) ?? count100
            case "--count1k": count1k = Int(value) ?? count1k
            case "--results": results = value
            case "--only": only = Set(value.split(separator: ",").map(String.init))
            default: fatalError("unknown argument \(args[i])")
            }
            i += 2
        }
    }
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// User + system CPU seconds of this process (all threads) or of its finished children.
func cpuSeconds(_ who: Int32) -> Double {
    var usage = rusage()
    getrusage(who == 0 ? RUSAGE_SELF.rawValue : RUSAGE_CHILDREN.rawValue, &usage)
    func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return s(usage.ru_utime) + s(usage.ru_stime)
}

/// One measured run: throughput and CPU microseconds per message (all threads, whole run).
struct Sample {
    var rate: Double
    var cpuMicros: Double
}

/// Runs `body` (returning msgs/s) and measures this process's CPU time around it.
func measured(count: Int, children: Bool = false, _ body: () async throws -> Double) async rethrows -> Sample {
    let who: Int32 = children ? 1 : 0
    let before = cpuSeconds(who)
    let r = try await body()
    return Sample(rate: r, cpuMicros: (cpuSeconds(who) - before) / Double(count) * 1e6)
}

/// Messages per second over the intervals after the first message.
func rate(_ count: Int, _ seconds: Double) -> Double { Double(count - 1) / seconds }

// MARK: sync

func runSync(size: Int, count: Int) throws -> Double {
    let context = try ZMQContext()
    let pull = try ZMQSocket(context, type: .pull)
    try pull.bind("tcp://127.0.0.1:*")
    let endpoint = try pull.lastEndpoint
    let done = DispatchSemaphore(value: 0)
    Thread {
        do {
            let push = try ZMQSocket(context, type: .push, linger: -1)
            try push.connect(endpoint)
            let message = ZMQMessage([[UInt8](repeating: 0, count: size)])
            for _ in 0..<count { try push.send(message) }
        } catch { fatalError("sync sender: \(error)") }
        done.signal()
    }.start()
    _ = try pull.receive()
    let start = ContinuousClock.now
    for _ in 1..<count {
        let m = try pull.receive()
        precondition(m[0].count == size)
    }
    let elapsed = seconds(since: start)
    done.wait()
    return rate(count, elapsed)
}

// MARK: async

/// Consumes `count` messages on a task of the global executor; seconds from the first to the last.
func consume(_ pull: AsyncZMQSocket, size: Int, count: Int) async throws -> Double {
    try await Task.detached { () async throws -> Double in
        var received = 0
        var start = ContinuousClock.now
        for try await m in pull.messages {
            precondition(m[0].count == size)
            received += 1
            if received == 1 { start = .now }
            if received == count { break }
        }
        return seconds(since: start)
    }.value
}

func runAsync(size: Int, count: Int, batch: Int) async throws -> Double {
    let context = try ZMQContext()
    let receiveLoop = try ZMQPollLoop(name: "bench-pull")
    // Two poll threads: measured faster here than both sockets on one (0.7-1.2M vs 0.3-0.9M msgs/s).
    let sendLoop = try ZMQPollLoop(name: "bench-push")
    let p = try ZMQSocket(context, type: .pull)
    try p.bind("tcp://127.0.0.1:*")
    let pull = try receiveLoop.adopt(p, inboundCapacity: 1024)
    let endpoint = pull.endpoint!
    if ProcessInfo.processInfo.environment["BENCH_SYNC_SENDER"] != nil {
        // Diagnostic: async receive path alone, fed by a blocking sender thread.
        Thread {
            let push = try! ZMQSocket(context, type: .push, linger: -1)
            try! push.connect(endpoint)
            let message = ZMQMessage([[UInt8](repeating: 0, count: size)])
            for _ in 0..<count { try! push.send(message) }
        }.start()
        let elapsed = try await consume(pull, size: size, count: count)
        await receiveLoop.shutdown()
        await sendLoop.shutdown()
        return rate(count, elapsed)
    }
    let s = try ZMQSocket(context, type: .push)
    try s.connect(endpoint)
    let push = try sendLoop.adopt(s)

    let producer = Task.detached {
        let message = ZMQMessage([[UInt8](repeating: 0, count: size)])
        var sent = 0
        if batch == 1 {
            while sent < count { try await push.send(message); sent += 1 }
        } else {
            let full = [ZMQMessage](repeating: message, count: batch)
            while sent < count {
                let n = min(batch, count - sent)
                let failures = await push.send(batch: n == batch ? full : Array(full.prefix(n)))
                precondition(failures.isEmpty, "\(failures.first!)")
                sent += n
            }
        }
    }
    let elapsed = try await consume(pull, size: size, count: count)
    try await producer.value
    await sendLoop.shutdown()
    await receiveLoop.shutdown()
    return rate(count, elapsed)
}

// MARK: C baseline

func runC(path: String, size: Int, count: Int) throws -> Double {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = [String(size), String(count)]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0,
          let field = text.split(separator: " ").first(where: { $0.hasPrefix("msgs_per_sec=") }),
          let value = Double(field.dropFirst("msgs_per_sec=".count).trimmingCharacters(in: .whitespacesAndNewlines))
    else { fatalError("C bench failed: \(text)") }
    return value
}

func median(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.sorted()[xs.count / 2] }

func fmt(_ x: Double) -> String {
    x >= 1e6 ? String(format: "%.2fM", x / 1e6) : String(format: "%.0fk", x / 1e3)
}

let options = Options(CommandLine.arguments)
let v = zmqVersion()
var report: [String] = []
@MainActor func emit(_ line: String) { print(line); report.append(line) }
emit("ZeroMQBench: PUSH->PULL tcp://127.0.0.1, libzmq \(v.major).\(v.minor).\(v.patch), \(ProcessInfo.processInfo.activeProcessorCount) CPUs, median of \(options.reps) runs, msgs/s")

for (size, count) in [(100, options.count100), (1024, options.count1k)] {
    var c: [Sample] = [], sync: [Sample] = [], async: [Sample] = []
    for _ in 0..<options.reps {
        // Interleaved so that load changes on a shared machine hit every variant alike.
        if let path = options.cBench, options.only.contains("c") {
            c.append(try await measured(count: count, children: true) { try runC(path: path, size: size, count: count) })
        }
        if options.only.contains("sync") {
            sync.append(try await measured(count: count) { try runSync(size: size, count: count) })
        }
        if options.only.contains("async") {
            async.append(try await measured(count: count) { try await runAsync(size: size, count: count, batch: 1000) })
        }
    }
    let perMessageCount = min(count, 100_000)
    let awaitEach = options.only.contains("each") ? try await runAsync(size: size, count: perMessageCount, batch: 1) : 0
    let (cR, sR, aR) = (median(c.map(\.rate)), median(sync.map(\.rate)), median(async.map(\.rate)))
    let (cC, sC, aC) = (median(c.map(\.cpuMicros)), median(sync.map(\.cpuMicros)), median(async.map(\.cpuMicros)))
    var parts: [String] = []
    if !c.isEmpty { parts.append("C \(fmt(cR))") }
    if !sync.isEmpty { parts.append("Swift sync \(fmt(sR))") }
    if !async.isEmpty { parts.append("Swift async (batched send) \(fmt(aR))") }
    if !c.isEmpty && !sync.isEmpty && !async.isEmpty {
        parts.append(String(format: "sync/C %.2f", sR / cR))
        parts.append(String(format: "async/C %.2f", aR / cR))
    }
    emit("\(size) B x \(count): " + parts.joined(separator: " | "))
    emit(String(format: "    CPU us/msg (all threads, median): C %.2f | sync %.2f | async %.2f", cC, sC, aC))
    emit("    runs: C \(c.map { fmt($0.rate) }.joined(separator: " ")); sync \(sync.map { fmt($0.rate) }.joined(separator: " ")); async \(async.map { fmt($0.rate) }.joined(separator: " ")); async await-each (\(perMessageCount) msgs, 1 run) \(fmt(awaitEach))")
}
if let path = options.results {
    try (report.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
}
