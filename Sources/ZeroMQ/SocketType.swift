import CZeroMQ

/// The ZeroMQ socket types (patterns) supported by Debian's libzmq 4.3.4 without DRAFT APIs.
public enum SocketType: Sendable, Hashable, CaseIterable {
    case pair, pub, sub, req, rep, dealer, router, pull, push, xpub, xsub, stream

    var rawValue: Int32 {
        switch self {
        case .pair: ZMQ_PAIR
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .pull: ZMQ_PULL
        case .push: ZMQ_PUSH
        case .xpub: ZMQ_XPUB
        case .xsub: ZMQ_XSUB
        case .stream: ZMQ_STREAM
        }
    }

    /// Whether sockets of this type can receive messages (PUB and PUSH cannot).
    public var canReceive: Bool { self != .pub && self != .push }
    /// Whether sockets of this type can send messages (SUB and PULL cannot).
    public var canSend: Bool { self != .sub && self != .pull }
}
