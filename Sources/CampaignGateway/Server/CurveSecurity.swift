import AbmWire
import Foundation
import Logging
import NIOConcurrencyHelpers
import ZeroMQ

/// Where the server's CURVE material lives (`abm serve --curve-secret-key … --allow-…`). The lists are
/// files, not keys, because they are read again on `AbmServer.reloadAllowLists()` (SIGHUP).
public struct CurveServerSettings: Sendable, Equatable {
    /// The server's secret key file (its public key is what clients pass as `--server-key`).
    public var secretKeyFile: String
    /// Client keys admitted on ingress (lead, response).
    public var producersFile: String
    /// Client keys admitted on control (pause, resume, cancel, status, events, clock.advance).
    public var operatorsFile: String
    /// Client keys admitted on events.
    public var subscribersFile: String

    public init(secretKeyFile: String, producersFile: String, operatorsFile: String, subscribersFile: String) {
        self.secretKeyFile = secretKeyFile
        self.producersFile = producersFile
        self.operatorsFile = operatorsFile
        self.subscribersFile = subscribersFile
    }
}

/// The three sockets as ZAP tells them apart: by the `ZMQ_ZAP_DOMAIN` each one sets.
public enum ZAPDomain: String, Sendable, CaseIterable {
    case ingress = "abm.ingress"
    case control = "abm.control"
    case events = "abm.events"
    /// The internal ROUTER of a cluster node (`--peer`): only nodes holding the server's own key pair.
    case peer = "abm.peer"
}

/// The client keys admitted on each socket.
public struct ClientAllowLists: Sendable, Equatable {
    public var producers: Set<CurveKey>
    public var operators: Set<CurveKey>
    public var subscribers: Set<CurveKey>
    /// The keys of cluster nodes: the server's own public key (every node of a cluster shares the key pair).
    public var nodes: Set<CurveKey> = []

    public init(producers: Set<CurveKey> = [], operators: Set<CurveKey> = [], subscribers: Set<CurveKey> = []) {
        self.producers = producers
        self.operators = operators
        self.subscribers = subscribers
    }

    /// Reads all three files; any failure fails the whole load (so a reload is all or nothing).
    public static func load(_ settings: CurveServerSettings) throws(SecurityError) -> ClientAllowLists {
        ClientAllowLists(producers: Set(try CurveKeyFile.read(settings.producersFile)),
                         operators: Set(try CurveKeyFile.read(settings.operatorsFile)),
                         subscribers: Set(try CurveKeyFile.read(settings.subscribersFile)))
    }

    func admits(_ key: CurveKey, in domain: ZAPDomain) -> Bool {
        keys(of: domain).contains(key)
    }

    /// The keys admitted on the socket of `domain`.
    public func keys(of domain: ZAPDomain) -> Set<CurveKey> {
        switch domain {
        case .ingress: producers
        case .control: operators
        case .events: subscribers
        // Nodes forward with the server's key pair (`nodes`, set by the ZAP handler), never with a listed key.
        case .peer: nodes
        }
    }

    /// The sockets on which `newer` admits fewer keys than these lists: a key was removed from their list.
    public func domainsLosingKeys(to newer: ClientAllowLists) -> [ZAPDomain] {
        ZAPDomain.allCases.filter { !keys(of: $0).isSubset(of: newer.keys(of: $0)) }
    }
}

/// Counters of the ZAP handler's decisions since start.
public struct ZAPStatistics: Sendable, Equatable {
    public var admitted = 0
    public var refused = 0
    public var reloads = 0
}

/// The server's one ZAP handler (RFC 27): an inproc ROUTER at `inproc://zeromq.zap.01` on a poll loop
/// of its own, answering the handshakes of all three CURVE sockets, told apart by ZAP domain. A key is
/// admitted when it is in the allow-list of that socket's domain.
///
/// The lists sit behind a lock and are replaced whole by `reload()`, so a handshake sees the old set or
/// the new one, never a mix. ZAP sees handshakes only, so a connection admitted before a reload would stay:
/// `AbmServer.reloadAllowLists()` therefore rebinds each socket whose list lost a key, which closes all its
/// connections (libzmq cannot drop one peer of a ROUTER or PUB); the peers still allowed reconnect.
final class ZAPAuthenticator: Sendable {
    static let endpoint = "inproc://zeromq.zap.01"

    let settings: CurveServerSettings
    let serverKeys: CurveKeyPair
    private let state: State
    private let loop: ZMQPollLoop
    private let socket: AsyncZMQSocket
    private let handler: Task<Void, Never>
    private let logger: Logger

    /// Reads the key files and binds the handler; must run before the CURVE sockets bind (libzmq looks
    /// the handler up in the context at each handshake and, with domains enforced, refuses without it).
    init(settings: CurveServerSettings, context: ZMQContext, logger: Logger) async throws {
        let serverKeys = try CurveKeyPair(secretKey: try CurveKeyFile.readSingle(settings.secretKeyFile))
        var lists = try ClientAllowLists.load(settings)
        lists.nodes = [serverKeys.publicKey]
        let state = State(lists: lists)
        let loop = try ZMQPollLoop(name: "abm-zap")
        let socket: AsyncZMQSocket
        do {
            let s = try ZMQSocket(context, type: .router, linger: 0)
            try s.bind(Self.endpoint)
            socket = try loop.adopt(s)
        } catch {
            await loop.shutdown()
            throw error
        }
        handler = Task {
            do {
                for try await request in socket.messages {
                    let reply = Self.answer(request, lists: state.lists.withLockedValue { $0 }, logger: logger)
                    state.counters.withLockedValue { reply.admitted ? ($0.admitted += 1) : ($0.refused += 1) }
                    // A handshake whose peer left meanwhile is simply not answered; nothing to do.
                    try? await socket.send(reply.message)
                }
            } catch {}
        }
        self.settings = settings
        self.serverKeys = serverKeys
        self.state = state
        self.loop = loop
        self.socket = socket
        self.logger = logger
    }

    /// The options that make a server socket a CURVE server checked by this handler.
    func options(for domain: ZAPDomain) -> [SocketOption] {
        [.curveServer(true), .curveSecretKey(serverKeys.secretKey), .zapDomain(domain.rawValue), .zapEnforceDomain(true)]
    }

    /// The options of a DEALER forwarding to another node's internal ROUTER: a CURVE client holding the server's
    /// key pair, expecting the same server key (the nodes of a cluster share it).
    var peerClientOptions: [SocketOption] {
        [.curvePublicKey(serverKeys.publicKey), .curveSecretKey(serverKeys.secretKey), .curveServerKey(serverKeys.publicKey)]
    }

    /// Reads the lists again; on any failure the current lists stay and the error is thrown. Returns the
    /// lists replaced and the fresh ones.
    func reload() throws(SecurityError) -> (old: ClientAllowLists, new: ClientAllowLists) {
        var fresh = try ClientAllowLists.load(settings)
        fresh.nodes = [serverKeys.publicKey]
        let old = state.lists.withLockedValue { lists in
            defer { lists = fresh }
            return lists
        }
        state.counters.withLockedValue { $0.reloads += 1 }
        return (old, fresh)
    }

    var statistics: ZAPStatistics { state.counters.withLockedValue { $0 } }

    /// What the handler task and reloads share.
    private final class State: Sendable {
        let lists: NIOLockedValueBox<ClientAllowLists>
        let counters = NIOLockedValueBox(ZAPStatistics())
        init(lists: ClientAllowLists) { self.lists = NIOLockedValueBox(lists) }
    }

    /// Closes the handler; call after the CURVE sockets closed.
    func stop() async {
        await socket.close()
        await handler.value
        await loop.shutdown()
    }

    /// The reply to one ZAP request:
    /// `[peer, "", "1.0", request_id, domain, address, routing_id, mechanism, credentials…]`
    /// → `[peer, "", "1.0", request_id, status, text, user_id, metadata]`. The user id is the client's
    /// Z85 public key, so that it can be told apart downstream.
    static func answer(_ request: ZMQMessage, lists: ClientAllowLists, logger: Logger)
        -> (admitted: Bool, message: ZMQMessage) {
        func reply(_ status: String, _ text: String, user: String = "") -> ZMQMessage {
            let requestID = request.count > 3 ? request[3] : []
            return ZMQMessage([request[0], [], Array("1.0".utf8), requestID, Array(status.utf8), Array(text.utf8),
                               Array(user.utf8), []])
        }
        guard request.count >= 9, request.string(at: 2) == "1.0" else {
            return (false, reply("500", "malformed ZAP request"))
        }
        let address = request.string(at: 5) ?? "?"
        guard let domain = request.string(at: 4).flatMap(ZAPDomain.init(rawValue:)) else {
            return (false, reply("400", "unknown domain"))
        }
        guard request.string(at: 7) == "CURVE", let key = try? CurveKey(bytes: request[8]) else {
            logger.notice("refused a connection without CURVE", metadata: ["socket": "\(domain.rawValue)", "address": "\(address)"])
            return (false, reply("400", "CURVE required"))
        }
        guard lists.admits(key, in: domain) else {
            logger.notice("refused an unknown client key",
                          metadata: ["socket": "\(domain.rawValue)", "address": "\(address)", "key": "\(key.z85)"])
            return (false, reply("400", "client key not allowed"))
        }
        return (true, reply("200", "OK", user: key.z85))
    }
}

/// The bind rule: CURVE is optional only when every endpoint is local to the host.
enum BindPolicy {
    /// Throws `insecure_bind` when an endpoint is reachable from other hosts, CURVE is off and
    /// `insecure` was not given.
    static func check(_ endpoints: AbmEndpoints, peer: String? = nil, curve: Bool, insecure: Bool) throws(SecurityError) {
        guard !curve, !insecure else { return }
        let named = [("ingress", endpoints.ingress), ("control", endpoints.control), ("events", endpoints.events)]
            + (peer.map { [("peer", $0)] } ?? [])
        for (name, endpoint) in named where !isLocal(endpoint) {
            throw SecurityError(code: SecurityError.insecureBind,
                                message: "\(name) binds \(endpoint), which is not loopback, without CURVE: "
                                    + "give --curve-secret-key and the allow-lists, or --insecure to accept plaintext")
        }
    }

    /// Loopback TCP (127.0.0.0/8, ::1, localhost, `lo`), `ipc://` and `inproc://` are local; everything else
    /// (`*`, `0.0.0.0`, another address or interface) is not.
    static func isLocal(_ endpoint: String) -> Bool {
        if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") { return true }
        guard endpoint.hasPrefix("tcp://") else { return false }
        var host = String(endpoint.dropFirst("tcp://".count))
        // `tcp://source;destination` binds are not used by the server; a `;` means not local.
        if host.contains(";") { return false }
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            host = String(host[host.index(after: host.startIndex)..<close])
            return host == "::1"
        }
        if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
        if host == "localhost" || host == "lo" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}
