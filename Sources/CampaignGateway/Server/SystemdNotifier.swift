import AbmWire
import Foundation
import Logging
import ServiceLifecycle

/// systemd's readiness protocol (`Type=notify`, sd_notify(3)): one datagram per state change
/// (`READY=1`, `STOPPING=1`, `STATUS=…`) to the unix socket systemd names in `$NOTIFY_SOCKET`.
/// Written here rather than linking libsystemd: it is a single `sendto`, and the binary then runs
/// on hosts and in containers without systemd.
public struct SystemdNotifier: Sendable {
    /// The socket path from `$NOTIFY_SOCKET` (a leading `@` names an abstract socket); nil: not
    /// started by systemd, every notification is a no-op.
    public let socketPath: String?

    public init(socketPath: String?) {
        self.socketPath = socketPath.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Sends `state` (`KEY=value` lines). Returns false when there is no socket or the send failed
    /// (systemd then times the start out, which the unit's log shows); it never throws.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard let socketPath else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        // An abstract socket: `@name` is NUL + name, and its length counts no terminating NUL.
        let abstract = path.first == UInt8(ascii: "@")
        if abstract { path[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path)
            if !abstract { buffer[path.count] = 0 }
        }
        let length = MemoryLayout<sa_family_t>.size + path.count + (abstract ? 0 : 1)
        #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, socklen_t(length)) }
            }
        }
        return sent == bytes.count
    }
}

/// Tells systemd the server is ready when the group runs (the sockets are bound and recovery is done by
/// then: `AbmServer.start` returned) and `ready` says the rest is (an HTTP front listening), and that it is
/// stopping when the group's graceful shutdown begins. Register it last, so that `STOPPING=1` goes out
/// before anything stops.
public struct SystemdNotifyService: Service, CustomStringConvertible {
    let notifier: SystemdNotifier
    let status: String
    let logger: Logger
    let ready: @Sendable () async -> Bool

    /// - Parameter ready: waits for the services started with the group; false: never ready (it failed).
    public init(notifier: SystemdNotifier, status: String, logger: Logger,
                ready: @escaping @Sendable () async -> Bool = { true }) {
        self.notifier = notifier
        self.status = status
        self.logger = logger
        self.ready = ready
    }

    public var description: String { "abm.systemd-notify" }

    public func run() async throws {
        if notifier.socketPath != nil, await ready() {
            let sent = notifier.notify("READY=1\nSTATUS=\(status)\nMAINPID=\(getpid())")
            logger.debug("systemd notified", metadata: ["state": "READY=1", "sent": "\(sent)"])
        }
        try? await gracefulShutdown()
        if notifier.socketPath != nil {
            notifier.notify("STOPPING=1\nSTATUS=draining")
        }
    }
}
