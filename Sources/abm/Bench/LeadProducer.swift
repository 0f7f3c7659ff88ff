import AbmWire
import Foundation
import NIOConcurrencyHelpers
import Synchronization
import ZeroMQ

/// Pre-built lead request bodies (so that building JSON is not part of what is measured).
enum BenchLeads {
    /// Lead `i` of producer `p` under `prefix`: a distinct account with a primary and one colleague.
    static func body(prefix: String, producer p: Int, index i: Int) -> [UInt8] {
        let account = "\(prefix)-\(p)-\(i)"
        return Array("""
        {"type":"lead","id":"\(account)","lead":{"account_id":"\(account)","id":"p-\(account)",\
        "name":"Pat Lee","email":"\(primaryEmail(account))","phone":"+1-212-555-0100","title":"VP of Engineering",\
        "timezone":"America/New_York","topic":"data pipeline observability","metadata":{"company_name":"Company \(i)"},\
        "account_contacts":[{"id":"c-\(account)","name":"Sam Roe","email":"sam.roe@\(account).example","title":"CTO",\
        "timezone":"Europe/Berlin"}]}}
        """.utf8)
    }

    static func primaryEmail(_ account: String) -> String { "pat.lee@\(account).example" }
}

/// Result of one producer connection.
struct ProducerResult: Sendable {
    var acked = 0
    var refused = 0
    var firstRefusal: String?
    var finished = ContinuousClock.now
}

/// Runs `producers` DEALER connections on their own threads, each keeping `window` leads in flight
/// until it has `count` acks; returns after all have finished. The clock starts when every
/// connection is set up (a start barrier), and the elapsed time runs to the last ack.
enum LeadLoad {
    struct Outcome: Sendable {
        var leads: Int
        var refused: Int
        var firstRefusal: String?
        var seconds: Double
        var rate: Double { Double(leads) / seconds }
    }

    static func run(context: ZMQContext, endpoint: String, producers: Int, perProducer count: Int, window: Int,
                    prefix: String, rate: Double? = nil, stop: (@Sendable () -> Bool)? = nil,
                    progress: (@Sendable (Int) -> Void)? = nil) throws -> Outcome {
        try run(context: context, endpoints: [endpoint], producers: producers, perProducer: count, window: window,
                prefix: prefix, rate: rate, stop: stop, progress: progress)
    }

    /// `run` with producer `p` connected to `endpoints[p % endpoints.count]` (the nodes of a cluster).
    static func run(context: ZMQContext, endpoints: [String], producers: Int, perProducer count: Int, window: Int,
                    prefix: String, rate: Double? = nil, stop: (@Sendable () -> Bool)? = nil,
                    progress: (@Sendable (Int) -> Void)? = nil) throws -> Outcome {
        let bodies = (0..<producers).map { p in (0..<count).map { BenchLeads.body(prefix: prefix, producer: p, index: $0) } }
        let ready = DispatchSemaphore(value: 0)
        let go = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        let state = LoadState(producers: producers)
        let shared = UncheckedBox(bodies)
        for p in 0..<producers {
            done.enter()
            let thread = Thread {
                defer { done.leave() }
                do {
                    let socket = try ZMQSocket(context, type: .dealer, options: [
                        .sendHighWaterMark(window * 2 + 100), .receiveHighWaterMark(window * 2 + 100),
                    ])
                    try socket.connect(endpoints[p % endpoints.count])
                    ready.signal()
                    go.wait()
                    let r = try produce(socket: socket, bodies: shared.value[p], window: window,
                                        ratePerProducer: rate.map { $0 / Double(producers) }, stop: stop, state: state)
                    state.results.withLockedValue { $0[p] = r }
                } catch {
                    state.errors.withLockedValue { $0.append("producer \(p): \(error)") }
                    ready.signal()
                }
            }
            thread.name = "abm-bench-producer-\(p)"
            thread.start()
        }
        for _ in 0..<producers { ready.wait() }
        // Let the TCP connections come up before the clock starts.
        Thread.sleep(forTimeInterval: 0.2)
        let start = ContinuousClock.now
        for _ in 0..<producers { go.signal() }
        if let progress {
            while done.wait(timeout: .now() + 0.5) == .timedOut { progress(state.acked.load(ordering: .relaxed)) }
        } else {
            done.wait()
        }
        if let error = state.errors.withLockedValue({ $0.first }) { throw BenchError(error) }
        let all = state.results.withLockedValue { $0.compactMap { $0 } }
        let end = all.map(\.finished).max() ?? start
        let elapsed = start.duration(to: end)
        return Outcome(leads: all.reduce(0) { $0 + $1.acked }, refused: all.reduce(0) { $0 + $1.refused },
                       firstRefusal: all.compactMap(\.firstRefusal).first,
                       seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// One connection: keep `window` requests in flight; count acks (and refusals, by a byte scan).
    static func produce(socket: borrowing ZMQSocket, bodies: [[UInt8]], window: Int, ratePerProducer: Double?,
                        stop: (@Sendable () -> Bool)?, state: LoadState) throws -> ProducerResult {
        var result = ProducerResult()
        var sent = 0
        let begin = ContinuousClock.now
        let total = bodies.count
        while result.acked < total {
            if let stop, stop() {
                if sent == result.acked { break }
            } else {
                var limit = min(total, result.acked + window)
                if let ratePerProducer {
                    let elapsed = begin.duration(to: .now)
                    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    limit = min(limit, Int(seconds * ratePerProducer) + 1)
                }
                while sent < limit {
                    try socket.send(ZMQMessage([[], bodies[sent]]))
                    sent += 1
                }
            }
            if sent == result.acked {
                // Paced and ahead of schedule: wait a little for the next slot.
                Thread.sleep(forTimeInterval: 0.0005)
                continue
            }
            guard let first = try socket.receive(timeoutMilliseconds: ratePerProducer == nil ? 60_000 : 5) else {
                if ratePerProducer == nil { throw BenchError("no ack within 60 s (\(result.acked) of \(total) acked)") }
                continue
            }
            var message: ZMQMessage? = first
            var got = 0
            while let m = message {
                got += 1
                if m.count == 2, contains(m[1], rejected) {
                    result.refused += 1
                    if result.firstRefusal == nil { result.firstRefusal = String(decoding: m[1], as: UTF8.self) }
                }
                message = try socket.tryReceive()
            }
            result.acked += got
            state.acked.wrappingAdd(got, ordering: .relaxed)
        }
        result.finished = .now
        return result
    }

    static let rejected = Array(#""status":"rejected""#.utf8)

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        return haystack.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { n in
                var i = 0
                let last = h.count - n.count
                while i <= last {
                    if h[i] == n[0] && memcmp(h.baseAddress! + i, n.baseAddress!, n.count) == 0 { return true }
                    i += 1
                }
                return false
            }
        }
    }
}

/// What the producer threads share with the thread that started them.
final class LoadState: Sendable {
    let results: NIOLockedValueBox<[ProducerResult?]>
    let errors = NIOLockedValueBox<[String]>([])
    /// Acks so far over all producers (for progress).
    let acked = Atomic<Int>(0)
    init(producers: Int) { results = NIOLockedValueBox(Array(repeating: nil, count: producers)) }
}

/// Shares immutable data with threads (the pre-built bodies, never mutated after creation).
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
