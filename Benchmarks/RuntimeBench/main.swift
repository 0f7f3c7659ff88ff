// RuntimeBench: measures the campaign runtime (not a test). Release build:
//   swift run -c release RuntimeBench memory --campaigns 1000000 [--cap 10000]
//   swift run -c release RuntimeBench throughput --campaigns 100000 --days 60
//   swift run -c release RuntimeBench latency --campaigns 100000 --days 60 --responses 2000
// Every mode uses the SQLite store (WAL, synchronous=FULL) in a fresh temporary directory and the
// virtual clock, starting Monday 2026-03-02 09:00 UTC.
import AbmWire
import CampaignCore
import CampaignRuntime
import CampaignStore
import Foundation

struct Options {
    var mode = "throughput"
    var campaigns = 100_000
    var days = 60.0
    var cap: Int? = nil
    var responses = 2_000
    var inFlight = 2_000
    var dir: String? = nil
    /// `real` (CampaignEngine) or `synthetic` (a trivial decider: the runtime's own ceiling).
    var engine = "real"
    var timerConcurrency: Int? = nil

    init(_ args: [String]) {
        var it = args.dropFirst().makeIterator()
        if let m = it.next() { mode = m }
        while let a = it.next() {
            let v = it.next() ?? ""
            switch a {
            case "--campaigns": campaigns = Int(v) ?? campaigns
            case "--days": days = Double(v) ?? days
            case "--cap": cap = Int(v)
            case "--responses": responses = Int(v) ?? responses
            case "--in-flight": inFlight = Int(v) ?? inFlight
            case "--dir": dir = v
            case "--engine": engine = v
            case "--timer-concurrency": timerConcurrency = Int(v)
            default: fatalError("unknown option \(a)")
            }
        }
    }
}

func rssBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in s.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
    return 0
}

func mib(_ b: Int) -> String { String(format: "%.1f MiB", Double(b) / 1_048_576) }

func seconds(since t: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - t.uptimeNanoseconds) / 1e9
}

/// Counts what it is given; keeps nothing.
actor CountingPublisher: EventPublisher {
    var events = 0
    var touchpoints = 0
    func publish(_ batch: [StoredEvent]) {
        events += batch.count
        for e in batch where e.type == "touchpoint.due" { touchpoints += 1 }
    }
}

func lead(_ i: Int) -> JSONValue {
    let account = "acct-\(i)"
    return [
        "account_id": .string(account), "email": .string("pat@\(account).example"), "name": "Pat Primary",
        "title": "CTO", "phone": "+15550100", "timezone": "UTC", "topic": "data pipelines",
        "metadata": ["company_name": .string("Account \(i)")],
        "account_contacts": [
            ["email": .string("vp@\(account).example"), "name": "Val Vice", "title": "VP Sales", "phone": "+15550101", "timezone": "UTC"],
            ["email": .string("dir@\(account).example"), "name": "Dee Director", "title": "Director", "timezone": "UTC"],
        ],
    ]
}

let monday9 = Date(timeIntervalSince1970: 1_772_442_000)

/// A trivial decider with the real one's shape of effects: a lead schedules a touch at once; each
/// timer emits one `touchpoint.due` event and schedules the next touch (days 0, 2, 5, 10, 17, 27, 41)
/// until seven. The step counter lives in `campaignsStarted`. It measures the runtime and the store
/// without the engine's rendering.
struct SyntheticDecider: CampaignDecider {
    static let offsets: [Double] = [2, 3, 5, 7, 10, 14]

    func decide(_ state: AccountState, _ input: CampaignInput, now: Date,
                context: EngineContext) throws -> Result<Transition, AbmError> {
        var s = state
        var effects: [Effect] = []
        switch input {
        case .lead:
            if s.campaignsStarted == 0 {
                s.campaignsStarted = 1
                effects.append(.emit(DomainEvent(at: now, accountId: s.accountId, campaignId: "c1", payload: .campaignStarted(
                    .init(contacts: (1...3).map { .init(id: "p\($0)", email: "p\($0)@example.com") })))))
                effects.append(.schedule(at: now))
            }
        case .timerFired(let due):
            let step = s.campaignsStarted
            effects.append(.emit(DomainEvent(at: due, accountId: s.accountId, campaignId: "c1", payload: .touchpointDue(
                .init(touchpointId: "\(s.accountId)-\(step)", step: step, contactId: "p1", contactEmail: "p1@example.com",
                      channel: .email, message: "Hello, a short synthetic message.", reason: .focusStep)))))
            s.campaignsStarted += 1
            if step < 7 { effects.append(.schedule(at: due.addingTimeInterval(Self.offsets[min(step - 1, 5)] * 86_400))) }
        case .response:
            effects.append(.cancelTimer)
            s.campaignsStarted = 99
        case .command, .erase:
            break
        }
        return .success(Transition(state: s, effects: effects, outcome: Outcome(campaignId: "c1")))
    }

    func status(_ state: AccountState, now: Date) -> JSONValue? { nil }
}

func makeRuntime(_ o: Options, publisher: any EventPublisher) async throws -> (CampaignRuntime, String) {
    let dir = o.dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("runtime-bench-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let store = try SQLiteStore(path: dir + "/abm.sqlite")
    // No idle passivation: the memory mode measures campaigns kept resident (the cap is the knob).
    var config = RuntimeConfiguration(maxResidentCampaigns: o.cap, idleSweepInterval: nil)
    config.logger.logLevel = .warning
    if let c = o.timerConcurrency { config.timerConcurrency = c }
    let decider: any CampaignDecider = o.engine == "synthetic" ? SyntheticDecider() : CampaignEngine()
    let runtime = CampaignRuntime(store: store, clock: ManualClock(start: monday9), decider: decider, publisher: publisher,
                                  configuration: config)
    try await runtime.start()
    return (runtime, dir)
}

/// Submits `count` leads in batches of 256 (the gateway's batch size) through `submit(batch:)`, with at most
/// `inFlight` leads outstanding; returns the wall time.
func ingest(_ runtime: CampaignRuntime, count: Int, inFlight: Int) async -> Double {
    let t0 = DispatchTime.now()
    let batchSize = 256
    var pending: [(Int, PendingAcks)] = []
    var next = 0
    var rejected = 0
    var reported = 0
    while next < count || !pending.isEmpty {
        while next < count && pending.count * batchSize < inFlight {
            let end = min(count, next + batchSize)
            let batch = (next..<end).map { IngressRequest.lead(id: "lead-\($0)", lead: lead($0)) }
            pending.append((end - next, await runtime.submit(batch: batch)))
            next = end
        }
        if !pending.isEmpty {
            let (_, first) = pending.removeFirst()
            rejected += await first.acks.filter { $0.status != .accepted }.count
        }
        if next / 100_000 > reported {
            reported = next / 100_000
            print("    \(next) leads submitted after \(String(format: "%.0f", seconds(since: t0))) s, RSS \(mib(rssBytes()))")
        }
    }
    if rejected > 0 { print("  rejected leads: \(rejected)") }
    return seconds(since: t0)
}

func memoryMode(_ o: Options) async throws {
    let baseline = rssBytes()
    let publisher = CountingPublisher()
    let (runtime, dir) = try await makeRuntime(o, publisher: publisher)
    let afterStart = rssBytes()
    let t = await ingest(runtime, count: o.campaigns, inFlight: o.inFlight)
    await runtime.settle()
    let stats = await runtime.statistics()
    let rss = rssBytes()
    let perCampaign = Double(rss - afterStart) / Double(o.campaigns)
    print("mode=memory engine=\(o.engine) campaigns=\(o.campaigns) cap=\(o.cap.map(String.init) ?? "none") dir=\(dir)")
    print("  ingest: \(String(format: "%.1f", t)) s = \(Int(Double(o.campaigns) / t)) leads/s (incl. first touch)")
    print("  RSS: baseline \(mib(baseline)), after start \(mib(afterStart)), after ingest \(mib(rss))")
    print("  resident campaigns: \(stats.residentCampaigns), pending timers: \(stats.pendingTimers), passivations: \(stats.passivations)")
    print("  bytes per campaign (RSS delta / campaigns): \(Int(perCampaign))")
    print("  commits: \(stats.commits), writes: \(stats.writesCommitted), events published: \(await publisher.events)")
    await runtime.shutdown()
}

func throughputMode(_ o: Options, responses: Int) async throws {
    let publisher = CountingPublisher()
    let (runtime, dir) = try await makeRuntime(o, publisher: publisher)
    print("mode=\(responses > 0 ? "latency" : "throughput") engine=\(o.engine) campaigns=\(o.campaigns) days=\(o.days) dir=\(dir)")
    let ti = await ingest(runtime, count: o.campaigns, inFlight: o.inFlight)
    await runtime.settle()
    let s0 = await runtime.statistics()
    let touches0 = await publisher.touchpoints
    print("  ingest: \(String(format: "%.1f", ti)) s = \(Int(Double(o.campaigns) / ti)) leads/s; first touches: \(touches0)")

    // Responses (replies) arrive from another task while the clock advances; each one's latency is
    // from submit to the acknowledgement (the pause is committed when the ack returns).
    let responder = Task.detached { () -> [Double] in
        var latencies: [Double] = []
        latencies.reserveCapacity(responses)
        var rng = SystemRandomNumberGenerator()
        for n in 0..<responses {
            let i = Int.random(in: 0..<o.campaigns, using: &rng)
            let t = DispatchTime.now()
            let ack = await runtime.submitResponse(
                requestId: "resp-\(n)",
                ResponseInput(accountId: "acct-\(i)", contactEmail: "pat@acct-\(i).example", kind: .reply))
            if ack.status == .accepted { latencies.append(seconds(since: t)) }
            try? await Task.sleep(nanoseconds: 2_000_000)
        }
        return latencies
    }
    let t0 = DispatchTime.now()
    _ = try await runtime.advanceClock(seconds: o.days * 86_400)
    let ta = seconds(since: t0)
    let latencies = await responder.value.sorted()
    let s1 = await runtime.statistics()
    let touches = await publisher.touchpoints - touches0
    print("  advance \(o.days) days: \(String(format: "%.1f", ta)) s, touchpoints \(touches) = \(Int(Double(touches) / ta)) touchpoints/s")
    print("  timers fired \(s1.timersFired - s0.timersFired), commits \(s1.commits - s0.commits), writes \(s1.writesCommitted - s0.writesCommitted) (\(String(format: "%.0f", Double(s1.writesCommitted - s0.writesCommitted) / Double(max(1, s1.commits - s0.commits)))) per commit)")
    print("  total events published: \(await publisher.events), RSS \(mib(rssBytes()))")
    if !latencies.isEmpty {
        func p(_ q: Double) -> String { String(format: "%.2f ms", latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))] * 1000) }
        print("  response→pause ack latency over \(latencies.count) replies: p50 \(p(0.5)), p99 \(p(0.99)), max \(p(1.0))")
    }
    await runtime.shutdown()
}

let options = Options(CommandLine.arguments)
let done = DispatchSemaphore(value: 0)
Task.detached {
    do {
        switch options.mode {
        case "memory": try await memoryMode(options)
        case "throughput": try await throughputMode(options, responses: 0)
        case "latency": try await throughputMode(options, responses: options.responses)
        default: print("modes: memory | throughput | latency")
        }
    } catch {
        print("failed: \(error)")
    }
    done.signal()
}
done.wait()
