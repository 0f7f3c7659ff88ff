import AbmTestSupport
import Foundation
import Synchronization
import ZeroMQ

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// A PUB→SUB pair is connected only after the subscription reached the publisher ("slow joiner"):
/// publish a probe until the subscriber sees one, bounded by poll timeouts.
func awaitSubscription(pub: borrowing ZMQSocket, sub: borrowing ZMQSocket, probe: ZMQMessage) throws {
    for _ in 0..<500 {
        try pub.send(probe)
        if try sub.receive(timeoutMilliseconds: 10) != nil {
            while try sub.tryReceive() != nil {}  // drop extra probes
            return
        }
    }
    throw DeadlineExceeded(seconds: 5)
}
