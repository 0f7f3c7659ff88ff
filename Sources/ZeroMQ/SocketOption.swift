import CZeroMQ

/// A socket option a server or client sets, with its value. `Sendable`, so it can be applied through the
/// poll loop as well as on a synchronous socket. Durations are in milliseconds, as in libzmq.
public enum SocketOption: Sendable, Hashable {
    /// How long pending outbound messages are kept after close (`ZMQ_LINGER`); -1 = forever (avoid), 0 = drop.
    case linger(milliseconds: Int)
    /// Outbound queue limit per peer, in messages (`ZMQ_SNDHWM`); 0 = unlimited.
    case sendHighWaterMark(Int)
    /// Inbound queue limit per peer, in messages (`ZMQ_RCVHWM`); 0 = unlimited.
    case receiveHighWaterMark(Int)
    /// The kernel's send buffer of each TCP connection, in bytes (`ZMQ_SNDBUF`, `SO_SNDBUF`); -1 = OS default.
    case sendBufferSize(Int)
    /// The kernel's receive buffer of each TCP connection, in bytes (`ZMQ_RCVBUF`, `SO_RCVBUF`); -1 = OS default.
    case receiveBufferSize(Int)
    /// Largest accepted inbound *frame* in bytes (`ZMQ_MAXMSGSIZE`); -1 = no limit. Larger: peer is dropped.
    case maxMessageSize(Int)
    /// This socket's routing id as seen by a ROUTER peer (`ZMQ_ROUTING_ID`), 1–255 bytes, not starting with 0.
    case routingID([UInt8])
    /// ROUTER: fail unroutable sends with `EHOSTUNREACH` and full peers with `EAGAIN` instead of dropping.
    case routerMandatory(Bool)
    /// Queue messages only to completed connections (`ZMQ_IMMEDIATE`).
    case immediate(Bool)
    /// XPUB: return `EAGAIN` at the high-water mark instead of dropping (`ZMQ_XPUB_NODROP`).
    case xpubNoDrop(Bool)
    /// XPUB: pass every (also duplicate) subscription up (`ZMQ_XPUB_VERBOSE`).
    case xpubVerbose(Bool)
    /// TCP keep-alive: -1 = OS default, 0 = off, 1 = on (`ZMQ_TCP_KEEPALIVE`).
    case tcpKeepalive(Int)
    /// Act as a CURVE server (`ZMQ_CURVE_SERVER`); needs `curveSecretKey`.
    case curveServer(Bool)
    /// This socket's long-term CURVE public key (`ZMQ_CURVE_PUBLICKEY`), 32 bytes.
    case curvePublicKey(CurveKey)
    /// This socket's long-term CURVE secret key (`ZMQ_CURVE_SECRETKEY`), 32 bytes.
    case curveSecretKey(CurveKey)
    /// Client: the server's CURVE public key (`ZMQ_CURVE_SERVERKEY`), 32 bytes.
    case curveServerKey(CurveKey)
    /// ZAP authentication domain (`ZMQ_ZAP_DOMAIN`), non-empty (libzmq 4.3.4 rejects "": ZAP is off by default).
    case zapDomain(String)
    /// Fail a connection whose domain has no ZAP handler (`ZMQ_ZAP_ENFORCE_DOMAIN`).
    case zapEnforceDomain(Bool)
    /// ZMTP heartbeat interval (`ZMQ_HEARTBEAT_IVL`); 0 = off.
    case heartbeatInterval(milliseconds: Int)
    /// Time without traffic after a heartbeat before the connection is closed (`ZMQ_HEARTBEAT_TIMEOUT`).
    case heartbeatTimeout(milliseconds: Int)
    /// Time-to-live the peer applies to this connection (`ZMQ_HEARTBEAT_TTL`), rounded to 100 ms.
    case heartbeatTTL(milliseconds: Int)
    /// Maximum time for the security handshake (`ZMQ_HANDSHAKE_IVL`).
    case handshakeInterval(milliseconds: Int)
    /// Initial reconnection interval (`ZMQ_RECONNECT_IVL`).
    case reconnectInterval(milliseconds: Int)
    /// Maximum reconnection interval for exponential back-off (`ZMQ_RECONNECT_IVL_MAX`).
    case reconnectIntervalMax(milliseconds: Int)
    /// SUB: receive messages whose first frame starts with this prefix (`ZMQ_SUBSCRIBE`); empty = all.
    case subscribe([UInt8])
    /// SUB: remove a subscription added with `subscribe` (`ZMQ_UNSUBSCRIBE`).
    case unsubscribe([UInt8])
    /// Blocking receive timeout on synchronous sockets (`ZMQ_RCVTIMEO`); -1 = forever.
    case receiveTimeout(milliseconds: Int)
    /// Blocking send timeout on synchronous sockets (`ZMQ_SNDTIMEO`); -1 = forever.
    case sendTimeout(milliseconds: Int)

    /// A subscription to a UTF-8 topic prefix.
    public static func subscribe(_ topic: String) -> SocketOption { .subscribe(Array(topic.utf8)) }
    /// Removes a subscription to a UTF-8 topic prefix.
    public static func unsubscribe(_ topic: String) -> SocketOption { .unsubscribe(Array(topic.utf8)) }

    enum Value {
        case int(Int32)
        case int64(Int64)
        case bytes([UInt8])
    }

    var encoded: (name: String, option: Int32, value: Value) {
        switch self {
        case .linger(let ms): ("LINGER", ZMQ_LINGER, .int(Int32(clamping: ms)))
        case .sendHighWaterMark(let n): ("SNDHWM", ZMQ_SNDHWM, .int(Int32(clamping: n)))
        case .sendBufferSize(let n): ("SNDBUF", ZMQ_SNDBUF, .int(Int32(clamping: n)))
        case .receiveBufferSize(let n): ("RCVBUF", ZMQ_RCVBUF, .int(Int32(clamping: n)))
        case .receiveHighWaterMark(let n): ("RCVHWM", ZMQ_RCVHWM, .int(Int32(clamping: n)))
        case .maxMessageSize(let n): ("MAXMSGSIZE", ZMQ_MAXMSGSIZE, .int64(Int64(n)))
        case .routingID(let id): ("ROUTING_ID", ZMQ_ROUTING_ID, .bytes(id))
        case .routerMandatory(let on): ("ROUTER_MANDATORY", ZMQ_ROUTER_MANDATORY, .int(on ? 1 : 0))
        case .immediate(let on): ("IMMEDIATE", ZMQ_IMMEDIATE, .int(on ? 1 : 0))
        case .xpubNoDrop(let on): ("XPUB_NODROP", ZMQ_XPUB_NODROP, .int(on ? 1 : 0))
        case .xpubVerbose(let on): ("XPUB_VERBOSE", ZMQ_XPUB_VERBOSE, .int(on ? 1 : 0))
        case .tcpKeepalive(let v): ("TCP_KEEPALIVE", ZMQ_TCP_KEEPALIVE, .int(Int32(clamping: v)))
        case .curveServer(let on): ("CURVE_SERVER", ZMQ_CURVE_SERVER, .int(on ? 1 : 0))
        case .curvePublicKey(let k): ("CURVE_PUBLICKEY", ZMQ_CURVE_PUBLICKEY, .bytes(k.bytes))
        case .curveSecretKey(let k): ("CURVE_SECRETKEY", ZMQ_CURVE_SECRETKEY, .bytes(k.bytes))
        case .curveServerKey(let k): ("CURVE_SERVERKEY", ZMQ_CURVE_SERVERKEY, .bytes(k.bytes))
        case .zapDomain(let d): ("ZAP_DOMAIN", ZMQ_ZAP_DOMAIN, .bytes(Array(d.utf8)))
        case .zapEnforceDomain(let on): ("ZAP_ENFORCE_DOMAIN", ZMQ_ZAP_ENFORCE_DOMAIN, .int(on ? 1 : 0))
        case .heartbeatInterval(let ms): ("HEARTBEAT_IVL", ZMQ_HEARTBEAT_IVL, .int(Int32(clamping: ms)))
        case .heartbeatTimeout(let ms): ("HEARTBEAT_TIMEOUT", ZMQ_HEARTBEAT_TIMEOUT, .int(Int32(clamping: ms)))
        case .heartbeatTTL(let ms): ("HEARTBEAT_TTL", ZMQ_HEARTBEAT_TTL, .int(Int32(clamping: ms)))
        case .handshakeInterval(let ms): ("HANDSHAKE_IVL", ZMQ_HANDSHAKE_IVL, .int(Int32(clamping: ms)))
        case .reconnectInterval(let ms): ("RECONNECT_IVL", ZMQ_RECONNECT_IVL, .int(Int32(clamping: ms)))
        case .reconnectIntervalMax(let ms): ("RECONNECT_IVL_MAX", ZMQ_RECONNECT_IVL_MAX, .int(Int32(clamping: ms)))
        case .subscribe(let p): ("SUBSCRIBE", ZMQ_SUBSCRIBE, .bytes(p))
        case .unsubscribe(let p): ("UNSUBSCRIBE", ZMQ_UNSUBSCRIBE, .bytes(p))
        case .receiveTimeout(let ms): ("RCVTIMEO", ZMQ_RCVTIMEO, .int(Int32(clamping: ms)))
        case .sendTimeout(let ms): ("SNDTIMEO", ZMQ_SNDTIMEO, .int(Int32(clamping: ms)))
        }
    }
}
