import CZeroMQ

/// A libzmq context: the I/O threads and the registry of sockets. Thread-safe; share one per process.
///
/// Every socket keeps its context alive, so the context is terminated (`zmq_ctx_term`) only when the last
/// socket is closed and the last reference is dropped. Because every socket of this layer has an explicit,
/// bounded linger (0 by default), that termination never hangs.
public final class ZMQContext: Sendable {
    /// The `void*` context handle. Immutable after init; libzmq contexts are thread-safe.
    nonisolated(unsafe) let handle: UnsafeMutableRawPointer

    /// Creates a context with `ioThreads` background I/O threads (libzmq's default is 1).
    public init(ioThreads: Int = 1) throws(ZMQError) {
        guard let ctx = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        if ioThreads != 1, zmq_ctx_set(ctx, ZMQ_IO_THREADS, Int32(ioThreads)) != 0 {
            let error = ZMQError.last("zmq_ctx_set ZMQ_IO_THREADS")
            zmq_ctx_term(ctx)
            throw error
        }
        handle = ctx
    }

    deinit {
        // No socket can still be open here (each retains the context), so this returns after the
        // sockets' bounded linger. Retry on EINTR as libzmq documents.
        while zmq_ctx_term(handle) != 0, czmq_errno() == EINTR {}
    }
}

/// libzmq's version as (major, minor, patch).
public func zmqVersion() -> (major: Int, minor: Int, patch: Int) {
    var a: Int32 = 0, b: Int32 = 0, c: Int32 = 0
    zmq_version(&a, &b, &c)
    return (Int(a), Int(b), Int(c))
}

/// Whether libzmq was built with a capability, e.g. `"curve"`, `"ipc"`.
public func zmqHas(_ capability: String) -> Bool { zmq_has(capability) == 1 }
