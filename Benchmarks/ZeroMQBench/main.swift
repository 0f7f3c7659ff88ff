// ZeroMQBench: throughput of the Swift ZeroMQ layer vs plain libzmq (C), same pattern, same run.
//
// Pattern: PUSH -> PULL over tcp://127.0.0.1, one frame per message, timed from the first received
// message to the last (as libzmq's perf/local_thr). Variants:
//   C      Benchmarks/zmq-c/zmq_c_bench.c: blocking zmq_send / zmq_msg_recv on two threads.
//   sync   ZMQSocket (blocking send / receive) on two threads.
//   async  ZMQPollLoop + AsyncZMQSocket: a producer task `send(batch:)` 1000 at a time, a consumer task
//          `for try await` over `messages` (next(isolation:), bounded inbox of 1024).
//   async batches: as async, but the consumer iterates `batches` (one await per batch of messages).
//   async, await each: one `await send(_:)` per message (latency-bound; for reference only).
// Then the gateway's ROUTER request/reply pattern (see `runRouter` and zmq_c_bench's router mode), C and
// Swift interleaved.
//
// usage: ZeroMQBench [--c-bench PATH] [--reps N] [--count100 N] [--count1k N] [--count-router N]
//                    [--only c,sync,async,batches,each,router] [--results FILE]
import Foundation
import ZeroMQ

struct Options {
    var cBench: String?
    var reps = 5
    var count100 = 1_000_000
    var count1k = 300_000
    var countRouter = 200_000
    var results: String?
    /// Run only these variants (comma-separated: c, sync, async, batches, each, router); all by default.
    var only: Set<String> = ["c", "sync", "async", "batches", "each", "router"]

    init(_ args: [String]) {
        var i = 1
        while i < args.count {
            let value = i + 1 < args.count ? args[i + 1] : ""
            switch args[i] {
            case "--c-bench": cBench = value
            case "--reps": reps = Int(value) ?? reps
            case "--count100": count100 = Int(value) ?? count100
            case "--count1k": count1k = Int(value) ?? count1k
            case "--count-router": countRouter = Int(value) ?? countRouter
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
func consume(_ pull: AsyncZMQSocket, size: Int, count: Int, batches: Bool = false) async throws -> Double {
    try await Task.detached { () async throws -> Double in
        var received = 0
        var start = ContinuousClock.now
        if batches {
            for try await batch in pull.batches {
                for m in batch { precondition(m[0].count == size) }
                if received == 0 { start = .now }
                received += batch.count
                if received >= count { break }
            }
            return seconds(since: start)
        }
        for try await m in pull.messages {
            precondition(m[0].count == size)
            received += 1
            if received == 1 { start = .now }
            if received == count { break }
        }
        return seconds(since: start)
    }.value
}

func runAsync(size: Int, count: Int, batch: Int, batches: Bool = false) async throws -> Double {
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
    let elapsed = try await consume(pull, size: size, count: count, batches: batches)
    try await producer.value
    await sendLoop.shutdown()
    await receiveLoop.shutdown()
    return rate(count, elapsed)
}

// MARK: ROUTER request/reply (the gateway's pattern)

/// A ROUTER (own poll loop) answers every request [id, empty, body] with [id, empty, ack], iterating
/// `batches` and replying to each batch with one `send(batch:)`. A DEALER (own poll loop) pipelines
/// `count` requests [empty, body] with `send(batch:)` (1000 at a time) while a task reads the replies.
/// Timed from the first request to the last reply; returns request/reply pairs per second.
func runRouter(size: Int, count: Int) async throws -> Double {
    let context = try ZMQContext()
    let serverLoop = try ZMQPollLoop(name: "bench-router")
    let clientLoop = try ZMQPollLoop(name: "bench-dealer")
    let r = try ZMQSocket(context, type: .router, options: [.routerMandatory(true)])
    try r.bind("tcp://127.0.0.1:*")
    let router = try serverLoop.adopt(r, inboundCapacity: 1024)
    let d = try ZMQSocket(context, type: .dealer)
    try d.connect(router.endpoint!)
    let dealer = try clientLoop.adopt(d, inboundCapacity: 1024)
    let ack = Array("{\"ok\":true}".utf8)
    let server = Task.detached {
        var served = 0
        for try await requests in router.batches {
            let replies = requests.map { request in
                precondition(request.count == 3 && (request[2].count == size || request[2].isEmpty))  // empty: warm-up
                return ZMQMessage([request[0], [], ack])
            }
            let failures = await router.send(batch: replies)
            precondition(failures.isEmpty, "\(failures.first!)")
            served += requests.count
            if served == count + 1 { break }
        }
    }
    var replies = dealer.batches.makeAsyncIterator()
    // One round trip first, so that the ROUTER knows the peer before the timed run (as the C variant).
    _ = await dealer.send(batch: [ZMQMessage([[], []])])
    _ = try await replies.next()
    let start = ContinuousClock.now
    let producer = Task.detached {
        let request = ZMQMessage([[], [UInt8](repeating: 0, count: size)])
        let full = [ZMQMessage](repeating: request, count: 1000)
        var sent = 0
        while sent < count {
            let n = min(1000, count - sent)
            let failures = await dealer.send(batch: n == 1000 ? full : Array(full.prefix(n)))
            precondition(failures.isEmpty, "\(failures.first!)")
            sent += n
        }
    }
    var received = 0
    while received < count, let batch = try await replies.next() { received += batch.count }
    let elapsed = seconds(since: start)
    await producer.value
    try await server.value
    await clientLoop.shutdown()
    await serverLoop.shutdown()
    return Double(count) / elapsed
}

// MARK: C baseline

func runC(path: String, size: Int, count: Int, router: Bool = false) throws -> Double {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = [String(size), String(count)] + (router ? ["router"] : [])
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
    var c: [Sample] = [], sync: [Sample] = [], async: [Sample] = [], batched: [Sample] = []
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
        if options.only.contains("batches") {
            batched.append(try await measured(count: count) { try await runAsync(size: size, count: count, batch: 1000, batches: true) })
        }
    }
    let perMessageCount = min(count, 100_000)
    let awaitEach = options.only.contains("each") ? try await runAsync(size: size, count: perMessageCount, batch: 1) : 0
    let (cR, sR, aR, bR) = (median(c.map(\.rate)), median(sync.map(\.rate)), median(async.map(\.rate)), median(batched.map(\.rate)))
    let (cC, sC, aC, bC) = (median(c.map(\.cpuMicros)), median(sync.map(\.cpuMicros)), median(async.map(\.cpuMicros)), median(batched.map(\.cpuMicros)))
    var parts: [String] = []
    if !c.isEmpty { parts.append("C \(fmt(cR))") }
    if !sync.isEmpty { parts.append("Swift sync \(fmt(sR))") }
    if !async.isEmpty { parts.append("Swift async (batched send) \(fmt(aR))") }
    if !batched.isEmpty { parts.append("async batches \(fmt(bR))") }
    if !c.isEmpty {
        if !sync.isEmpty { parts.append(String(format: "sync/C %.2f", sR / cR)) }
        if !async.isEmpty { parts.append(String(format: "async/C %.2f", aR / cR)) }
        if !batched.isEmpty { parts.append(String(format: "batches/C %.2f", bR / cR)) }
    }
    emit("\(size) B x \(count): " + parts.joined(separator: " | "))
    emit(String(format: "    CPU us/msg (all threads, median): C %.2f | sync %.2f | async %.2f | batches %.2f", cC, sC, aC, bC))
    emit("    runs: C \(c.map { fmt($0.rate) }.joined(separator: " ")); sync \(sync.map { fmt($0.rate) }.joined(separator: " ")); async \(async.map { fmt($0.rate) }.joined(separator: " ")); batches \(batched.map { fmt($0.rate) }.joined(separator: " ")); async await-each (\(perMessageCount) msgs, 1 run) \(fmt(awaitEach))")
}

if options.only.contains("router") {
    let count = options.countRouter
    var c: [Sample] = [], swift: [Sample] = []
    for _ in 0..<options.reps {
        if let path = options.cBench, options.only.contains("c") {
            c.append(try await measured(count: count, children: true) { try runC(path: path, size: 100, count: count, router: true) })
        }
        swift.append(try await measured(count: count) { try await runRouter(size: 100, count: count) })
    }
    let (cR, sR) = (median(c.map(\.rate)), median(swift.map(\.rate)))
    emit("ROUTER request/reply, 100 B body x \(count), pairs/s: C \(fmt(cR)) | Swift async (batches + send(batch:)) \(fmt(sR))"
         + (c.isEmpty ? "" : String(format: " | Swift/C %.2f", sR / cR)))
    emit(String(format: "    CPU us per request+reply (all threads, median): C %.2f | Swift %.2f",
                median(c.map(\.cpuMicros)), median(swift.map(\.cpuMicros))))
    emit("    runs: C \(c.map { fmt($0.rate) }.joined(separator: " ")); Swift \(swift.map { fmt($0.rate) }.joined(separator: " "))")
}
if let path = options.results {
    try (report.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
}
