import AbmWire
import Foundation
import ZeroMQ

/// Response → `campaign.paused` latency: sends a `reply` response for an active campaign on a DEALER and
/// times until the account's `campaign.paused` event arrives on a SUB. One response at a time.
enum PauseLatency {
    static func measure(context: ZMQContext, ingress: String, events: String, accounts: [String],
                        progress: (Int) -> Void) throws -> [Double] {
        let sub = try ZMQSocket(context, type: .sub, options: [.receiveHighWaterMark(0), .subscribe("campaign.paused/")])
        try sub.connect(events)
        let dealer = try ZMQSocket(context, type: .dealer, options: [.sendHighWaterMark(100_000), .receiveHighWaterMark(100_000)])
        try dealer.connect(ingress)
        // SUB and DEALER connect asynchronously: give them time before the first measurement.
        Thread.sleep(forTimeInterval: 0.3)
        var latencies: [Double] = []
        latencies.reserveCapacity(accounts.count)
        for (k, account) in accounts.enumerated() {
            let body = Array("""
            {"type":"response","id":"lat-\(account)","account_id":"\(account)","contact_email":"\(BenchLeads.primaryEmail(account))",\
            "kind":"reply","channel":"email","text":"Sounds interesting, let's talk."}
            """.utf8)
            let topic = Array("campaign.paused/\(account)".utf8)
            let start = ContinuousClock.now
            try dealer.send(ZMQMessage([[], body]))
            while true {
                guard let m = try sub.receive(timeoutMilliseconds: 10_000) else {
                    throw BenchError("no campaign.paused for \(account) within 10 s")
                }
                if m[0] == topic { break }
            }
            let d = start.duration(to: .now)
            latencies.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
            while try dealer.tryReceive() != nil {}
            if k % 100 == 99 { progress(k + 1) }
        }
        // Collect the remaining acks so that none is left unread.
        let deadline = ContinuousClock.now.advanced(by: .seconds(2))
        var pending = 0
        while ContinuousClock.now < deadline, try dealer.receive(timeoutMilliseconds: 50) != nil { pending += 1 }
        _ = pending
        return latencies
    }

    /// The value at quantile `q` (nearest rank) of sorted values.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}
