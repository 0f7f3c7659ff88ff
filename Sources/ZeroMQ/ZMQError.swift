import CZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// A failed ZeroMQ operation: the errno `code`, libzmq's own message for it, and the operation that failed.
///
/// Errors are read in the same synchronous C frame as the failing call (errno is thread-local), so the
/// code is always the one of this failure.
public struct ZMQError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The errno value (`EAGAIN`, `EHOSTUNREACH`, `ETERM`, …), compare with the static constants below.
    public let code: Int32
    /// What was attempted, e.g. `"bind tcp://127.0.0.1:5555"` or `"send"`.
    public let operation: String
    /// `zmq_strerror(code)`, or a message of this layer for its own codes.
    public let message: String

    public init(code: Int32, operation: String, message: String? = nil) {
        self.code = code
        self.operation = operation
        self.message = message ?? String(cString: zmq_strerror(code))
    }

    /// A stable symbolic name for the code (`"EAGAIN"`, `"EHOSTUNREACH"`, …), `"E<number>"` otherwise.
    public var name: String {
        switch code {
        case Self.again: "EAGAIN"
        case Self.hostUnreachable: "EHOSTUNREACH"
        case Self.terminated: "ETERM"
        case Self.interrupted: "EINTR"
        case Self.invalidState: "EFSM"
        case Self.messageTooLarge: "EMSGSIZE"
        case Self.addressInUse: "EADDRINUSE"
        case Self.addressNotAvailable: "EADDRNOTAVAIL"
        case Self.invalidArgument: "EINVAL"
        case Self.notSocket: "ENOTSOCK"
        case Self.protocolNotSupported: "EPROTONOSUPPORT"
        case Self.noDevice: "ENODEV"
        case Self.notSupported: "ENOTSUP"
        case Self.closed: "CLOSED"
        case Self.bufferFull: "BUFFER_FULL"
        default: "E\(code)"
        }
    }

    public var description: String { "\(operation): \(message) (\(name))" }

    // libzmq / POSIX codes callers branch on.
    public static let again: Int32 = EAGAIN
    public static let hostUnreachable: Int32 = EHOSTUNREACH
    public static let terminated: Int32 = ETERM
    public static let interrupted: Int32 = EINTR
    public static let invalidState: Int32 = EFSM
    public static let messageTooLarge: Int32 = EMSGSIZE
    public static let addressInUse: Int32 = EADDRINUSE
    public static let addressNotAvailable: Int32 = EADDRNOTAVAIL
    public static let invalidArgument: Int32 = EINVAL
    public static let notSocket: Int32 = ENOTSOCK
    public static let protocolNotSupported: Int32 = EPROTONOSUPPORT
    public static let noDevice: Int32 = ENODEV
    public static let notSupported: Int32 = ENOTSUP

    // Codes of this layer (outside errno's range).
    /// The socket (or its poll loop) was closed before the operation could complete.
    public static let closed: Int32 = -1
    /// A receive buffer limit of this layer was exceeded (e.g. a message with too many frames).
    public static let bufferFull: Int32 = -2

    static func last(_ operation: @autoclosure () -> String) -> ZMQError {
        let code = czmq_errno()
        return ZMQError(code: code, operation: operation())
    }

    static func closed(_ operation: String) -> ZMQError {
        ZMQError(code: closed, operation: operation, message: "socket is closed")
    }
}
