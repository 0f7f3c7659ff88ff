import CZeroMQ

/// libzmq's version as (major, minor, patch).
public func zmqVersion() -> (major: Int, minor: Int, patch: Int) {
    var a: Int32 = 0, b: Int32 = 0, c: Int32 = 0
    zmq_version(&a, &b, &c)
    return (Int(a), Int(b), Int(c))
}
